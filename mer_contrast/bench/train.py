"""Training benchmark: prints measured figures, asserts nothing (``mer-contrast bench train``).

Three sections, all on synthetic in-memory clips (T frames at S x S, flow T-1 frames, 2 channels) and
the real model: a two-stream ``TwoStreamVisual`` + ``MERContrastModule`` with the packaged frozen
MiniLM text tower (``TextTower("minilm")``, contrastive weight 0.5):

* ``throughput``: training clips/s and peak memory per backbone (compact, r3d18) and precision
  (32-true, bf16-mixed), through the Lightning ``Trainer``.
* ``text``: the frozen text tower's share of a training step, with and without its embedding cache.
* ``overhead``: our Lightning loop vs a plain PyTorch loop on the same model, data and steps.

Step times are the gaps between consecutive step ends after ``--warmup`` steps, so they include
data fetching and every hook. Peak memory is the peak resident-set growth during the run on CPU
(sampled with psutil when installed, else ``ru_maxrss``, a lifetime peak) and
``torch.cuda.max_memory_allocated`` on CUDA.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader, Dataset

from mer_contrast.bench.train_meters import PeakMemory, StepClock, TextTimer
from mer_contrast.datasets.records import ActionUnit
from mer_contrast.losses.contrastive import stable_text_ids
from mer_contrast.trainers.module import MERContrastModule

NUM_CLASSES = 5


class SyntheticClips(Dataset):
    """``length`` clips drawn from a pool of 16 random ones (memory stays small), with FACS texts."""

    def __init__(self, length: int, frames: int, size: int, texts: Sequence[str]) -> None:
        gen = torch.Generator().manual_seed(0)
        self.length = length
        self.pool = [
            {
                "rgb": torch.rand(frames, 3, size, size, generator=gen),
                "flow": torch.randn(frames - 1, 2, size, size, generator=gen),
                "label": torch.tensor(i % NUM_CLASSES),
                "subject": f"s{i % 4}",
                "clip_id": f"s{i % 4}/c{i}",
                "aus": str(i),
                "au_text": texts[i % len(texts)],
            }
            for i in range(16)
        ]
        self.texts = list(texts)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        # Vary the text beyond the 16-clip pool, like a dataset with many AU combinations.
        return {**self.pool[index % 16], "au_text": self.texts[index % len(self.texts)]}


def facs_texts(count: int) -> list[str]:
    """``count`` distinct FACS sentences of 1-3 AUs, as the datamodule produces them."""
    from mer_contrast.text.facs import AU_TABLE, describe_aus

    numbers = sorted(AU_TABLE)
    texts = []
    for i in range(count):
        aus = [ActionUnit(numbers[(i * step) % len(numbers)]) for step in (1, 7, 13)[: 1 + i % 3]]
        texts.append(describe_aus(aus))
    return texts


def build_module(backbone: str, texts: Sequence[str], text_cache: bool = True) -> MERContrastModule:
    """The benchmarked model; with the cache on, ``texts`` are embedded first (the steady state from
    the second epoch on, when every AU sentence of the training set has been seen)."""
    from mer_contrast.models import Compact3DCNN, ResNet3D18, TextTower, TwoStreamVisual

    if backbone == "compact":
        visual = TwoStreamVisual(Compact3DCNN(3), Compact3DCNN(2, input_norm="none"))
    elif backbone == "r3d18":
        visual = TwoStreamVisual(ResNet3D18(3), ResNet3D18(2, input_norm="none"))
    else:
        raise ValueError(f"unknown backbone {backbone!r}; use compact or r3d18")
    text = TextTower("minilm", cache_frozen=text_cache)
    if text_cache:
        text(texts)
    return MERContrastModule(visual, text, num_classes=NUM_CLASSES, scheduler="none", class_weights="none")


def loader(args: argparse.Namespace, texts: Sequence[str]) -> DataLoader:
    total = args.batch_size * (args.warmup + args.steps + 2)
    dataset = SyntheticClips(total, args.frames, args.size, texts)
    return DataLoader(dataset, batch_size=args.batch_size, shuffle=False, drop_last=True)


def run_lightning(
    module: MERContrastModule,
    args: argparse.Namespace,
    data: DataLoader,
    precision: str = "32-true",
    clock: StepClock | None = None,
) -> tuple[StepClock, PeakMemory]:
    clock = clock or StepClock(args.device, args.warmup, args.steps, args.min_seconds)
    trainer = Trainer(
        accelerator="gpu" if args.device == "cuda" else "cpu",
        devices=1,
        precision=precision,  # type: ignore[arg-type]
        max_steps=args.warmup + args.steps + 1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[clock],
    )
    with PeakMemory(args.device) as memory:
        trainer.fit(module, train_dataloaders=data)
    return clock, memory


def run_plain(module: MERContrastModule, args: argparse.Namespace, data: DataLoader) -> StepClock:
    """The same computation as ``training_step`` without Lightning: no metrics, no logging, no hooks."""
    device = torch.device(args.device)
    module.to(device).train()
    optimizer = module.configure_optimizers()
    model, objective = module.model, module.objective
    assert objective.contrastive_loss is not None  # the text side is what the comparison is about
    clock = StepClock(args.device, args.warmup, args.steps, args.min_seconds)
    for batch in data:
        rgb, flow, labels = batch["rgb"].to(device), batch["flow"].to(device), batch["label"].to(device)
        texts = list(batch["au_text"])
        ids = stable_text_ids(texts, device=device)
        loss, _ = objective(
            **model(rgb, flow, texts), labels=labels, text_ids=ids, classify_text=model.classify_embedding
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        model.clamp_logit_scale()
        if clock.tick():
            break
    return clock


def per_step(clock: StepClock, cpu: bool = False) -> float:
    return statistics.median(clock.step_times(cpu))


def throughput(args: argparse.Namespace, texts: Sequence[str]) -> None:
    print(
        f"\n== throughput: training clips/s and peak memory "
        f"(T={args.frames}, {args.size}x{args.size}, batch {args.batch_size})"
    )
    print(
        f"{'backbone':<9} {'precision':<11} {'steps':>5} {'s/step':>8} {'clips/s':>8} "
        f"{'CPU s/step':>10} {'peak MiB':>9}"
    )
    method = ""
    for backbone in args.backbones:
        for precision in args.precisions:
            torch.manual_seed(0)
            module = build_module(backbone, texts)
            clock, memory = run_lightning(module, args, loader(args, texts), precision)
            seconds, cpu_seconds = per_step(clock), per_step(clock, cpu=True)
            steps = len(clock.step_times())
            print(
                f"{backbone:<9} {precision:<11} {steps:>5} {seconds:>8.3f} "
                f"{args.batch_size / seconds:>8.2f} {cpu_seconds:>10.3f} {memory.peak_mib:>9.0f}",
                flush=True,
            )
            method = memory.method
            del module
    print(f"(peak memory: {method}; includes weights, gradients, optimizer state and activations)")


def text_share(args: argparse.Namespace, texts: Sequence[str]) -> None:
    from mer_contrast.models import TextTower

    print(
        f"\n== frozen MiniLM text tower: share of a training step (compact, 32-true, batch {args.batch_size})"
    )
    for cache in (True, False):
        torch.manual_seed(0)
        module = build_module("compact", texts, text_cache=cache)
        text = module.model.text
        assert isinstance(text, TextTower)
        clock = StepClock(args.device, args.warmup, args.steps, args.min_seconds)
        timer = TextTimer(text, clock, args.device)
        before = text.cache_info()
        run_lightning(module, args, loader(args, texts), clock=clock)
        steps = len(clock.step_times())
        window = clock.ends[-1] - clock.ends[args.warmup]
        misses = text.cache_info().misses - before.misses
        print(
            f"cache {'on ' if cache else 'off'}: {window / steps:.3f} s/step, text tower "
            f"{1000 * timer.total / steps:.1f} ms/step = {100 * timer.total / window:.1f} % of the step"
            + (f" ({misses} cache misses while training)" if cache else ""),
            flush=True,
        )


def overhead(args: argparse.Namespace, texts: Sequence[str]) -> None:
    print(
        f"\n== Lightning loop vs plain PyTorch loop (compact, 32-true, batch {args.batch_size}, same steps)"
    )
    torch.manual_seed(0)
    template = build_module("compact", texts)
    clocks: dict[str, list[StepClock]] = {"plain": [], "lightning": []}
    for _ in range(args.repeats):  # alternate, so load from other processes hits both alike
        clocks["plain"].append(run_plain(copy.deepcopy(template), args, loader(args, texts)))
        clocks["lightning"].append(run_lightning(copy.deepcopy(template), args, loader(args, texts))[0])
    kinds = [("wall", False)] + ([("CPU", True)] if args.device == "cpu" else [])
    for kind, cpu in kinds:
        best = {}
        for loop, runs in clocks.items():
            times = [per_step(c, cpu) for c in runs]
            best[loop] = min(times)
            print(
                f"{loop:<9} {kind:>4} {best[loop]:.4f} s/step (runs: {', '.join(f'{t:.4f}' for t in times)})"
            )
        change = 100 * (best["lightning"] - best["plain"]) / best["plain"]
        print(f"overhead {change:+.1f} % in {kind} time (best of {args.repeats} runs each)")
    if args.device == "cpu":
        print("(CPU time counts only this process's work, so it is the steadier figure on a shared machine)")


def run(args: argparse.Namespace) -> int:
    """Run the sections of ``mer-contrast bench train`` and print their figures; returns 0."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)  # no per-run banners between rows
    device = (
        torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    )
    print(f"mer-contrast training bench on {device}, torch {torch.__version__}")
    if args.device == "cpu" and hasattr(os, "getloadavg"):
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
        if load > 0.5 * cores:  # spinning OpenMP threads stall when another process holds a core
            print(
                f"note: load average {load:.1f} on {cores} cores; on a shared machine --threads 1 is steadier"
            )
    texts = facs_texts(64)
    sections = {"throughput": throughput, "text": text_share, "overhead": overhead}
    for name in args.sections:
        sections[name](args, texts)
    return 0
