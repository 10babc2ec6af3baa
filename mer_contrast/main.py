"""Console script ``mer-contrast``: the Lightning subcommands plus the project's own tools.

``fit``/``validate``/``test``/``predict`` go to :mod:`mer_contrast.cli` (LightningCLI); the other
subcommands are small argparse programs imported only when used, so ``mer-contrast inspect`` starts
without loading torch.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# name -> (module with a ``main(argv) -> int``, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "synth": ("mer_contrast.synth.cli", "write a synthetic dataset in a real database's on-disk layout"),
    "inspect": ("mer_contrast.datasets.inspect", "count samples per class/subject, skipped rows, frames"),
    "loso": ("mer_contrast.loso.cli", "leave-one-subject-out protocol: train and test one model per fold"),
    "report": ("mer_contrast.loso.report", "pool the finished folds of a LOSO run into a report"),
    "demo": ("mer_contrast.loso.demo", "synthetic data + a short LOSO run + the report, on CPU"),
    "bench": ("mer_contrast.bench", "benchmarks that print measured figures (flow cache, training)"),
}

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def _tools_help() -> str:
    lines = ["mer-contrast subcommands:", *(f"  {c:<9} (Lightning) {c} a model" for c in LIGHTNING_COMMANDS)]
    lines += [f"  {name:<9} {text}" for name, (_, text) in TOOLS.items()]
    lines.append("Run `mer-contrast <subcommand> --help` for the options of each.")
    return "\n".join(lines)


def main(args: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if args is None else args)
    if argv and argv[0] in TOOLS:
        module = importlib.import_module(TOOLS[argv[0]][0])
        return int(module.main(argv[1:]) or 0)
    if not argv or argv[0] in ("-h", "--help"):
        print(_tools_help() + "\n")
        if not argv:
            return 0
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from mer_contrast.cli import build_cli

    try:
        # LightningCLI reads sys.argv itself; passing it again as args only earns a warning.
        build_cli(None if args is None else argv)
    except SIGTERMException:  # a SystemExit with status 0: a scheduler would record success
        print(f"terminated (SIGTERM) during `{argv[0]}`; the run did not finish", file=sys.stderr)
        return 143
    return 0


if __name__ == "__main__":
    sys.exit(main())
