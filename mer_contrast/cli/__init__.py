"""The front door: every ``mer-contrast`` command, one module each (``main.py`` dispatches).

Nothing below this package imports it: the benchmarks (:mod:`mer_contrast.bench`), the LOSO loop,
the task and the library take plain arguments and raise; the modules here parse the command line,
print one-line errors and choose the exit code.
"""
