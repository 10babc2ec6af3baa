"""precompute under faults of the machine, not the data: full or read-only disks, dead workers, signals.

An environment fault stops the run with one line (:class:`EnvironmentFault`) instead of skipping every
clip; workers start from stdin or an unguarded script without running it again; Ctrl-C stops the
workers at once and kill -9 of the parent leaves none behind. Process cases run real processes and
send real signals; the file-system cases use a real tmpfs where this machine may mount one, and an
``OSError`` injected at the cache's write everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mer_contrast.clips import cache as cache_module
from mer_contrast.clips.cache import ClipCache
from mer_contrast.clips.errors import EnvironmentFault
from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.precompute import precompute
from mer_contrast.clips.prepare import ClipConfig

from .helpers import moving_clip, record_for, write_frames

REPO = Path(__file__).resolve().parents[2]
precompute_module = importlib.import_module(
    "mer_contrast.clips.precompute"
)  # the package exports the function
CFG = ClipConfig(
    num_frames=3, image_size=32, span="whole", flow=FlowConfig(nscales=3, warps=3, outer_iterations=5)
)

# A script as users write them. argv: data, cache, clips, side (px), frames. It appends a line to
# runs.txt each time its top level runs, writes its clips and prints the report, or the one-line fault
# with status 3. `{call}` is `run()` (no main guard) or the guarded call.
SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from tests.clips.helpers import moving_clip, record_for, write_frames
    from mer_contrast.clips.cache import ClipCache
    from mer_contrast.clips.errors import EnvironmentFault
    from mer_contrast.clips.flow import FlowConfig
    from mer_contrast.clips.precompute import precompute
    from mer_contrast.clips.prepare import ClipConfig

    def run():
        data, cache, clips, side, frames = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
        cfg = ClipConfig(num_frames=frames, image_size=side, span="whole", flow=FlowConfig(method="tvl1"))
        records = [
            record_for(write_frames(Path(data) / f"EP{{i:02d}}", moving_clip(frames, size=side, seed=i)),
                       clip_id=f"EP{{i:02d}}")
            for i in range(clips)
        ]
        print("prepared", flush=True)
        try:
            print(precompute(records, cfg, ClipCache(cache), workers=2, progress=False), flush=True)
        except EnvironmentFault as err:
            print(f"error: {{err}}", flush=True)
            sys.exit(3)

    with open(Path(sys.argv[1]) / "runs.txt", "a") as marker:
        marker.write("top level ran\\n")
    {{call}}
    """
).format(repo=str(REPO))
UNGUARDED = SCRIPT.replace("{call}", "run()")
GUARDED = SCRIPT.replace("{call}", 'if __name__ == "__main__":\n    run()')


def good_records(root: Path, count: int) -> list:
    return [
        record_for(write_frames(root / f"EP0{i}", moving_clip(5, size=32, seed=i)), clip_id=f"EP0{i}")
        for i in range(count)
    ]


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A real tmpfs at ``where`` (skips the test where this machine may not mount one)."""
    where.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True
    )
    if mount.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mount.stderr.strip()}); the injected-OSError test covers it"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def descendants(pid: int) -> set[int]:
    """Live processes under ``pid`` (children, grandchildren, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    result = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                result.add(pid)
    return result


def start_script(
    tmp_path: Path, clips: int = 2, side: int = 32, frames: int = 3, text: str = GUARDED
) -> subprocess.Popen[str]:
    script = tmp_path / "script.py"
    script.write_text(text)
    (tmp_path / "data").mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "data"), str(tmp_path / "cache"), str(clips), str(side),
         str(frames)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, cwd=tmp_path,
        preexec_fn=_as_from_a_terminal,
    )  # fmt: skip


def _as_from_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a run started in the background (``cmd &`` in a script) inherits
    SIGINT ignored, and Python then never raises KeyboardInterrupt, whatever the code under test does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_for_workers(proc: subprocess.Popen[str], count: int = 2) -> tuple[set[int], set[int]]:
    """Wait until the script prepares flow in ``count`` workers; returns (its process tree, the workers).

    The workers are the fork server's children, the script's grandchildren (the fork server and the
    resource tracker are its children).
    """
    assert proc.stdout is not None and proc.stdout.readline().strip() == "prepared"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tree = descendants(proc.pid)
        workers = set()
        for pid in tree:
            with contextlib.suppress(OSError):
                if parent_of(pid) != proc.pid:
                    workers.add(pid)
        if len(workers) >= count:
            return tree, workers
        time.sleep(0.05)
    raise AssertionError(f"workers did not start: {descendants(proc.pid)}")


