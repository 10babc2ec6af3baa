"""One writer of the tiny random BERT checkpoints the tests load as a local "hub" folder (no network)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizer

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def save_tiny_bert(root: Path, tokens: Sequence[str], max_position_embeddings: int = 64) -> str:
    """Save a 2-layer, hidden-32 random BERT (seed 0) and a tokenizer over ``tokens`` to ``root``."""
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join([*SPECIAL_TOKENS, *tokens]) + "\n")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(SPECIAL_TOKENS) + len(tokens),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_position_embeddings,
    )
    BertModel(config).save_pretrained(root)
    BertTokenizer(vocab_file=str(vocab)).save_pretrained(root)
    return str(root)
