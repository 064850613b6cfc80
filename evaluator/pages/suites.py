"""Organizer page: the suites, an import preview (server folder/file or uploads) before committing, activation.

Organizers only: the page checks the role itself, because a direct URL bypasses the navigation.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape, plural
from common.db import session_scope
from evaluator.benchmark.suites.formats import FORMATS
from evaluator.benchmark.suites.importer import (
    activate_suite,
    activation_changes,
    import_suite,
    list_suites,
    missing_ranked_tasks,
)
from evaluator.benchmark.suites.preview import SuitePreview, preview_suite
from evaluator.benchmark.suites.problems import SuiteError
from evaluator.benchmark.suites.roots import check_import_path, import_roots
from evaluator.benchmark.suites.uploads import UPLOAD_SUFFIXES, discard_upload, new_upload_dir, stage_uploads
from evaluator.benchmark.tasks import CHOICE_KINDS, DIMENSION_LABELS, TASKS, Dimension
from submissions.ui import require_organizer_page
from evaluator.benchmark.suites.visibility import VISIBILITIES, set_visibility

user = require_organizer_page()
SERVER, UPLOAD = "Server folder or file", "Upload files"
NO_TASK = "(from the file name)"
VISIBILITY_HELP = ("private: public pages show aggregate scores only; questions, answers, prompts and model outputs "
                   "stay on organizer pages. public: they may be shown and exported. A new import is private unless "
                   "you choose public.")

st.title("Suites · 评测集")
if flash := st.session_state.pop("suite_flash", None):
    st.success(md_escape(flash))


def _show_errors(error: SuiteError) -> None:
    st.error(md_escape(error.summary) + "\n\n" + "\n".join(f"- {md_escape(p)}" for p in error.problems))


def _confirm_dropped(dropped: list[str], key: str) -> bool:
    """Where activating would drop tasks the leaderboard ranks on: list them and ask for a confirmation."""
    if not dropped:
        return False
    st.warning(f"This suite lacks {plural(len(dropped), 'task')} the leaderboard ranks on now: "
               + ", ".join(f"`{t}`" for t in dropped) + ". Activating it removes them from the ranking.")
    return st.checkbox("Activate anyway, dropping these tasks from the leaderboard", key=key)


def _show_changes(changes: dict, label: str) -> None:
    """What activating changes against the active suite: tasks and dimensions it lacks, tasks it adds, items."""
    if changes["active"] is None:
        st.markdown(f"No suite is active yet: **{md_escape(label)}** becomes the one the leaderboard ranks on.")
        return
    before, after = changes["items"]
    lines = [f"- items: {before} → {after}"]
    if changes["lacks_dimensions"]:
        lines.append("- dimensions it lacks (no task left): "
                     + ", ".join(DIMENSION_LABELS[d][0] for d in map(Dimension, changes["lacks_dimensions"])))
    if changes["lacks_tasks"]:
        lines.append(f"- tasks it lacks: {', '.join(map(md_escape, changes['lacks_tasks']))}")
    if changes["adds_tasks"]:
        lines.append(f"- tasks it adds: {', '.join(map(md_escape, changes['adds_tasks']))}")
    if not changes["lacks_tasks"] and not changes["adds_tasks"]:
        lines.append("- the same tasks")
    st.markdown(f"Compared with the active suite **{md_escape(changes['active'])}**:\n" + "\n".join(lines))


def _visibility_control(suites: list) -> None:
    """Make a stored suite public or private (audited with before and after)."""
    st.subheader("Visibility")
    st.caption(VISIBILITY_HELP)
    labels = {s.id: f"{s.id} · {s.name} · {s.version[:12]} ({s.visibility})" for s in suites}
    row = st.columns([3, 2, 1])
    chosen = row[0].selectbox("Suite", list(labels), format_func=labels.get, key="visibility_choice")
    wanted = row[1].radio("Visibility", list(VISIBILITIES), horizontal=True, key="visibility_value")
    if row[2].button("Change", key="visibility_change"):
        try:
            with session_scope() as session:
                changed = set_visibility(session, chosen, wanted, actor=user)
            st.session_state["suite_flash"] = f"Suite {changed.id} “{changed.name}” is {changed.visibility}."
            st.rerun()
        except SuiteError as error:
            _show_errors(error)


# --- stored suites and activation -----------------------------------------------------------------------------
with session_scope() as session:
    suites = list_suites(session)
if suites:
    st.dataframe(pd.DataFrame([{"id": s.id, "name": s.name, "version": s.version[:12], "items": s.item_count,
                                "visibility": s.visibility, "active": s.active, "imported": s.created_at}
                               for s in suites]),
                 hide_index=True, width="stretch")
    labels = {s.id: f"{s.id} · {s.name} · {s.version[:12]}{' (active)' if s.active else ''}" for s in suites}
    # no default: the newest import is not necessarily the one to rank on
    chosen = st.selectbox("Suite to activate", list(labels), format_func=labels.get, key="activate_choice",
                          index=None, placeholder="Choose a suite")
    chosen_suite = next((s for s in suites if s.id == chosen), None)
    if chosen_suite is not None and chosen_suite.active:
        st.caption("This suite is already the active one.")
    elif chosen_suite is not None:
        with session_scope() as session:
            changes = activation_changes(session, chosen_suite.id)
        _show_changes(changes, labels[chosen_suite.id])
        confirmed = _confirm_dropped(changes["lacks_tasks"], "activate_confirm") if changes["lacks_tasks"] else (
            st.checkbox(f"Yes, make {labels[chosen_suite.id]} the active suite", key="activate_confirm"))
        if st.button("Activate", key="activate"):
            if not changes["lacks_tasks"] and not confirmed:
                st.error("Tick the confirmation first: activating changes what the leaderboard ranks on.")
            else:
                try:
                    with session_scope() as session:
                        activated = activate_suite(session, chosen_suite.id, actor=user, force=confirmed)
                    st.session_state["suite_flash"] = (f"Active suite: {activated.name} ({activated.version[:12]}). "
                                                       "New runs use it.")
                    st.rerun()
                except SuiteError as error:
                    _show_errors(error)
    _visibility_control(suites)
else:
    st.info("No suites yet: import one below.")

# --- import: preview first, then commit ------------------------------------------------------------------------
st.header("Import a suite")
source = st.radio("Source", [SERVER, UPLOAD], horizontal=True, key="suite_source")
if source == SERVER:
    roots = import_roots()
    server_path = st.text_input("Folder or file on the server", key="suite_path",
                                placeholder=f"{roots[0]}/medbench (…/<Task>/<Task>.jsonl), a .csv, a .zip")
    st.caption("Import folders (MEDBENCH_IMPORT_ROOTS): " + ", ".join(f"`{root}`" for root in roots))
    uploads = []
else:
    server_path = ""
    uploads = st.file_uploader("Suite files", type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
                               accept_multiple_files=True, key="suite_uploads") or []
name = st.text_input("Suite name", key="suite_name", placeholder="medbench-2024")
fmt = st.selectbox("Format", FORMATS, key="suite_format", help="auto: detected per file")
choice_tasks = [n for n, spec in TASKS.items() if spec.kind in CHOICE_KINDS]
task = st.selectbox("Task for CSV files", [NO_TASK, *choice_tasks], key="suite_task")
activate_after = st.checkbox("Make it the active suite after import", key="suite_activate")


def _staged_path() -> str | None:
    """The path to preview: the server path, or a fresh folder holding this upload."""
    if source == SERVER:
        return str(check_import_path(server_path.strip())) if server_path.strip() else None
    if not uploads:
        return None
    discard_upload(st.session_state.pop("suite_upload_dir", None))
    folder = new_upload_dir()
    st.session_state["suite_upload_dir"] = str(folder)
    return str(stage_uploads(((f.name, f.getvalue()) for f in uploads), folder))


if st.button("Preview", key="preview"):
    try:
        path = _staged_path()
        if path is None:
            st.warning("Give a server path or upload files first.")
            st.session_state.pop("suite_preview", None)
        else:
            with session_scope() as session:
                st.session_state["suite_preview"] = preview_suite(
                    path, fmt=fmt, task=None if task == NO_TASK else task, session=session)
            st.session_state["suite_preview_options"] = {"fmt": fmt, "task": None if task == NO_TASK else task}
    except SuiteError as error:
        st.session_state.pop("suite_preview", None)
        _show_errors(error)

preview: SuitePreview | None = st.session_state.get("suite_preview")
if preview is not None:
    st.subheader("Preview")
    st.caption(f"Source: {md_escape(preview.source)} · formats: "
               + ", ".join(f"{md_escape(f)} ({md_escape(k)})" for f, k in preview.formats.items()))
    col_items, col_scored, col_version = st.columns(3)
    col_items.metric("Items", preview.item_count)
    col_scored.metric("Scored (have an answer)", preview.scored_count)
    col_version.metric("Version", preview.version[:12] if preview.version else "—")
    dims = preview.by_dimension()
    st.dataframe(pd.DataFrame([{"dimension": f"{DIMENSION_LABELS[d][0]} · {DIMENSION_LABELS[d][1]}",
                                 "items": dims[d.value]} for d in DIMENSION_LABELS]), hide_index=True, width="stretch")
    if preview.tasks:
        st.dataframe(pd.DataFrame(preview.table()), hide_index=True, width="stretch")
    if preview.skipped:
        st.caption("Skipped (not suite data): " + ", ".join(map(md_escape, preview.skipped)))
    if preview.problems:
        st.error(f"{plural(len(preview.problems), 'problem')}: nothing can be imported until every one is fixed.\n\n"
                 + "\n".join(f"- {md_escape(p)}" for p in preview.problems))
    if preview.existing_suite_id is not None:
        st.info(f"This content is already stored as suite {preview.existing_suite_id}; committing changes nothing.")
    visibility = st.radio("Visibility of the imported suite", list(VISIBILITIES), horizontal=True,
                          key="suite_visibility", help=VISIBILITY_HELP)
    import_confirmed = False
    if activate_after:
        with session_scope() as session:
            import_confirmed = _confirm_dropped(missing_ranked_tasks(session, (t.task for t in preview.tasks)),
                                                "import_activate_confirm")
    if st.button("Commit import", key="commit", type="primary", disabled=not preview.ok or not name.strip()):
        options = st.session_state.get("suite_preview_options", {})
        try:
            with session_scope() as session:
                suite = import_suite(session, preview.source, name, fmt=options.get("fmt", "auto"),
                                     task=options.get("task"), activate=activate_after,
                                     expected_version=preview.version, actor=user, force=import_confirmed,
                                     visibility=visibility)
            st.session_state.pop("suite_preview", None)
            discard_upload(st.session_state.pop("suite_upload_dir", None))
            st.session_state["suite_flash"] = (f"Imported suite {suite.id} “{suite.name}”: {suite.item_count} "
                                               f"items, version {suite.version[:12]}, {suite.visibility}.")
        except SuiteError as error:
            _show_errors(error)
        else:
            st.rerun()
    elif preview.ok and not name.strip():
        st.caption("Give the suite a name to commit.")
    if st.button("Cancel", key="cancel_preview"):
        st.session_state.pop("suite_preview", None)
        discard_upload(st.session_state.pop("suite_upload_dir", None))
        st.rerun()
