"""Leave-one-subject-out (LOSO) protocol: runner, pooled metrics, reports, demo.

* :mod:`~mer_contrast.loso.metrics`: prediction rows scored pooled and per fold (the metrics of
  :mod:`mer_contrast.metrics`), mean ± std over seeds.
* :mod:`~mer_contrast.loso.runner`: one fresh model per held-out subject and seed (``mer-contrast loso``),
  with :mod:`~mer_contrast.loso.schedule` (all folds in process, one with ``--fold-index``, or
  subprocesses on GPUs).
* :mod:`~mer_contrast.loso.callbacks`: per-epoch test predictions for the labelled oracle selection.
* :mod:`~mer_contrast.loso.report`: ``mer-contrast report DIR`` (summary.json / .md / confusion PNGs).
* :mod:`~mer_contrast.loso.store`: the output folder layout; :mod:`~mer_contrast.loso.demo`: the CPU demo.

Submodules are imported on use, so ``mer-contrast report`` starts without torch.
"""
