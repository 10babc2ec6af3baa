"""MERDataModule on a tiny synthetic CASME II-layout dataset: folds, splits, batches, bad input."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from mer_contrast.clips.flow import FlowConfig
from mer_contrast.datamodules import MERDataModule
from mer_contrast.datamodules.dataset import Augmentation, ClipDataset, _shift
from mer_contrast.synth import generate

OPTIONS: dict[str, Any] = dict(
    num_frames=4,
    image_size=24,
    flow=FlowConfig(method="dis"),
    batch_size=2,
    num_workers=0,
    precompute_workers=0,
    drop_last=False,
)


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dm") / "CASME2"
    generate("casme2", root, subjects=4, clips_per_subject=3, size=32, frames=(5, 8), seed=2)
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("dm_cache"))


def make(root: Path, cache_dir: str, **overrides: Any) -> MERDataModule:
    dm = MERDataModule(root=str(root), cache_dir=cache_dir, **{**OPTIONS, **overrides})
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_folds_cover_subjects_with_samples(dataset_root: Path, cache_dir: str) -> None:
    dm = MERDataModule(root=str(dataset_root), cache_dir=cache_dir, **OPTIONS)
    folds = dm.folds()
    assert folds == sorted(folds) and set(folds) <= {"sub01", "sub02", "sub03", "sub04"}
    assert dm.num_classes == 5 and dm.class_names[0] == "happiness"


@pytest.mark.parametrize("val_strategy", ["none", "holdout_subjects", "test"])
def test_each_fold_separates_subjects(dataset_root: Path, cache_dir: str, val_strategy: str) -> None:
    folds = MERDataModule(root=str(dataset_root), cache_dir=cache_dir, **OPTIONS).folds()
    for subject in folds:
        dm = make(dataset_root, cache_dir, test_subject=subject, val_strategy=val_strategy, val_subjects=1)
        assert dm.train_set is not None and dm.val_set is not None and dm.test_set is not None
        train = {it.subject for it in dm.train_set.items}
        val = {it.subject for it in dm.val_set.items}
        test = {it.subject for it in dm.test_set.items}
        assert test == {subject} and not train & test
        clips = [it.clip_id for ds in (dm.train_set, dm.test_set) for it in ds.items]
        if val_strategy == "holdout_subjects":
            assert len(val) == 1 and not val & train and subject not in val
            clips += [it.clip_id for it in dm.val_set.items]
        elif val_strategy == "test":
            assert val == test
        assert len(clips) == len(set(clips)) == len(dm.items)


def test_eval_loaders_of_two_processes_hold_every_clip_once(dataset_root: Path, cache_dir: str) -> None:
    dm = make(dataset_root, cache_dir, test_subject="sub01", val_strategy="holdout_subjects", val_subjects=1)
    for loader, dataset in (("val_dataloader", dm.val_set), ("test_dataloader", dm.test_set)):
        assert dataset is not None and len(dataset) % 2 == 1, "an odd split: a padded sampler would repeat"
        seen = []
        for rank in (0, 1):
            dm.trainer = SimpleNamespace(distributed_sampler_kwargs={"num_replicas": 2, "rank": rank})
            seen += [clip for batch in getattr(dm, loader)() for clip in batch["clip_id"]]
        assert sorted(seen) == sorted(item.clip_id for item in dataset.items), loader


def test_batches_hold_the_documented_keys(dataset_root: Path, cache_dir: str) -> None:
    dm = make(dataset_root, cache_dir, test_subject="sub01")
    batch = next(iter(dm.train_dataloader()))
    assert batch["rgb"].shape == (2, 4, 3, 24, 24) and batch["rgb"].dtype == torch.float32
    assert 0.0 <= batch["rgb"].min() and batch["rgb"].max() <= 1.0
    assert batch["flow"].shape == (2, 3, 2, 24, 24)
    assert batch["label"].dtype == torch.long
    assert isinstance(batch["subject"][0], str) and "/" in batch["clip_id"][0]
    assert all(isinstance(t, str) and t for t in batch["au_text"])
    test_batch = next(iter(dm.test_dataloader()))
    assert set(test_batch["subject"]) == {"sub01"}


def test_drop_last_leaves_each_rank_a_training_batch(dataset_root: Path, cache_dir: str) -> None:
    dm = make(dataset_root, cache_dir, test_subject="sub01", drop_last=True, batch_size=4)
    assert dm.train_set is not None and 4 < len(dm.train_set) <= 8, "a split between one and two batches"
    assert dm.train_dataloader().drop_last  # one process: the short last batch goes
    # Two processes: each rank's share (ceil(N / 2) <= 4 clips) is one short batch; dropping it would leave
    # the rank nothing to train on.
    dm.trainer = SimpleNamespace(distributed_sampler_kwargs={"num_replicas": 2, "rank": 0})
    assert not dm.train_dataloader().drop_last


def test_same_seed_same_batches(dataset_root: Path, cache_dir: str) -> None:
    def epochs(seed: int, workers: int) -> list[torch.Tensor]:
        dm = make(
            dataset_root,
            cache_dir,
            test_subject="sub02",
            seed=seed,
            num_workers=workers,
            augmentation=Augmentation(temporal_jitter=1),
        )
        loader = dm.train_dataloader()
        return [torch.cat([b["rgb"].flatten() for b in loader]) for _ in range(2)]

    a, b, c = epochs(0, 0), epochs(0, 2), epochs(1, 0)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))  # workers do not change batches
    assert not torch.equal(a[0], a[1])  # a new epoch reshuffles and re-augments
    assert not torch.equal(a[0], c[0])


def test_flip_negates_horizontal_flow() -> None:
    rgb = torch.rand(4, 3, 8, 8)
    flow = torch.rand(3, 2, 8, 8)
    import numpy as np

    aug = Augmentation(flip_prob=1.0, spatial_jitter=0)
    out_rgb, out_flow, flipped = ClipDataset._augment(
        rgb.clone(), flow.clone(), np.random.default_rng(0), aug
    )
    assert flipped
    assert torch.equal(out_rgb, rgb.flip(-1))
    assert torch.equal(out_flow[:, 0], -flow.flip(-1)[:, 0])
    assert torch.equal(out_flow[:, 1], flow.flip(-1)[:, 1])


@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (1, 4, 8, 8), (5, 6)])
def test_spatial_jitter_replicates_the_edges(shape: tuple[int, ...]) -> None:
    x = torch.rand(shape)
    h, w = shape[-2:]
    for dy in range(-10, 11, 3):
        for dx in range(-9, 10, 2):
            rows = (torch.arange(h) - dy).clamp(0, h - 1)  # pixel (y, x) comes from (y - dy, x - dx)
            cols = (torch.arange(w) - dx).clamp(0, w - 1)
            assert torch.equal(_shift(x, dy, dx), x[..., rows[:, None], cols[None, :]]), (dy, dx)


def test_balanced_sampling_and_label_counts(dataset_root: Path, cache_dir: str) -> None:
    dm = make(dataset_root, cache_dir, test_subject="sub01", balanced_sampling=True)
    counts = dm.train_label_counts()
    assert sum(counts) == len(dm.train_set)
    assert len(list(dm.train_dataloader().sampler)) == len(dm.train_set)


def test_unknown_test_subject_is_a_clear_error(dataset_root: Path, cache_dir: str) -> None:
    with pytest.raises(ValueError, match="sub99"):
        make(dataset_root, cache_dir, test_subject="sub99")


def test_corrupt_frame_is_skipped_with_warning_and_strict_raises(
    dataset_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "CASME2"
    shutil.copytree(dataset_root, root)
    clip = sorted(p for p in (root / "Cropped").glob("sub03/*") if p.is_dir())[0]
    bad = sorted(clip.glob("*.jpg"))[0]
    bad.write_bytes(b"")  # a zero-byte frame, as after an interrupted copy
    with caplog.at_level(logging.WARNING):
        dm = make(root, str(tmp_path / "cache"), test_subject="sub01")
    assert any(bad.name in r.getMessage() for r in caplog.records)
    assert f"sub03/{clip.name}" not in {it.clip_id for it in dm.items}
    with pytest.raises(Exception, match=bad.name):
        make(root, str(tmp_path / "cache2"), test_subject="sub01", strict=True)


def test_flow_bounds_come_from_training_subjects_only(dataset_root: Path, cache_dir: str) -> None:
    from mer_contrast.clips.flow import choose_bounds

    dm = make(
        dataset_root, cache_dir, test_subject="sub02", flow=FlowConfig(method="dis", channels="uv_strain")
    )
    assert dm.flow_norm is not None and dm.train_set is not None and dm.test_set is not None
    train_flows = [dm.cache.get(it.cache_key)["flow"] for it in dm.train_set.items]  # type: ignore[index]
    assert (dm.flow_norm.bound, dm.flow_norm.strain_bound) == choose_bounds(train_flows, "uv_strain")
    test_flows = [dm.cache.get(it.cache_key)["flow"] for it in dm.test_set.items]  # type: ignore[index]
    assert choose_bounds(train_flows + test_flows, "uv_strain") != choose_bounds(train_flows, "uv_strain")
    sample = dm.train_set[0]
    assert sample["flow"][:, :2].abs().max() <= 1.0 and 0.0 <= sample["flow"][:, 2].min()
    fixed = make(dataset_root, cache_dir, test_subject="sub02", flow_bound=0.5, strain_bound=0.05)
    assert fixed.flow_norm is not None and (fixed.flow_norm.bound, fixed.flow_norm.strain_bound) == (
        0.5,
        0.05,
    )
    with pytest.raises(ValueError, match="flow_bound must be > 0"):
        MERDataModule(root=str(dataset_root), cache_dir=cache_dir, flow_bound=0.0)


def test_onset_apex_pairs_give_one_flow_step(dataset_root: Path, cache_dir: str) -> None:
    dm = make(
        dataset_root,
        cache_dir,
        test_subject="sub01",
        flow=FlowConfig(method="dis", pairs="onset_apex"),
        augmentation=Augmentation(temporal_jitter=1),
    )
    assert dm.train_set is not None
    sample = dm.train_set[(0, 7)]
    assert sample["flow"].shape == (1, 2, 24, 24) and sample["rgb"].shape == (4, 3, 24, 24)


def test_facs_template_shapes_the_training_sentences(dataset_root: Path, cache_dir: str) -> None:
    from mer_contrast.text.facs import FacsTemplate

    plain = make(dataset_root, cache_dir, test_subject="sub01")
    template = FacsTemplate(au_format="{description}", include_emotion=True)
    worded = make(dataset_root, cache_dir, test_subject="sub01", facs_template=template)
    by_clip = {item.clip_id: item for item in plain.train_set.items}
    for item in worded.train_set.items:
        emotion = plain.class_names[item.label]
        assert item.au_text.startswith(f"{emotion} micro-expression with "), item.au_text
        assert ":" not in item.au_text and item.au_text != by_clip[item.clip_id].au_text


def test_a_python_built_template_leaves_plain_hparams(tmp_path: Path) -> None:
    """A FacsTemplate object in the hparams would stop a checkpoint loading with weights_only=True."""
    import io

    from mer_contrast.text.facs import FacsTemplate

    template = FacsTemplate(include_emotion=True)
    flow, augmentation = FlowConfig(method="dis", channels="uv_strain"), Augmentation(spatial_jitter=1)
    data = MERDataModule(root=str(tmp_path), facs_template=template, flow=flow, augmentation=augmentation)
    buffer = io.BytesIO()
    torch.save({"datamodule_hyper_parameters": dict(data.hparams)}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)["datamodule_hyper_parameters"]
    assert saved["facs_template"]["include_emotion"] is True and saved["flow"]["method"] == "dis"
    # Given back (LightningDataModule.load_from_checkpoint), the dicts are the same groups again.
    again = MERDataModule(
        root=str(tmp_path), **{k: saved[k] for k in ("facs_template", "flow", "augmentation")}
    )
    assert (again.facs_template, again.clip_config.flow, again.augmentation) == (template, flow, augmentation)
    assert MERDataModule(root=str(tmp_path), augmentation=None).augmentation is None  # null: off


def test_au_dropout_changes_only_the_sentence_and_keeps_one_au() -> None:
    import numpy as np

    from mer_contrast.datamodules.dataset import ClipItem, drop_aus
    from mer_contrast.datasets.records import ActionUnit
    from mer_contrast.text.facs import describe_au_subsets

    aus = [ActionUnit(1), ActionUnit(2), ActionUnit(4)]
    subsets = describe_au_subsets(aus)
    item = ClipItem("k", 0, "s", "c", "1+2+4", subsets[-1], subsets)
    rng = np.random.default_rng(0)
    drawn = [drop_aus(item, rng, 0.5) for _ in range(400)]
    assert set(drawn) == set(subsets)  # every non-empty subset, the full sentence included
    # All three kept: 0.5**3. (When none survives one is kept at random, which is never the full set.)
    assert abs(drawn.count(subsets[-1]) / 400 - 1 / 8) < 0.06
    assert {drop_aus(item, rng, 0.0) for _ in range(20)} == {subsets[-1]}
    single = ClipItem("k", 0, "s", "c", "4", "brow lowerer", ("brow lowerer",))
    assert drop_aus(single, rng, 0.9) == "brow lowerer"
    with pytest.raises(ValueError, match="au_dropout"):
        Augmentation(au_dropout=1.0)


def test_au_dropout_sentences_are_embedded_up_front_and_drawn_in_training(
    dataset_root: Path, cache_dir: str
) -> None:
    plain = make(dataset_root, cache_dir, test_subject="sub01")
    dm = make(dataset_root, cache_dir, test_subject="sub01", augmentation=Augmentation(au_dropout=0.5))
    full = set(plain.train_texts())
    assert full < set(dm.train_texts())  # the subsets are there for the frozen tower's one pass
    multi = [i for i, it in enumerate(dm.train_set.items) if len(it.au_subtexts) > 1]
    assert multi, "the fake dataset should have clips with several AUs"
    index = multi[0]
    drawn = {dm.train_set[index, seed]["au_text"] for seed in range(40)}
    assert drawn <= set(dm.train_set.items[index].au_subtexts) and len(drawn) > 1
    assert dm.test_set[0]["au_text"] == dm.test_set.items[0].au_text  # evaluation never drops
    same = plain.train_set[index, 3], dm.train_set[index, 3]
    assert torch.equal(same[0]["flow"], same[1]["flow"]) and torch.equal(same[0]["rgb"], same[1]["rgb"])


def test_mirror_sides_gives_a_flipped_clip_the_sentence_of_its_mirror_image() -> None:
    import numpy as np

    from mer_contrast.datamodules.dataset import ClipItem, clip_sentences, drop_aus
    from mer_contrast.datasets import parse_aus

    record = SimpleNamespace(aus=parse_aus("4+L12"), emotion="happiness")  # what the sentences read
    with_dropout = Augmentation(au_dropout=0.5, mirror_sides=True)
    item = ClipItem("k", 0, "s", "c", "4+L12", **clip_sentences(record, None, with_dropout))
    assert "left lip corner puller" in item.au_text
    assert item.mirrored_au_text is not None and "right lip corner puller" in item.mirrored_au_text
    assert item.sentences(True) == (item.mirrored_au_text, item.mirrored_au_subtexts)
    assert item.sentences(False) == (item.au_text, item.au_subtexts)
    # AU dropout keeps the same AUs for the clip and its mirror image: only the side words differ
    for seed in range(20):
        own = drop_aus(item, np.random.default_rng(seed), 0.5)
        mirrored = drop_aus(item, np.random.default_rng(seed), 0.5, mirrored=True)
        assert mirrored == own.replace("left", "right")
    assert set(item.training_texts()) == {*item.au_subtexts, *item.mirrored_au_subtexts}
    bilateral = SimpleNamespace(aus=parse_aus("1+2"), emotion="surprise")
    assert "mirrored_au_text" not in clip_sentences(bilateral, None, with_dropout)
    off = clip_sentences(record, None, Augmentation(au_dropout=0.5))
    assert "mirrored_au_text" not in off  # the default: a flipped clip keeps its sentence


def test_mirror_sides_changes_only_a_flipped_lateral_clips_sentence(
    dataset_root: Path, cache_dir: str
) -> None:
    plain = make(dataset_root, cache_dir, test_subject="sub01", augmentation=Augmentation(flip_prob=1.0))
    mirror = Augmentation(flip_prob=1.0, mirror_sides=True)
    dm = make(dataset_root, cache_dir, test_subject="sub01", augmentation=mirror)
    lateral = [i for i, it in enumerate(dm.train_set.items) if it.mirrored_au_text is not None]
    assert lateral, "the fake dataset should have a clip coded with a side (L10, L14)"
    for index in range(len(dm.train_set)):
        before, after = plain.train_set[index, 5], dm.train_set[index, 5]
        assert torch.equal(before["flow"], after["flow"]) and torch.equal(before["rgb"], after["rgb"])
        item = dm.train_set.items[index]
        expected = item.mirrored_au_text if index in lateral else item.au_text
        assert after["au_text"] == expected and before["au_text"] == item.au_text
    assert "right" in dm.train_set[lateral[0], 5]["au_text"]
    assert set(plain.train_texts()) < set(dm.train_texts())  # the frozen tower embeds them up front
    assert dm.test_set[0]["au_text"] == dm.test_set.items[0].au_text  # evaluation never flips


def test_cached_clips_serve_the_models_clips_and_a_peers_setting(dataset_root: Path, cache_dir: str) -> None:
    from mer_contrast.clips.prepare import ClipConfig

    dm = make(dataset_root, cache_dir)
    served = list(dm.cached_clips())
    expected = [(item.clip_id, item.label, item.subject) for item in dm.items]
    assert [(c.key, c.label, c.subject) for c in served] == expected
    assert served[0].arrays["flow"].shape[0] == dm.clip_config.num_frames - 1  # as the model sees them
    peer = ClipConfig(num_frames=2, image_size=24, span="onset_apex", register="none",
                      flow=FlowConfig(method="farneback", pairs="onset_apex", size=24))  # fmt: skip
    clips = list(dm.cached_clips(peer, workers=0))
    assert {c.key for c in clips} == {record.key for record, _ in dm.labelled_records}
    assert clips[0].arrays["flow"].shape[0] == 1 and clips[0].arrays["flow"].shape[-1] == 24
