#!/usr/bin/env bash
# Download the wheels requirements/gpu.txt names into .whl/ (ignored by git), to carry to a lent GPU
# machine that reaches no registry. Run here, where PyPI is reachable; then see scripts/gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
.venv/bin/python -m pip download -q --no-deps -d .whl -r requirements/gpu.txt
du -sh .whl
