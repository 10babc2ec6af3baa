"""The measuring wing: the benchmarks (``mer-contrast bench flow|train|loso|spot|quality|suite``), the
classical peers and the demo; each takes parsed options from :mod:`mer_contrast.cli` and prints figures."""
