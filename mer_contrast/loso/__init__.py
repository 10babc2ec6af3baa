"""Leave-one-subject-out (LOSO) protocol: runner, pooled metrics, reports.

From Python, ``loso.run(loso.LosoOptions(configs=["configs/casme2_cpu.yaml"]))`` plans, checks and runs
every fold and writes the report (:mod:`~mer_contrast.loso.launch`, the one way into a run).

The commands (``loso``, ``report``, ``demo``) are in :mod:`mer_contrast.cli`, the demo's run and the LOSO
benchmark in :mod:`mer_contrast.bench`.

* :mod:`~mer_contrast.loso.metrics`: prediction rows scored pooled and per fold (the metrics of
  :mod:`mer_contrast.metrics`), mean ± std over seeds.
* :mod:`~mer_contrast.loso.runner`: one fresh model per held-out subject and seed (``mer-contrast loso``),
  with :mod:`~mer_contrast.loso.schedule` (all folds in process, some with ``--fold-index``, or
  subprocesses: on GPUs, or on the CPU side by side, one torch thread each).
* :mod:`~mer_contrast.loso.callbacks`: per-epoch test predictions for the labelled oracle selection.
* :mod:`~mer_contrast.loso.report`: the pooled report of ``mer-contrast report DIR`` (summary.json / .md /
  confusion PNGs).
* :mod:`~mer_contrast.loso.store`: the output folder layout.

Submodules are imported on use, so ``mer-contrast report`` starts without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mer_contrast.loso.launch import RunRefused, run
    from mer_contrast.loso.plan import LosoOptions

__all__ = ["LosoOptions", "RunRefused", "run"]


def __getattr__(name: str) -> Any:
    """``run``, ``RunRefused`` and ``LosoOptions``, imported on first use (they bring in Lightning)."""
    if name in ("run", "RunRefused"):
        from mer_contrast.loso import launch

        return getattr(launch, name)
    if name == "LosoOptions":
        from mer_contrast.loso.plan import LosoOptions

        return LosoOptions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
