"""The per-model "details" download of a public suite (as the Hugging Face leaderboards publish per model): one
JSON line per (item, option order) with the exact prompt, the raw output, the extracted answer, the verdict and
the error tags, read through the gate (``evaluator.item_access``), so a private suite's run yields PrivateItems.
"""
from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from evaluator.item_access import VISITOR, ItemData, RowData, Viewer, open_runs
from evaluator.benchmark.tasks import TASKS


def details_record(item: ItemData, row: RowData) -> dict[str, Any]:
    """One line of the download: the item's identity and reference, and what this order asked and got back."""
    spec = TASKS.get(item.task)
    return {
        "item": item.item_key, "task": item.task, "dimension": spec.dimension.value if spec else None,
        "order": row.order_index, "permutation": row.permutation, "prompt": row.prompt,
        "output": row.raw_output, "letter_scores": row.letter_scores or None,
        "extracted_answer": row.parsed_answer, "reference": item.data.get("answer"),
        "correct": row.correct, "score": row.score, "error_primary": row.error_primary,
        "error_tags": row.error_tags, "status": row.status, "error_message": row.error_message,
    }


def details_jsonl(session: Session, run_id: int, *, viewer: Viewer = VISITOR) -> bytes:
    """Every (item, order) of run ``run_id`` as UTF-8 JSON lines (Chinese kept readable), by item then order."""
    reader = open_runs(session, [run_id], viewer)
    lines = (json.dumps(details_record(item, row), ensure_ascii=False, default=str) + "\n"
             for item, rows in reader.all_rows(run_id) for row in rows)
    return "".join(lines).encode("utf-8")
