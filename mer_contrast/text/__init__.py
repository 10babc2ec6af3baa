"""FACS action-unit table and AU -> sentence templates for the text tower."""

from mer_contrast.text.facs import AU_TABLE, AUInfo, FacsTemplate, au_vocabulary, describe_au, describe_aus

__all__ = ["AU_TABLE", "AUInfo", "FacsTemplate", "au_vocabulary", "describe_au", "describe_aus"]
