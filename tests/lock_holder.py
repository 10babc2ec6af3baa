"""A second process that holds a folder's lock (:func:`mer_contrast.files.folder_lock`) until killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HOLDER = """
import sys, time
from mer_contrast.files import folder_lock
with folder_lock(sys.argv[1], lock_name=sys.argv[2], command=sys.argv[3]):
    print("held", flush=True)
    time.sleep(120)
"""


def hold_in_another_process(folder: Path, command: str, lock_name: str = ".lock") -> subprocess.Popen[str]:
    """Start the holder and return once it holds ``folder/lock_name`` (kill it to let go)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), lock_name, command],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder
