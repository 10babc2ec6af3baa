"""2 CPU processes (gloo) reproduce the 1-process full-batch contrastive loss and its gradients.

Convention checked (see mer_contrast.losses.contrastive): each rank's loss is the mean over its own
rows scored against all gathered columns; the mean of the per-rank losses is the full-batch loss; the
all-gather backward sums gradients into the producing rank, so an input feature's gradient on its rank
is W x the 1-process gradient, and DDP's averaging of parameter gradients (emulated here with
all_reduce / W) gives exactly the 1-process gradients of shared weights and of ``logit_scale`` (a
parameter of the model, as ``MERRecognizer.logit_scale``, handed to the loss with the features).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mer_contrast.losses import ContrastiveLoss

from .gloo import run_rank

WORLD = 2
BATCH = 4  # per rank
MODES = ("pairs", "text", "label")
# Duplicates within and across ranks, so the positives mask must come from the gathered ids.
TEXT_IDS = torch.tensor([0, 1, 0, 2, 1, 3, 0, 3])
LABELS = torch.tensor([0, 1, 2, 1, 1, 0, 2, 2])


def _problem(mode: str) -> tuple[torch.Tensor, torch.Tensor, torch.nn.Linear, torch.nn.Parameter]:
    """Same full batch and weights on every process."""
    torch.manual_seed(1234)
    visual_in = torch.randn(WORLD * BATCH, 6)
    text_in = torch.randn(WORLD * BATCH, 5)
    proj = torch.nn.Linear(6, 5)  # a shared "tower": its gradient is what DDP averages
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.1)))  # replicated, as DDP keeps it
    return visual_in, text_in, proj, logit_scale


def _run(mode: str, rows: slice) -> dict[str, torch.Tensor]:
    visual_in, text_in, proj, logit_scale = _problem(mode)
    loss_fn = ContrastiveLoss(positives=mode)  # type: ignore[arg-type]
    visual = visual_in[rows].clone().requires_grad_(True)
    text = text_in[rows].clone().requires_grad_(True)
    loss = loss_fn(proj(visual), text, logit_scale, text_ids=TEXT_IDS[rows], labels=LABELS[rows])
    loss.backward()
    return {
        "loss": loss.detach(),
        "visual_grad": visual.grad,
        "text_grad": text.grad,
        "proj_grad": proj.weight.grad,
        "scale_grad": logit_scale.grad,
    }


def _body(rank: int, out_dir: str) -> None:
    results = {}
    for mode in MODES:
        out = _run(mode, slice(rank * BATCH, (rank + 1) * BATCH))
        for key in ("proj_grad", "scale_grad"):  # what DDP does to replicated parameters
            dist.all_reduce(out[key])
            out[key] /= WORLD
        results[mode] = out
    torch.save(results, Path(out_dir) / f"rank{rank}.pt")


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    run_rank(rank, WORLD, init_file, functools.partial(_body, out_dir=out_dir))


def test_two_processes_match_one_process(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    for mode in MODES:
        full = _run(mode, slice(None))
        per_rank = [r[mode] for r in ranks]
        mean_loss = torch.stack([r["loss"] for r in per_rank]).mean()
        torch.testing.assert_close(mean_loss, full["loss"], msg=f"{mode}: loss")
        for key in ("visual_grad", "text_grad"):
            gathered = torch.cat([r[key] for r in per_rank]) / WORLD
            torch.testing.assert_close(gathered, full[key], msg=f"{mode}: {key}")
        for key in ("proj_grad", "scale_grad"):
            for r in per_rank:
                torch.testing.assert_close(r[key], full[key], msg=f"{mode}: {key}")
        # A rank's loss alone is not the global loss (it only holds its rows).
        assert not torch.allclose(per_rank[0]["loss"], full["loss"])
