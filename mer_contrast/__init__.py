"""mer-contrast: micro-expression recognition with FACS attributes and cross-modal contrastive learning."""

__version__ = "0.1.0"
