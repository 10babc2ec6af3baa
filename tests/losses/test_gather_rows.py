"""Per-clip prediction rows gathered over 2 gloo processes come back in order, without sampler padding."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.multiprocessing as mp
from torch.utils.data import DistributedSampler

from mer_contrast.trainers.predictions import gather_rows

from .gloo import run_rank

CLIPS = [f"s{i % 2}/clip{i}" for i in range(5)]  # 5 clips over 2 ranks: the sampler pads one


def _body(rank: int, out_dir: str) -> None:
    sampler = DistributedSampler(CLIPS, num_replicas=2, rank=rank, shuffle=False)
    rows = [{"clip_id": CLIPS[i], "pred": i} for i in sampler]
    torch.save({"local": rows, "gathered": gather_rows(rows)}, Path(out_dir) / f"rank{rank}.pt")


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    run_rank(rank, 2, init_file, functools.partial(_body, out_dir=out_dir))


def test_gather_rows_restores_order_and_drops_padding(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    assert [len(r["local"]) for r in results] == [3, 3]  # padded with a repeat of clip 0
    for result in results:
        assert [row["clip_id"] for row in result["gathered"]] == CLIPS
        assert [row["pred"] for row in result["gathered"]] == list(range(5))


def test_gather_rows_single_process_is_identity() -> None:
    rows = [{"clip_id": "a", "pred": 0}]
    assert gather_rows(rows) == rows
