"""``LetterCounts``: a text tower for tests that needs no model files (a learnt map of letter counts)."""

from __future__ import annotations

import torch
from torch import nn


class LetterCounts(nn.Module):
    """``forward(texts) -> (N, out_dim)``: a linear map of each sentence's counts of the 26 letters."""

    out_dim = 6

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(26, self.out_dim)

    def forward(self, texts: list[str]) -> torch.Tensor:
        counts = torch.zeros(len(texts), 26)
        for row, text in enumerate(texts):
            for letter in filter(str.isalpha, text.lower()):
                counts[row, ord(letter) - ord("a")] += 1
        return self.proj(counts)
