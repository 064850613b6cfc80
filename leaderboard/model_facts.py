"""Model facts from the card and config (``submissions.model_facts``, stored at intake in
``ModelEntry.card_data["facts"]``) as the leaderboard shows them: optional overview columns and the model page's
facts line. Every value came from a model card, so Markdown output goes through ``md_escape`` and a link is
offered only for an https URL (re-checked here, whatever was stored)."""
from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from common.display import md_escape
from submissions.model_facts import FACTS_KEY, https_url
from submissions.tables import ModelEntry

# optional overview columns (label -> frame column); not shown unless chosen
FACT_COLUMNS: dict[str, str] = {"Organisation": "organisation", "Base model": "base_model",
                                "Fine-tuning": "finetune", "Languages": "languages", "Context": "context_length"}


def facts_of(card_data: dict[str, Any] | None) -> dict[str, Any]:
    """The stored facts of a model ({} for models submitted before they were read, and demo models)."""
    facts = (card_data or {}).get(FACTS_KEY)
    return dict(facts) if isinstance(facts, dict) else {}


def _joined(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)


def fact_frame(session: Session, model_ids: list[int]) -> pd.DataFrame:
    """One row per model id: model_id, revision (the pinned commit SHA, for exports) and the FACT_COLUMNS' frame
    columns (text; context length a count)."""
    rows = session.execute(select(ModelEntry.id, ModelEntry.card_data, ModelEntry.commit_sha)
                           .where(ModelEntry.id.in_(model_ids))).all()
    records = []
    for model_id, card_data, commit_sha in rows:
        facts = facts_of(card_data)
        records.append({"model_id": model_id, "revision": commit_sha,
                        "organisation": _joined(facts.get("organisation")),
                        "base_model": _joined(facts.get("base_model")), "finetune": _joined(facts.get("finetune")),
                        "languages": _joined(facts.get("languages")), "context_length": facts.get("context_length")})
    frame = pd.DataFrame(records, columns=["model_id", "revision", *FACT_COLUMNS.values()])
    frame["context_length"] = pd.to_numeric(frame["context_length"], errors="coerce").astype("Int64")
    return frame


def with_model_facts(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """The ranking frame with the fact columns added (empty strings where a model has none)."""
    facts = fact_frame(session, [int(i) for i in frame["model_id"]]) if len(frame) else fact_frame(session, [])
    merged = frame.merge(facts, on="model_id", how="left")
    for column in ("organisation", "base_model", "finetune", "languages"):
        merged[column] = merged[column].fillna("")
    return merged


def fact_line(facts: dict[str, Any]) -> str:
    """The model page's facts line as escaped Markdown ('' when there are none)."""
    parts = [(label, _joined(facts.get(key))) for label, key in (
        ("organisation", "organisation"), ("base model", "base_model"), ("fine-tuning", "finetune"),
        ("languages", "languages"))]
    text = [f"{label} **{md_escape(value)}**" for label, value in parts if value]
    if isinstance(facts.get("context_length"), int):
        text.append(f"context **{facts['context_length']:,} tokens**")
    return " · ".join(text)


def fact_link(facts: dict[str, Any]) -> str | None:
    """The paper or homepage URL, only if it is a safe https URL."""
    return https_url(facts.get("link"))
