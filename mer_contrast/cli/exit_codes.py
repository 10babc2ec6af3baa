"""The one mapping from how a command ended to its exit code, used by every ``mer-contrast`` command.

===  ==============================================================================================
143  SIGTERM (a scheduler stopped it): Lightning's ``SIGTERMException``, ``bench suite``'s own
130  Ctrl-C: ``KeyboardInterrupt``, or Lightning's ``sys.exit(1)`` after one
1    the machine, not the input: an :class:`~mer_contrast.clips.errors.EnvironmentFault` anywhere in
     the chain of causes (a full or read-only cache, dead workers)
2    the input: jsonargparse's ``ArgumentError``, a dataset error (another database's sheet, ...),
     Lightning's ``MisconfigurationException`` (``accelerator: gpu`` without a GPU, ...), or what the
     command names as its own usage errors (a ``loso:`` section, a refused run)
===  ==============================================================================================

Anything else is a bug and keeps its traceback. Each ending is one line on stderr; a command words
it (:class:`Wording`), the codes are the same for all. ``--help`` and argparse's own usage errors
exit through ``SystemExit`` as before and are left alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ENVIRONMENT", "INTERRUPTED", "TERMINATED", "USAGE", "Wording", "exit_code", "run_command"]

TERMINATED = 143
INTERRUPTED = 130
ENVIRONMENT = 1
USAGE = 2

# Exceptions that mean SIGTERM, by (module, name): a module that was never imported raised none of them,
# so the check imports nothing (Lightning stays unloaded for `inspect`).
TERMINATION_TYPES = (
    ("lightning.pytorch.utilities.exceptions", "SIGTERMException"),
    ("mer_contrast.bench.suite_units", "SuiteTerminated"),
)
# Lightning's word for a trainer set up wrong (accelerator, devices, strategy, callbacks): bad input.
MISCONFIGURATION_TYPES = (("lightning.fabric.utilities.exceptions", "MisconfigurationException"),)


@dataclass(frozen=True)
class Wording:
    """What a command says when it stops early; every line is printed with ``prefix`` in front.

    ``kept`` (what survives, e.g. "finished folds are kept, rerun to resume") follows an environment
    fault's message.
    """

    terminated: str = "terminated (SIGTERM); the run did not finish"
    interrupted: str = "interrupted (Ctrl-C); the run did not finish"
    kept: str = ""
    prefix: str = ""


def _is_one_of(error: BaseException, types: tuple[tuple[str, str], ...]) -> bool:
    for module, name in types:
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return True
    return False


def _terminated(error: BaseException) -> bool:
    return _is_one_of(error, TERMINATION_TYPES)


def _interrupted(error: BaseException) -> bool:
    # Lightning catches Ctrl-C inside fit, shuts down and calls sys.exit(1) in its except block.
    return isinstance(error, KeyboardInterrupt) or (
        isinstance(error, SystemExit) and isinstance(error.__context__, KeyboardInterrupt)
    )


def exit_code(error: BaseException, usage: tuple[type[BaseException], ...] = ()) -> int | None:
    """The exit code of a command that raised ``error``; None for a bug (it keeps its traceback)."""
    from mer_contrast.clips.errors import find_cause, find_fault
    from mer_contrast.datasets.errors import DATA_ERRORS

    if _terminated(error):  # before SystemExit: Lightning's SIGTERMException is one (with status 0)
        return TERMINATED
    if _interrupted(error):
        return INTERRUPTED
    if not isinstance(error, Exception):  # SystemExit of --help or a usage error, GeneratorExit, ...
        return None
    if find_fault(error) is not None:
        return ENVIRONMENT
    if isinstance(error, (argparse.ArgumentError, *usage)) or find_cause(error, DATA_ERRORS) is not None:
        return USAGE
    if _is_one_of(error, MISCONFIGURATION_TYPES):
        return USAGE  # a data error may come wrapped (jsonargparse wraps a constructor's: image_size 0)
    return None


def run_command(
    action: Callable[[], int],
    *,
    wording: Wording = Wording(),
    usage: tuple[type[BaseException], ...] = (),
    describe: Callable[[str], str] = str,
) -> int:
    """``action()``'s exit code, or the one of the exception it raised (one line on stderr).

    ``usage``: the command's own exception types that mean bad input (exit 2, ``error: <message>``);
    ``describe`` turns jsonargparse's ``ArgumentError`` text into one line.
    """
    try:
        return action()
    except BaseException as error:
        code = exit_code(error, usage)
        if code is None:
            raise
        print(wording.prefix + _line(error, code, wording, describe), file=sys.stderr)
        return code


def _line(error: BaseException, code: int, wording: Wording, describe: Callable[[str], str]) -> str:
    if code == TERMINATED:
        return wording.terminated
    if code == INTERRUPTED:
        return wording.interrupted
    if code == ENVIRONMENT:
        from mer_contrast.clips.errors import find_fault

        return f"error: {find_fault(error)}" + (f"; {wording.kept}" if wording.kept else "")
    from mer_contrast.clips.errors import find_cause
    from mer_contrast.datasets.errors import DATA_ERRORS

    data_error = find_cause(error, DATA_ERRORS)  # another database's sheet, image_size 0, ...
    if data_error is not None:
        return f"error: {data_error}"
    if isinstance(error, argparse.ArgumentError):  # jsonargparse's, with exit_on_error=False
        return f"error: {describe(str(error))}"
    if _is_one_of(error, MISCONFIGURATION_TYPES):
        return "error: " + " ".join(str(error).split())  # Lightning's messages span lines
    return f"error: {error}"
