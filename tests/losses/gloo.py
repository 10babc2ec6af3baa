"""Running a function on each of a few gloo CPU processes, as the multi-GPU tests do."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

import torch.distributed as dist


def run_rank(rank: int, world: int, init_file: str, body: Callable[[int], None]) -> None:
    """``body(rank)`` inside a gloo process group of ``world`` processes; never returns.

    Both ranks meet at a barrier before teardown, and the process leaves with ``os._exit``: tearing
    torch's C++ threads down at interpreter exit aborts now and then ("terminate called without an
    active exception", SIGABRT) after the work is done and saved. An exception prints its traceback
    and exits 1, which ``torch.multiprocessing.spawn`` reports.
    """
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        body(rank)
        dist.barrier()
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    dist.destroy_process_group()
    os._exit(0)
