"""Audit log (organizers only): every organizer action, filterable, exportable as CSV or JSON lines."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pandas as pd
import streamlit as st

from submissions.audit import AuditFilter, as_rows, distinct_values, export_csv, export_jsonl, list_entries
from submissions.ui import require_organizer_page

require_organizer_page()
st.title("Audit log · 审计日志")

values = distinct_values()
cols = st.columns(4)
actor = cols[0].selectbox("Who", ["", *values["actor"]], format_func=lambda v: v or "anyone", key="actor")
action = cols[1].selectbox("Action", ["", *values["action"]], format_func=lambda v: v or "any", key="action")
target = cols[2].selectbox("Target", ["", *values["target_type"]], format_func=lambda v: v or "any", key="target")
since_day = cols[3].date_input("Since", value=None, key="since")
since = datetime.combine(since_day, time.min, tzinfo=timezone.utc) if since_day else None

entries = list_entries(AuditFilter(actor=actor, action=action, target_type=target, since=since))
st.caption(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, newest first.")
if entries:
    shown = [{k: "" if v is None else v for k, v in row.items()} for row in as_rows(entries)]  # not "None"
    for row in shown:  # to the second, as on the other pages (the exports keep full ISO times)
        row["at"] = row["at"][:19].replace("T", " ") + " UTC" if row["at"] else ""
    event = st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch", key="audit_table",
                         on_select="rerun", selection_mode="single-row",
                         column_config={"before": st.column_config.TextColumn(width="large"),
                                        "after": st.column_config.TextColumn(width="large")})
    picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if picked:  # long before/after values are cut in their cells: the selected entry in full
        entry = entries[picked[0]]
        st.markdown(f"**Entry {entry.id}** (select another row to see it)")
        before, after = st.columns(2)
        before.caption("before")
        before.json(entry.before or {}, expanded=True)
        after.caption("after")
        after.json(entry.after or {}, expanded=True)
    else:
        st.caption("Select a row to see its before and after values in full.")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    left, right = st.columns(2)
    left.download_button("Export CSV", export_csv(entries), file_name=f"medbench-audit-{stamp}.csv",
                         mime="text/csv", key="export_csv")
    right.download_button("Export JSON lines", export_jsonl(entries), file_name=f"medbench-audit-{stamp}.jsonl",
                          mime="application/x-ndjson", key="export_jsonl")
