"""Queue page (public): what is running (progress and ETA; cancelling ones until their worker stops), waiting,
failed (with the reason), just finished and just cancelled."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from common.display import md_escape
from common.i18n import t
from common.timeutil import format_utc
from submissions.views import SubmissionRow, format_eta, queue_overview

st.title(t("queue.title"))
# Only organizers cancel (Moderation or Runs page, or the operator's ``eval cancel``); their names stay on the
# organizer pages, the public sees the role.
CANCELLED_BY = "organizer"


def _note(row: SubmissionRow) -> str:
    held = row.needs_remote_code and not row.allow_remote_code and row.state == "submitted"
    notes = ["demo model" if row.is_demo else "", "waiting for organizer review (remote code)" if held else ""]
    return " · ".join(n for n in notes if n)


def _table(title: str, records: list[dict[str, Any]], key: str, empty: str) -> None:
    """One section: its title with the row count, then the rows, or ``empty`` when there are none."""
    st.subheader(f"{title} ({len(records)})")
    if records:
        st.dataframe(pd.DataFrame(records), hide_index=True, width="stretch", key=key)
    else:
        st.caption(empty)


@st.fragment(run_every="15s")
def show_queue() -> None:
    """Redrawn every 15 s, so progress and ETA move without reloading the page."""
    overview = queue_overview()

    st.subheader(f"Running ({len(overview.running)})")
    if not overview.running:
        st.caption("Nothing is running right now.")
    else:
        st.caption("Progress counts answers: every question once per option order (choice questions are asked "
                   "under several orders). The time left is extrapolated from the answers so far.")
    for row in overview.running:
        eta = format_eta(row.eta_seconds)
        parts = [f"{row.progress_done}/{row.progress_total} answers"]
        if row.task_progress:
            parts.append(f"{row.tasks_done}/{len(row.task_progress)} tasks done")
        if row.cancelling:
            parts.insert(0, "cancelling: still running until the worker stops it")
        elif row.progress_done == 0:
            parts.append("starting: fetching and loading the model")
        elif eta:
            parts.append(f"about {eta} left")
        status = " · ".join(parts)
        st.progress(min(1.0, row.progress),
                    text=f"#{row.submission_id} {md_escape(row.hub_id)} ({md_escape(row.precision)}"
                         f"{', demo model' if row.is_demo else ''}) · {status}")

    _table("Waiting", [
        {"position": position, "submission": r.submission_id, "model": r.hub_id, "revision": r.revision,
         "commit": r.commit_sha[:12], "precision": r.precision, "state": r.state, "note": _note(r),
         "submitted": format_utc(r.submitted_at)} for position, r in enumerate(overview.waiting, start=1)],
        "waiting", "The queue is empty.")
    _table("Failed", [
        {"submission": r.submission_id, "model": r.hub_id, "commit": r.commit_sha[:12], "precision": r.precision,
         "reason": r.error_public or r.reason or "", "when": format_utc(r.updated_at or r.submitted_at)}
        for r in overview.failed], "failed", "No failed evaluations.")
    _table("Recently finished", [
        {"submission": r.submission_id, "model": r.hub_id, "commit": r.commit_sha[:12], "precision": r.precision,
         "note": _note(r), "finished": format_utc(r.updated_at or r.submitted_at)} for r in overview.finished],
        "finished", "Nothing finished yet.")
    _table("Recently cancelled", [
        {"submission": r.submission_id, "model": r.hub_id, "commit": r.commit_sha[:12], "precision": r.precision,
         "by": CANCELLED_BY, "reason": r.reason or "", "cancelled": format_utc(r.updated_at or r.submitted_at)}
        for r in overview.cancelled], "cancelled", "Nothing was cancelled.")


show_queue()