# ---- the caller's script: stdin, no main guard ---------------------------------------------------
@pytest.mark.parametrize("how", ["stdin", "-c"])
def test_workers_start_from_stdin_and_python_c(tmp_path: Path, how: str) -> None:
    (tmp_path / "data").mkdir()
    source = ["-"] if how == "stdin" else ["-c", UNGUARDED]  # `python -c` has no file to re-import either
    run = subprocess.run(
        [sys.executable, *source, str(tmp_path / "data"), str(tmp_path / "cache"), "2", "32", "3"],
        input=UNGUARDED if how == "stdin" else None, capture_output=True, text=True, cwd=tmp_path,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "flow cache: 2 computed, 0 cached, 0 failed" in run.stdout, run.stdout + run.stderr
    assert "BrokenProcessPool" not in run.stdout + run.stderr


def test_unguarded_script_is_not_run_again_by_the_workers(tmp_path: Path) -> None:
    proc = start_script(tmp_path, text=UNGUARDED)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "flow cache: 2 computed, 0 cached, 0 failed" in out, out
    assert (tmp_path / "data" / "runs.txt").read_text().count("top level ran") == 1  # not once per worker


# ---- full, read-only and uncreatable cache folders ------------------------------------------------
def test_uncreatable_cache_folder_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    with pytest.raises(EnvironmentFault, match=r"a_file/cache: cannot create the clip cache folder") as err:
        ClipCache(tmp_path / "a_file" / "cache")
    assert "\n" not in str(err.value) and "cache_dir" in str(err.value)


@pytest.mark.parametrize("workers", [0, 2])
def test_disk_full_stops_the_run_instead_of_skipping_clips(tmp_path: Path, workers: int) -> None:
    records = good_records(tmp_path / "data", 6)
    with mounted_tmpfs(tmp_path / "small", "size=64k") as small:
        with pytest.raises(EnvironmentFault) as err:
            precompute(records, CFG, ClipCache(small / "cache"), workers=workers, progress=False)
        message = str(err.value)
        assert "cannot write to the flow cache" in message and "No space left on device" in message
        assert str(small / "cache") in message and "free space" in message and "\n" not in message
        for entry in (small / "cache").glob("*.npz"):  # what was written before the disk filled is valid
            assert ClipCache(small / "cache").get(entry.stem) is not None


def test_read_only_cache_folder_stops_before_any_clip(tmp_path: Path) -> None:
    records = good_records(tmp_path / "data", 2)
    with mounted_tmpfs(tmp_path / "ro", "ro,size=64k") as read_only:
        started = time.perf_counter()
        with pytest.raises(EnvironmentFault, match="Read-only file system") as err:
            precompute(records, CFG, ClipCache(read_only), workers=2, progress=False)
        assert str(read_only) in str(err.value) and time.perf_counter() - started < 30


def test_injected_write_error_is_a_fault_not_a_skipped_clip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = good_records(tmp_path / "data", 3)
    cache = ClipCache(tmp_path / "cache")
    cache.check_writable()
    calls = []

    def full_disk(handle: object, **arrays: np.ndarray) -> None:
        calls.append(1)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache_module.np, "savez", full_disk)
    with pytest.raises(EnvironmentFault, match=r"cache: cannot write to the flow cache \(No space left"):
        precompute(records, CFG, cache, workers=0, progress=False)
    assert len(calls) == 1  # stopped at the first failed write, not once per clip
    assert not list((tmp_path / "cache").glob(".*.tmp"))  # the temporary file is removed

    monkeypatch.setattr(
        cache_module.tempfile,
        "mkstemp",
        lambda **_: (_ for _ in ()).throw(PermissionError(13, "Permission denied")),
    )
    with pytest.raises(EnvironmentFault, match="Permission denied"):
        cache.check_writable()
    monkeypatch.setattr(cache_module.tempfile, "mkstemp", tempfile.mkstemp)


# ---- signals and dead processes ------------------------------------------------------------------
def test_ctrl_c_stops_the_workers_at_once_and_keeps_valid_entries(tmp_path: Path) -> None:
    proc = start_script(tmp_path, clips=40, side=112, frames=8)  # ~30 s of TV-L1 on 2 cores
    tree, _ = wait_for_workers(proc)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "cache").glob("*.npz")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole group
    sent = time.monotonic()
    out, _ = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - sent
    entries = list((tmp_path / "cache").glob("*.npz"))
    assert proc.returncode != 0 and "KeyboardInterrupt" in out, out
    # The bound (measured here: 0.1 s); finishing every clip would take ~30 s
    assert stopped_after < 2, f"took {stopped_after:.1f} s to stop"
    assert 1 <= len(entries) < 40
    assert all(ClipCache(tmp_path / "cache").get(e.stem) is not None for e in entries)
    time.sleep(1.5)
    assert not alive(tree), "a worker outlived Ctrl-C"


def test_kill_9_of_the_parent_leaves_no_worker(tmp_path: Path) -> None:
    proc = start_script(tmp_path, clips=40, side=112, frames=8)
    tree, _ = wait_for_workers(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(tree)
    for pid in left:  # do not leave them computing after a failure
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the parent died: {left}"


def test_a_dead_worker_stops_the_run_with_one_line(tmp_path: Path) -> None:
    proc = start_script(tmp_path, clips=40, side=112, frames=8)
    _, workers = wait_for_workers(proc)
    os.kill(min(workers), signal.SIGKILL)  # what the kernel's out-of-memory killer does
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3, out
    line = next(line for line in out.splitlines() if line.startswith("error:"))
    assert "a worker process died" in line and str(tmp_path / "cache") in line and "rerun to resume" in line
    assert "skipped" not in out


def test_no_process_pool_here_falls_back_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_semaphores(**_: object) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")  # what sem_open gives without /dev/shm

    monkeypatch.setattr(precompute_module, "ProcessPoolExecutor", no_semaphores)
    report = precompute(
        good_records(tmp_path / "data", 2), CFG, ClipCache(tmp_path / "cache"), progress=False
    )
    assert (report.computed, report.failed) == (2, [])
    notes = [r.getMessage() for r in caplog.records if "worker processes cannot start" in r.getMessage()]
    assert notes == ["flow precompute: worker processes cannot start here (OSError: [Errno 38] Function not "
                     "implemented); preparing in this process"]  # fmt: skip
