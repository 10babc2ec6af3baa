"""mer_contrast.loso."""
