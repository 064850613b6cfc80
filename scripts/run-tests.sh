#!/usr/bin/env bash
# Sets up and runs the whole test-suite: installs the system packages the tests use (PostgreSQL server,
# Chromium, CJK fonts) when missing, creates ./.venv with the pinned requirements, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash scripts/setup-env.sh requirements-ray.txt
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile -q "$@"
