"""Queue page (public): what is running (progress and ETA; cancelling ones until their worker stops), waiting,
failed (with the reason), just finished and just cancelled."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from common.display import md_escape
from common.i18n import t, table_headers
from common.timeutil import format_utc
from submissions.views import SubmissionRow, format_eta, queue_overview

st.title(t("queue.title"))
# Only organizers cancel (Moderation or Runs page, or the operator's ``eval cancel``); their names stay on the
# organizer pages, the public sees the role (queue.by_organizer).


def _note(row: SubmissionRow) -> str:
    held = row.needs_remote_code and not row.allow_remote_code and row.state == "submitted"
    notes = [t("queue.demo") if row.is_demo else "", t("queue.held") if held else ""]
    return " · ".join(n for n in notes if n)


def _table(title: str, records: list[dict[str, Any]], key: str, empty: str) -> None:
    """One section: its title with the row count, then the rows, or ``empty`` when there are none."""
    st.subheader(f"{title} ({len(records)})")
    if records:
        frame = pd.DataFrame(records)
        st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config=table_headers(frame.columns))
    else:
        st.caption(empty)


@st.fragment(run_every="15s")
def show_queue() -> None:
    """Redrawn every 15 s, so progress and ETA move without reloading the page."""
    overview = queue_overview()

    st.subheader(f"{t('queue.running')} ({len(overview.running)})")
    if not overview.running:
        st.caption(t("queue.nothing_running"))
    else:
        st.caption(t("queue.progress_note"))
    for row in overview.running:
        eta = format_eta(row.eta_seconds)
        parts = [t("queue.answers", done=row.progress_done, total=row.progress_total)]
        if row.task_progress:
            parts.append(t("queue.tasks_done", done=row.tasks_done, total=len(row.task_progress)))
        if row.cancelling:
            parts.insert(0, t("queue.cancelling"))
        elif row.progress_done == 0:
            parts.append(t("queue.starting"))
        elif eta:
            parts.append(t("queue.eta", eta=eta))
        status = " · ".join(parts)
        st.progress(min(1.0, row.progress),
                    text=f"#{row.submission_id} {md_escape(row.hub_id)} ({md_escape(row.precision)}"
                         f"{t('queue.demo_suffix') if row.is_demo else ''}) · {status}")

    _table(t("queue.waiting"), [
        {"position": position, "submission": r.submission_id, "model": r.hub_id, "revision": r.revision,
         "commit": r.commit_sha[:12], "precision": r.precision, "state": r.state, "note": _note(r),
         "submitted": format_utc(r.submitted_at)} for position, r in enumerate(overview.waiting, start=1)],
        "waiting", t("queue.empty"))
    _table(t("queue.failed"), [
        {"submission": r.submission_id, "model": r.hub_id, "commit": r.commit_sha[:12], "precision": r.precision,
         "reason": r.error_public or r.reason or "", "when": format_utc(r.updated_at or r.submitted_at)}
        for r in overview.failed], "failed", t("queue.no_failed"))
    _table(t("queue.finished"), [
        {"submission": r.submission_id, "model": r.hub_id, "commit": r.commit_sha[:12], "precision": r.precision,
         "note": _note(r), "finished": format_utc(r.updated_at or r.submitted_at)} for r in overview.finished],
        "finished", t("queue.no_finished"))
    _table(t("queue.cancelled"), [
        {"submission": r.submission_id, "model": r.hub_id, "commit": r.commit_sha[:12], "precision": r.precision,
         "by": t("queue.by_organizer"), "reason": r.reason or "", "cancelled": format_utc(r.updated_at or r.submitted_at)}
        for r in overview.cancelled], "cancelled", t("queue.no_cancelled"))


show_queue()
