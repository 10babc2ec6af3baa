"""mer-contrast: micro-expression recognition with attribute (FACS) embedding and cross-modal contrastive learning."""

__version__ = "0.1.0"
