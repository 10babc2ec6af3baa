"""Spot-then-recognize on unannotated footage (``predict-video``, ``predict FOLDER``: :mod:`mer_contrast.cli`;
``bench spot``: :mod:`mer_contrast.bench.spot`)."""
