#!/usr/bin/env bash
# Sets up and starts the whole site: the Streamlit app on http://localhost:8501 and the evaluator worker,
# on an embedded SQLite database, with the bundled demo suite and demo models. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
export PYTHONUNBUFFERED=1
.venv/bin/python cli.py init-db
.venv/bin/python cli.py eval bootstrap-demo
.venv/bin/python -m evaluator.ops.worker &
worker=$!
.venv/bin/python -m streamlit run app.py --server.port "${PORT:-8501}" --server.headless true \
  --browser.gatherUsageStats false &
app=$!
stop() { kill -TERM "$app" "$worker" 2>/dev/null || true; wait "$app" "$worker" 2>/dev/null || true; exit 0; }
trap stop INT TERM
echo "MedBench Leaderboard: http://localhost:${PORT:-8501}  (worker pid $worker; Ctrl-C stops both)"
wait -n "$app" "$worker" || true
stop
