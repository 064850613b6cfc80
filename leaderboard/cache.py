"""The pages' only door to the database: cached read-API calls keyed on :func:`leaderboard.runs.data_version`.

Why keyed this way: the version token changes when a run finishes (or a model is hidden / flagged), so every
visitor gets fresh numbers right after the worker finishes, and identical requests in between cost nothing.
The token is cheap to compute (two aggregate queries) and itself cached for a few seconds.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from common.db import session_scope
from common.settings import get_settings
from evaluator.benchmark.protocols import OFFICIAL_PROTOCOL
from evaluator.item_access import Viewer, open_runs
from leaderboard import details, item_browser, model_facts, model_report, ranking, runs

VERSION_TTL_S = 5


@st.cache_data(ttl=VERSION_TTL_S, show_spinner=False)
def _version(database_url: str) -> str:
    with session_scope() as session:
        return runs.data_version(session)


def version() -> str:
    """The current data version (refreshed at most every few seconds)."""
    return _version(get_settings().resolved_database_url)


@st.cache_data(show_spinner=False, max_entries=8)
def suite_facts(data_version: str, suite_id: int | None = None) -> dict[str, Any] | None:
    with session_scope() as session:
        return runs.active_suite_facts(session, suite_id)


@st.cache_data(show_spinner=False, max_entries=8)
def leaderboard_frame(data_version: str, protocol: str = OFFICIAL_PROTOCOL,
                      suite_id: int | None = None) -> pd.DataFrame:
    """The ranking frame (of the active suite, or of suite ``suite_id``) with the model-fact columns
    (leaderboard.model_facts) the overview may show."""
    with session_scope() as session:
        return model_facts.with_model_facts(session, ranking.leaderboard_frame(session, protocol, suite_id))


@st.cache_data(show_spinner=False, max_entries=32)
def task_frame(data_version: str, dimension: str, protocol: str = OFFICIAL_PROTOCOL,
               suite_id: int | None = None) -> pd.DataFrame:
    with session_scope() as session:
        return ranking.task_frame(session, dimension, protocol, suite_id)


@st.cache_data(show_spinner=False, max_entries=8)
def ranked_suites(data_version: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        return runs.ranked_suites(session)


def resolve_suite(ref: str) -> dict[str, Any]:
    """The suite a ``?suite=`` value names, as facts; raises runs.SuiteNotFound (not cached: cheap, and an
    error is not a value)."""
    with session_scope() as session:
        suite = runs.resolve_suite(session, ref)
        return {"id": suite.id, "name": suite.name, "version": suite.version, "active": suite.active}


@st.cache_data(show_spinner=False, ttl=60, max_entries=256)
def history(data_version: str, model_id: int) -> list[dict[str, Any]]:
    """A model's scores on every suite version and evaluator version (evaluator.score_history). A re-scoring
    does not change the data version, hence the short time-to-live."""
    from evaluator.score_history import model_history

    with session_scope() as session:
        return model_history(session, model_id)


@st.cache_data(show_spinner=False, max_entries=256)
def report(data_version: str, ref: str, protocol: str | None = None) -> model_report.ModelReport:
    """The model report (``protocol`` None: the official protocol's run, else the model's other one); raises
    ModelNotFound (not cached) when ``ref`` names no public model."""
    with session_scope() as session:
        return model_report.model_report(session, ref, protocol)


def _gate(run_ids: tuple[int, ...], organizer: bool) -> None:
    """Ask the gate (evaluator.item_access) on every call, outside the cache: a suite made private a moment ago
    must not keep serving item pages cached while it was public. Raises PrivateItems."""
    with session_scope() as session:
        open_runs(session, list(run_ids), Viewer(organizer))


@st.cache_data(show_spinner=False, max_entries=512)
def _item_page(data_version: str, run_id: int, flt: item_browser.ItemFilter, page: int, page_size: int,
               organizer: bool) -> item_browser.ItemPage:
    with session_scope() as session:
        return item_browser.browse_items(session, run_id, flt, page, page_size, viewer=Viewer(organizer))


def item_page(data_version: str, run_id: int, flt: item_browser.ItemFilter, page: int, page_size: int,
              organizer: bool = False) -> item_browser.ItemPage:
    """One page of the question browser; PrivateItems on a private suite unless ``organizer``."""
    _gate((run_id,), organizer)
    return _item_page(data_version, run_id, flt, page, page_size, organizer)


@st.cache_data(show_spinner=False, max_entries=256)
def _tag_counts(data_version: str, run_id: int, organizer: bool) -> dict[str, int]:
    with session_scope() as session:
        return item_browser.tag_counts(session, run_id, viewer=Viewer(organizer))


def tag_counts(data_version: str, run_id: int, organizer: bool = False) -> dict[str, int]:
    """Rows per error tag of a run (the browser's caption); PrivateItems on a private suite unless ``organizer``."""
    _gate((run_id,), organizer)
    return _tag_counts(data_version, run_id, organizer)


@st.cache_data(show_spinner=False, max_entries=128)
def _disagreements(data_version: str, run_ids: tuple[int, ...], page: int, page_size: int, task: str | None,
                   organizer: bool) -> tuple[int, list[Any]]:
    with session_scope() as session:
        return item_browser.disagreements(session, list(run_ids), page, page_size, task, viewer=Viewer(organizer))


def disagreements(data_version: str, run_ids: tuple[int, ...], page: int, page_size: int, task: str | None,
                  organizer: bool = False) -> tuple[int, list[Any]]:
    """The compare page's disagreements; PrivateItems when a run is on a private suite unless ``organizer``."""
    _gate(run_ids, organizer)
    return _disagreements(data_version, run_ids, page, page_size, task, organizer)


def details_jsonl(run_id: int, organizer: bool = False) -> bytes:
    """The per-model details download (built on click, not cached: it can be large); PrivateItems on a private
    suite unless ``organizer``."""
    with session_scope() as session:
        return details.details_jsonl(session, run_id, viewer=Viewer(organizer))


@st.cache_data(show_spinner=False, ttl=60, max_entries=8)
def agreement(data_version: str) -> dict[str, Any] | None:
    """Automatic-vs-human tag agreement (evaluator.benchmark.agreement); None when no review exists yet. Reviews do not
    change the data version, hence the short time-to-live."""
    from evaluator.benchmark.agreement import agreement_summary

    with session_scope() as session:
        summary = agreement_summary(session)
    return summary if summary.get("n_reviewed") else None


@st.cache_data(show_spinner=False, max_entries=16)
def reference_lines(suite_id: int, k: int) -> dict[str, Any]:
    """Chance levels and pass lines per task (evaluator.benchmark.reference_lines). A suite's items never change (its
    version is their hash), so the suite id and K are the whole key."""
    from evaluator.benchmark.reference_lines import suite_reference_lines

    with session_scope() as session:
        return suite_reference_lines(session, suite_id, k)
