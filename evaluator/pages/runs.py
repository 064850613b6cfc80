"""Organizer page: every run with its progress, lease and heartbeat; one run's per-task progress, log, traceback,
run spec and environment; and a cancel button (a pending run ends at once, a running one within seconds).

Organizers only: the page checks the role itself, because a direct URL bypasses the navigation.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape, plural
from common.timeutil import format_utc
from evaluator.ops.leases import LeaseError
from evaluator.ops.run_admin import ACTIVE_STATUSES, RUN_STATUSES, cancel_run, get_run_detail, list_runs
from submissions.accounts import NotAuthorized
from submissions.ui import require_organizer_page
from submissions.views import format_eta

user = require_organizer_page()


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    """A time to the second with its zone (the table's CSV download too), blank when unset (not 'None')."""
    return format_utc(moment)


st.title("Runs · 评测任务")
if flash := st.session_state.pop("runs_flash", None):
    st.success(md_escape(flash))

statuses = st.multiselect("Status", RUN_STATUSES, default=list(RUN_STATUSES), key="runs_status")
runs = list_runs(statuses or RUN_STATUSES)
if not runs:
    st.info("No runs yet. The worker creates one for each approved submission.")
    st.stop()

active = sum(r.status in ACTIVE_STATUSES for r in runs)
st.caption(f"{plural(len(runs), 'run')} shown, {active} pending or running.")
st.dataframe(
    pd.DataFrame([{
        "run": r.id, "model": r.model, "submission": r.submission_id,
        "status": "cancelling" if r.cancel_requested and r.status in ACTIVE_STATUSES else r.status,
        "progress": f"{r.progress_done}/{r.progress_total}", "ETA": format_eta(r.eta_seconds) if r.status == "running"
        else "", "attempts": r.attempts, "worker": r.lease_owner or "",
        "heartbeat (s ago)": f"{r.heartbeat_age_s:.1f}" if r.heartbeat_age_s is not None else "",
        "started": _when(r.started_at), "finished": _when(r.finished_at), "reason": r.error_public or "",
    } for r in runs]),
    hide_index=True, width="stretch",
)

labels = {r.id: f"run {r.id} · {r.model} · {r.status}" for r in runs}
chosen = st.selectbox("Run", list(labels), format_func=labels.get, key="runs_choice")
detail = get_run_detail(chosen)
if detail is None:
    st.warning(f"Run {chosen} no longer exists.")
    st.stop()
row = detail.row

left, middle, right = st.columns(3)
left.metric("Status", row.status)
middle.metric("Progress", f"{row.progress_done}/{row.progress_total}")
right.metric("Attempts", row.attempts)
if row.progress_total:
    eta = format_eta(row.eta_seconds) if row.status == "running" else ""
    # the count is in the Progress metric above: the bar says the share and the time left
    st.progress(min(1.0, row.progress_done / row.progress_total),
                text=f"{row.progress_done / row.progress_total:.0%} done" + (f" · about {eta} left" if eta else ""))
if row.error_public:
    st.error(f"Reason shown publicly: {md_escape(row.error_public)}")
if row.cancel_requested and row.can_cancel:
    st.warning("Cancel requested: the worker stops this run within seconds (at its next batch).")

if row.can_cancel and st.button(f"Cancel run {row.id}", key="cancel_run", type="primary",
                                disabled=row.cancel_requested, help="Already requested" if row.cancel_requested
                                else None):
    try:
        st.session_state["runs_flash"] = cancel_run(user.id, row.id)
        st.rerun()
    except (LeaseError, NotAuthorized) as exc:
        st.error(md_escape(exc))

tabs = st.tabs(["Progress per task", "Log", "Traceback", "Run spec", "Environment"])
with tabs[0]:
    if detail.progress_detail:
        st.dataframe(pd.DataFrame([{"task": task, "done": done, "total": total}
                                   for task, (done, total) in sorted(detail.progress_detail.items())]),
                     hide_index=True, width="stretch")
    else:
        st.caption("No progress recorded yet.")
with tabs[1]:
    st.code(detail.log or "(empty)", language=None)
with tabs[2]:
    if detail.error_detail:
        st.code(detail.error_detail, language=None)
    else:
        st.caption("No failure recorded.")
with tabs[3]:
    st.caption(f"Suite version {detail.suite_version} · scored by evaluator {detail.evaluator_version}")
    st.markdown("**Run spec: what determines the numbers**")
    st.json(detail.run_spec)
    st.markdown("**Execution spec: how it ran** (backend, device, tensor parallelism, batch policy, placement)")
    st.json(detail.execution_spec)
with tabs[4]:
    st.json(detail.environment)
