"""Suite-wide settings: no network, no hub, W&B offline, caches in a temporary folder."""

import os
import tempfile

# Set before any test imports transformers or wandb: they read these at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MER_CONTRAST_CACHE", tempfile.mkdtemp(prefix="mer-contrast-cache-"))
os.environ.setdefault("MPLBACKEND", "Agg")
