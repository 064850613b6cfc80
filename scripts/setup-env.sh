#!/usr/bin/env bash
# Creates ./.venv (if missing) and installs the pinned CPU requirements into it, plus any extra requirement
# files given as arguments (the tests add requirements-ray.txt). A file whose exact content was installed
# before is skipped, so repeated starts cost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-requirements
touch "$stamp"
for f in requirements.txt "$@"; do
  sum="$(sha256sum "$f" | cut -d' ' -f1) $f"
  if ! grep -qxF "$sum" "$stamp"; then
    .venv/bin/python -m pip install --quiet -r "$f"
    echo "$sum" >> "$stamp"
  fi
done
