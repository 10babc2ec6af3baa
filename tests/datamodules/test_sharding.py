"""The evaluation sampler of a multi-process run: every clip once over the ranks, never padded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from torch.utils.data import DataLoader, DistributedSampler

from mer_contrast.datamodules.sharding import eval_sampler, unsharded
from mer_contrast.datasets.errors import DataSettingError


def on(processes: int, rank: int) -> SimpleNamespace:
    """A stand-in for the datamodule's trainer: what Lightning's DDP strategy tells a sampler."""
    return SimpleNamespace(distributed_sampler_kwargs={"num_replicas": processes, "rank": rank})


def test_one_process_keeps_the_plain_loader() -> None:
    assert eval_sampler(range(7), None, "test") is None
    assert eval_sampler(range(7), SimpleNamespace(distributed_sampler_kwargs=None), "test") is None
    assert eval_sampler(range(7), on(1, 0), "test") is None


def test_two_processes_share_seven_clips_without_a_repeat() -> None:
    shares = [list(eval_sampler(range(7), on(2, rank), "test") or []) for rank in (0, 1)]
    assert shares == [[0, 2, 4, 6], [1, 3, 5]]
    # torch's own sampler, which Lightning would put there, repeats clip 0 to even the shares.
    padded = [list(DistributedSampler(range(7), num_replicas=2, rank=r, shuffle=False)) for r in (0, 1)]
    assert sorted(padded[0] + padded[1]) == [0, 0, 1, 2, 3, 4, 5, 6]


def test_fewer_clips_than_processes_is_one_line_naming_the_fix() -> None:
    expected = r"the test split has 1 clip\(s\), fewer than the 2 processes"
    with pytest.raises(DataSettingError, match=expected) as err:
        eval_sampler(range(1), on(2, 1), "test")
    assert "--trainer.devices" in str(err.value) and "\n" not in str(err.value)


def test_unsharded_reads_every_clip_on_one_rank() -> None:
    plain = DataLoader(range(5), batch_size=2)
    assert unsharded(plain) is plain
    shard = DataLoader(range(5), batch_size=2, sampler=eval_sampler(range(5), on(2, 1), "test"))
    assert [int(x) for batch in shard for x in batch] == [1, 3]
    assert [int(x) for batch in unsharded(shard) for x in batch] == [0, 1, 2, 3, 4]
