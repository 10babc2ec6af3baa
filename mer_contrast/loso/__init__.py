"""Leave-one-subject-out (LOSO) protocol: runner, pooled metrics, reports.

The commands (``loso``, ``report``, ``demo``) are in :mod:`mer_contrast.cli`, the demo's run and the LOSO
benchmark in :mod:`mer_contrast.bench`.

* :mod:`~mer_contrast.loso.metrics`: pooled accuracy / UF1 / UAR (numpy), per fold, mean ± std.
* :mod:`~mer_contrast.loso.runner`: one fresh model per held-out subject and seed (``mer-contrast loso``),
  with :mod:`~mer_contrast.loso.schedule` (all folds in process, one with ``--fold-index``, or
  subprocesses on GPUs).
* :mod:`~mer_contrast.loso.callbacks`: per-epoch test predictions for the labelled oracle selection.
* :mod:`~mer_contrast.loso.report`: the pooled report of ``mer-contrast report DIR`` (summary.json / .md /
  confusion PNGs).
* :mod:`~mer_contrast.loso.store`: the output folder layout.

Submodules are imported on use, so ``mer-contrast report`` starts without torch.
"""
