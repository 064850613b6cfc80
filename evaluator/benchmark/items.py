"""The project's item format: what every importer produces, what suite files hold, what SuiteItem.data stores.

One JSON object per item (JSONL on disk):

    {"id": "medexam-001",            # unique within the suite
     "task": "Med-Exam",             # a name in evaluator.benchmark.tasks.TASKS
     "passage": "",                  # optional context: a case, a dialogue
     "question": "...",              # the stem, without the instruction and without the options
     "options": {"A": "...", ...},   # choice tasks (single, multi, yes/no): letter -> text, in original order
     "answer": ...,                  # see below; null = unscored (public test files)
     "answer_points": [["要点", "同义词", ...], ...],  # open-ended / record items: each point with synonyms
     "source": "...",                # source of truth: guideline, textbook chapter
     "other": {}}                    # anything else the importer kept

``answer`` by task kind: choice kinds -> list of letters (["B"], ["A", "C"]); cloze -> list of acceptable strings;
open-ended -> reference text; extraction -> list of dicts (task-specific fields, e.g. {"entity": .., "type": ..});
classification -> label string; record -> dict field -> text.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    task: str
    passage: str = ""
    question: str = Field(min_length=1)
    options: dict[str, str] = Field(default_factory=dict)
    answer: Any = None
    answer_points: list[list[str]] = Field(default_factory=list)
    source: str = ""
    other: dict[str, Any] = Field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return self.answer is not None
