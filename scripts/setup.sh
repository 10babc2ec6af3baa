#!/usr/bin/env bash
# Idempotent set-up: one virtual environment in .venv, pinned by requirements/lock.txt.
# Usage: bash scripts/setup.sh [--dev]   (a second run with unchanged pins takes a second)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="[landmarks]"   # dlib's landmarks: the released CASME II, SAMM and MMEW configs align faces with them
[ "${1:-}" = "--dev" ] && extra="[dev]"   # dev includes landmarks
stamp=".venv/.setup-stamp"
want="$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -c1-16)${extra}"
if [ -f "$stamp" ] && grep -qxF -- "$want" "$stamp"; then
    exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q -c requirements/lock.txt torch
.venv/bin/python -m pip install -q -c requirements/lock.txt -e ".${extra}"
echo "$want" >> "$stamp"
