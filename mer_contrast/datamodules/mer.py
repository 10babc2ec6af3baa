"""``MERDataModule``: one LOSO fold of a micro-expression database, ready for Lightning.

``prepare_data`` (rank zero only) reads the annotation sheet, applies the class protocol, checks every
clip's frames and fills the flow cache in parallel worker processes; bad clips are skipped there with a
warning naming the file (or raise with ``strict``), never hours later inside a loader worker.
``setup`` (every rank) rebuilds the same record list, keeps the clips whose cache entry exists and
splits them by subject: the held-out ``test_subject`` is the test set, and validation comes from the
training subjects only unless ``val_strategy="test"`` (test-set selection, labelled as such).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from collections import Counter
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from mer_contrast.clips.cache import ClipCache, cache_key
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.flow import FlowConfig, FlowNorm, choose_bounds
from mer_contrast.clips.precompute import precompute
from mer_contrast.datamodules.cached import cached_clips
from mer_contrast.datamodules.dataset import (
    Augmentation,
    ClipDataset,
    ClipItem,
    EpochSeededSampler,
    clip_sentences,
)
from mer_contrast.datamodules.folds import Split, ValStrategy, loso_split, loso_subjects
from mer_contrast.datamodules.settings import check_counts, check_test_subject, clip_config
from mer_contrast.datamodules.sharding import eval_sampler, process_count
from mer_contrast.datasets import DEFAULT_PROTOCOL, apply_protocol, get_protocol, read_dataset
from mer_contrast.datasets.aus import format_aus
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.files import cache_root
from mer_contrast.text.facs import FacsTemplate

# val_strategy="none" returns no validation loader on purpose.
warnings.filterwarnings("ignore", message=r"Total length of `list` across ranks is zero")

log = logging.getLogger(__name__)


DEFAULT_FLOW = FlowConfig()  # TV-L1 from the onset to each sampled frame, u and v, native crop
DEFAULT_AUGMENTATION = Augmentation()


def _group(cls: type, value: Any) -> Any:
    """A config group as its dataclass: a mapping (a checkpoint's hparams, given back) is converted."""
    return cls(**value) if isinstance(value, Mapping) else value


class MERDataModule(LightningDataModule):
    """A micro-expression database split for one leave-one-subject-out fold.

    Args:
        dataset: which reader reads ``root``.
        root: the database folder as distributed (annotation sheet + frame folders).
        protocol: class protocol name (``mer-contrast inspect`` lists counts); None = the dataset's default.
        test_subject: the held-out subject of this fold (see :meth:`folds`); None trains on all subjects.
        val_strategy: ``none``; ``holdout_subjects`` (validation subjects taken from the training
            subjects); ``test`` (validate on the test subject: test-set selection, optimistic).
        val_subjects: number of training subjects held out for ``holdout_subjects``.
        num_frames: T, frames sampled per clip.
        image_size: side of the square face crop.
        span: which part of the clip T frames are sampled from (see :mod:`mer_contrast.clips.sampling`).
        crop: ``auto`` uses the database's own face crop where it has one, else detects the face.
        register: align each clip's frames to its first sampled frame against head drift
            (:mod:`mer_contrast.clips.register`); ``translation`` by default (measured in
            ``docs/pipeline.md``: +9 UF1 points for the flow probe on the CASME II twin).
        align: ``landmarks`` warps each registered clip so its onset's landmarks sit on a template
            face (:mod:`mer_contrast.clips.align`; the ``landmarks`` extra); ``none`` by default.
        flow: how the optical flow is computed (:class:`~mer_contrast.clips.flow.FlowConfig`):
            ``method`` (``tvl1``, ``farneback``, ``dis``), ``pairs`` (``onset``: onset to each sampled
            frame, ``onset_apex``, ``consecutive``), ``channels`` (u, v and optionally magnitude
            and/or optical strain), ``size`` (side of the face crop the flow is computed on; None =
            native resolution, the field then resized to ``image_size`` with its vectors scaled)
            and the method's own parameters. In YAML: ``flow: {method: dis, channels: uv_strain}``.
        flow_bound: pixels (of the ``image_size`` image) mapped to 1.0 for u, v, magnitude; None =
            chosen from the training clips (:func:`~mer_contrast.clips.flow.choose_bounds`).
        strain_bound: strain mapped to 1.0; None = chosen from the training clips.
        cache_dir: where prepared clips are cached; None = ``$MER_CONTRAST_CACHE``, else
            ``~/.cache/mer-contrast``.
        batch_size: clips per batch (per device).
        num_workers: DataLoader worker processes (0 is fastest for data in memory).
        in_memory: keep the prepared clips in this process's memory once read, shared by every fold
            of a LOSO run (a CASME II-sized set at 64 px holds ~100 MB).
        precompute_workers: processes that fill the flow cache in ``prepare_data``.
        augmentation: training augmentation (:class:`~mer_contrast.datamodules.dataset.Augmentation`:
            ``flip_prob`` with the flow's u negated, ``spatial_jitter`` pixels of random shift,
            ``temporal_jitter`` sampled steps of window shift, ``au_dropout`` for AUs left out of the
            training sentence, ``mirror_sides`` for a flipped clip's sentence with its sides swapped);
            None (``augmentation: null``) = off.
        balanced_sampling: draw training clips with probability inversely proportional to class frequency.
        drop_last: drop the last incomplete training batch (all ranks need equal batches for the
            contrastive all-gather, and BatchNorm dislikes a batch of one); not where a process's share
            of the training clips is one batch or less, which would leave it nothing to train on.
        facs_template: how a clip's AU code becomes the sentence of the text tower (the
            :class:`~mer_contrast.text.facs.FacsTemplate` defaults when None); training signal only.
        reader_options: passed to the reader (e.g. ``{"frames": "raw"}`` for CASME II).
        strict: raise on the first bad row or clip instead of skipping it with a warning.
        seed: seeds validation-subject choice, shuffling and augmentation.
    """

    def __init__(
        self,
        dataset: Literal["casme2", "mmew", "samm", "casme3", "megc2019", "smic"] = "casme2",
        root: str = "data/CASME2",
        protocol: str | None = None,
        test_subject: str | None = None,
        val_strategy: ValStrategy = "none",
        val_subjects: int = 2,
        num_frames: int = 8,
        image_size: int = 112,
        span: Literal["onset_apex", "onset_apex_offset", "whole"] = "onset_apex",
        crop: Literal["auto", "dataset", "detect", "none"] = "auto",
        register: Literal["none", "translation", "euclidean"] = "translation",
        align: Literal["none", "landmarks"] = "none",
        flow: FlowConfig = DEFAULT_FLOW,
        flow_bound: float | None = None,
        strain_bound: float | None = None,
        cache_dir: str | None = None,
        batch_size: int = 16,
        num_workers: int = 2,
        in_memory: bool = True,
        precompute_workers: int = 2,
        augmentation: Augmentation | None = DEFAULT_AUGMENTATION,
        balanced_sampling: bool = False,
        drop_last: bool = True,
        facs_template: FacsTemplate | None = None,
        reader_options: dict[str, Any] | None = None,
        strict: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        # Built in Python, the groups are dataclass objects (the CLI passes dicts to hparams): store
        # plain values, so a checkpoint loads with torch.load(weights_only=True), and take them back.
        groups: dict[str, Any] = {"flow": flow, "augmentation": augmentation, "facs_template": facs_template}
        for name, value in groups.items():
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                self.hparams[name] = dataclasses.asdict(value)
        flow = _group(FlowConfig, flow)
        augmentation = _group(Augmentation, augmentation)
        facs_template = _group(FacsTemplate, facs_template)
        self.dataset = dataset
        self.root = Path(root)
        self.protocol_name = protocol or DEFAULT_PROTOCOL[dataset]
        self.protocol = get_protocol(self.protocol_name)
        self.test_subject = test_subject
        self.val_strategy: ValStrategy = val_strategy
        self.val_subjects = val_subjects
        self.num_frames = num_frames
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.precompute_workers = precompute_workers
        self.balanced_sampling = balanced_sampling
        self.drop_last = drop_last
        self.facs_template = facs_template
        self.reader_options = dict(reader_options or {})
        self.strict = strict
        self.seed = seed
        self.augmentation = augmentation
        temporal_jitter = augmentation.temporal_jitter if augmentation is not None else 0
        # Cache T + temporal_jitter frames so a shifted T-window never needs new flow.
        check_counts(
            batch_size=batch_size, val_subjects=val_subjects, num_workers=num_workers,
            precompute_workers=precompute_workers,
        )  # fmt: skip
        self.clip_config = clip_config(
            num_frames=num_frames + temporal_jitter,
            image_size=image_size,
            span=span,
            crop=crop,
            register=register,
            align=align,
            flow=flow,
        )
        for name, value in (("flow_bound", flow_bound), ("strain_bound", strain_bound)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 pixels, or null to choose it from the data")
        self.flow_bound = flow_bound
        self.strain_bound = strain_bound
        self.flow_norm: FlowNorm | None = None
        self.temporal_jitter = temporal_jitter
        self.cache = ClipCache(Path(cache_dir) if cache_dir else cache_root(), memory=in_memory)
        self.split: Split | None = None
        self.items: list[ClipItem] = []
        self.train_set: ClipDataset | None = None
        self.val_set: ClipDataset | None = None
        self.test_set: ClipDataset | None = None

    # ---- what the CLI links to the model ---------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Number of classes under the protocol."""
        return len(self.protocol.classes)

    @property
    def class_names(self) -> list[str]:
        """Class names under the protocol, in label order."""
        return list(self.protocol.classes)

    @property
    def flow_channel_count(self) -> int:
        """Channels of the ``flow`` tensor (u, v, then magnitude and/or strain)."""
        return self.clip_config.flow.num_channels

    @cached_property
    def labelled_records(self) -> list[tuple[SampleRecord, int]]:
        """Every clip usable under the protocol, with its label (reader + protocol, no frames decoded)."""
        result = read_dataset(self.dataset, root=self.root, strict=self.strict, **self.reader_options)
        self._read_result = result  # for the kept/dropped line of setup
        labelled, dropped = apply_protocol(result, self.protocol)
        if dropped:
            log.info("%d clips are outside protocol %s", len(dropped), self.protocol_name)
        return labelled

    def folds(self) -> list[str]:
        """The LOSO folds: subjects with at least one sample under the protocol."""
        return loso_subjects([r.subject for r, _ in self.labelled_records])

    cached_clips = cached_clips  # (clip_config=None, workers=0) -> CachedClip per clip; see cached.py

    # ---- Lightning hooks -------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Check every clip and fill the flow cache (called on rank zero only)."""
        check_test_subject(self.test_subject, self.folds(), self.protocol_name)  # before any flow
        records = [r for r, _ in self.labelled_records]
        report = precompute(
            records, self.clip_config, self.cache, workers=self.precompute_workers, strict=self.strict
        )
        for key, reason in report.failed:
            log.warning("skipped clip %s: %s", key, reason)

    def setup(self, stage: str | None = None) -> None:
        """Build the fold's datasets from the clips whose cache entries exist."""
        if self.split is not None:
            return
        check_test_subject(self.test_subject, self.folds(), self.protocol_name)
        usable: list[ClipItem] = []
        missing = []
        for record, label in self.labelled_records:
            try:
                key = cache_key(record, self.clip_config)
            except ClipError:
                key = ""
            if not key or key not in self.cache:
                missing.append(record.key)
                continue
            usable.append(
                ClipItem(
                    cache_key=key,
                    label=label,
                    subject=record.subject,
                    clip_id=record.key,
                    aus=format_aus(record.aus),
                    **clip_sentences(record, self.facs_template, self.augmentation),
                )
            )
        if missing:
            log.warning(
                "%d clips have no cache entry and are left out (see prepare_data warnings): %s",
                len(missing),
                ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
            )
        self._print_kept(len(missing))
        if not usable:
            raise RuntimeError(
                f"no usable clip under {self.root} with protocol {self.protocol_name}; "
                f"run `mer-contrast inspect --dataset {self.dataset} --root {self.root}` to see why"
            )
        self.items = usable
        self.split = loso_split(
            [it.subject for it in usable], self.test_subject, self.val_strategy, self.val_subjects, self.seed
        )
        if self.split.val_is_test:
            log.warning("val_strategy='test': validation uses the test subject (test-set selection)")
        self.flow_norm = self._choose_flow_norm(self.split.train)
        make = self._make_dataset
        self.train_set = make(self.split.train, self.augmentation)
        self.val_set = make(self.split.val, None)
        self.test_set = make(self.split.test, None)

    def _print_kept(self, not_prepared: int) -> None:
        """Print (rank zero only) how many clips the reader and protocol kept and dropped, and why."""
        from lightning.pytorch.utilities import rank_zero_only

        from mer_contrast.datasets.inspection import kept_line, print_once, summary_of

        if getattr(rank_zero_only, "rank", 0) != 0:
            return
        self.labelled_records  # noqa: B018 -- reads the sheet once, keeping its report in _read_result
        summary = summary_of(self.dataset, self._read_result, self.protocol_name)
        print_once(kept_line(summary, not_prepared, self.root))

    def _choose_flow_norm(self, train: list[int]) -> FlowNorm:
        """Fixed bounds where given, else chosen from the training clips' flow (never the test subject)."""
        channels = self.clip_config.flow.channels
        bound, strain_bound = self.flow_bound, self.strain_bound
        if bound is None or (strain_bound is None and "strain" in channels):
            flows = []
            for index in train or range(len(self.items)):
                arrays = self.cache.get(self.items[index].cache_key)
                if arrays is not None:
                    flows.append(arrays["flow"])
            chosen = choose_bounds(flows, channels)
            bound = chosen[0] if bound is None else bound
            strain_bound = chosen[1] if strain_bound is None else strain_bound
            # debug, not info: a LOSO run would print it once per fold
            log.debug("flow bounds from %d training clips: %.3g px, strain %.3g", len(flows), *chosen)
        return FlowNorm(channels, bound, strain_bound if strain_bound is not None else 1.0)

    def _make_dataset(self, indices: list[int], augmentation: Augmentation | None) -> ClipDataset:
        return ClipDataset(
            [self.items[i] for i in indices],
            self.cache,
            self.num_frames,
            augmentation,
            self.temporal_jitter,
            flow_norm=self.flow_norm,
        )

    def train_label_counts(self) -> list[int]:
        """Training clips per class (for class-weighted losses)."""
        self._require_setup()
        assert self.train_set is not None
        counts = Counter(it.label for it in self.train_set.items)
        return [counts.get(k, 0) for k in range(self.num_classes)]

    def train_texts(self) -> list[str]:
        """The distinct FACS sentences of the training clips (for a frozen text tower to embed once),
        with the AU-subset sentences that AU dropout can draw, and their mirror images' (``mirror_sides``)."""
        self._require_setup()
        assert self.train_set is not None
        return sorted({text for it in self.train_set.items for text in it.training_texts()})

    def _require_setup(self) -> None:
        if self.split is None:
            self.setup()

    def _loader(self, dataset: ClipDataset, sampler: Any = None, drop_last: bool = False) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            drop_last=drop_last,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        self._require_setup()
        assert self.train_set is not None
        weights = None
        if self.balanced_sampling:
            counts = self.train_label_counts()
            weights = [1.0 / counts[it.label] for it in self.train_set.items]
        sampler = EpochSeededSampler(len(self.train_set), self.seed, shuffle=True, weights=weights)
        # Under DDP each rank draws ceil(N / ranks) clips: drop the last batch only where a rank keeps one.
        share = math.ceil(len(self.train_set) / process_count(self.trainer))
        drop_last = self.drop_last and share > self.batch_size
        return self._loader(self.train_set, sampler, drop_last=drop_last)

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        self._require_setup()
        if self.val_set is None or len(self.val_set) == 0:
            return []
        return self._loader(self.val_set, eval_sampler(self.val_set, self.trainer, "validation"))

    def test_dataloader(self) -> DataLoader:
        self._require_setup()
        if self.test_set is None or len(self.test_set) == 0:
            raise RuntimeError("no test split: set data.test_subject to one of MERDataModule.folds()")
        return self._loader(self.test_set, eval_sampler(self.test_set, self.trainer, "test"))

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    def describe(self) -> dict[str, Any]:
        """Sizes and subjects of the fold's splits (for logs and reports)."""
        self._require_setup()
        assert self.split is not None

        def per_class(idx: list[int]) -> dict[str, int]:
            counts = Counter(self.items[i].label for i in idx)
            return {name: counts.get(k, 0) for k, name in enumerate(self.class_names)}

        return {
            "test_subject": self.test_subject,
            "val_subjects": list(self.split.val_subjects),
            "val_is_test": self.split.val_is_test,
            "train": per_class(self.split.train),
            "val": per_class(self.split.val),
            "test": per_class(self.split.test),
            "train_subjects": int(np.unique([self.items[i].subject for i in self.split.train]).size),
        }
