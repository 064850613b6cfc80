"""A private suite full of canaries, evaluated for real, for the leak tests (spec section 8).

Every question, passage, option, cloze/label candidate, reference answer, answer point, source and item key holds
a unique canary string starting with :data:`CANARY`, and the evaluated model's every generated output is the
canary token :data:`OUTPUT_CANARY`, so a prompt, a raw output, a question card or an export that reaches a page
shows up as a hit. Two real tiny models (evaluator.engine.tiny_models) are evaluated by the real execute_run and
score_run: ``canary/model`` (submitted by :data:`SUBMITTER`; writes only the output canary) and
``letter/model`` (always "A"), so the compare page has questions they disagree on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.timeutil import utcnow
from evaluator.engine.execution import execute_run
from evaluator.engine.scoring import score_run
from evaluator.engine.units import create_run
from evaluator.benchmark.suites.importer import import_suite
from evaluator.tables import EvalRun, Suite
from evaluator.engine.tiny_models import build_tiny_model, build_tokenizer, folder_sha
from submissions.accounts import create_user
from submissions.tables import ModelEntry, Submission

CANARY = "Kanarie"  # every planted string starts with it; searching for it finds any of them, whole or cut
OUTPUT_CANARY = "KanarieOUT"
ORGANIZER, SUBMITTER, OTHER, PASSWORD = "canary-orga", "canary-sub", "canary-other", "Tq8#vL2!mZ9@wR4$"
TASKS = ("Med-Exam", "DDx-basic", "MedHG", "CHIP-CTC", "MedDG")
MED_EXAM_ITEMS = 12  # more than a page of the question browser, so its pagination has a page 2


def _canaries() -> "iter[str]":
    n = 0
    while True:
        n += 1
        yield f"{CANARY}{n:04d}"


def canary_items() -> list[dict]:
    """Items of five task kinds (single choice, multi choice, cloze, classification, open-ended) whose every
    text field is a canary (with a little Chinese around it, as real items have)."""
    c = _canaries()
    items = []
    for i in range(MED_EXAM_ITEMS):
        items.append({"id": next(c), "task": "Med-Exam", "passage": f"{next(c)} 病例", "question": f"{next(c)} 首选？",
                      "options": {x: f"{next(c)} 选项" for x in "ABCDE"}, "answer": ["AB"[i % 2]],
                      "answer_points": [], "source": next(c), "other": {}})
    items.append({"id": next(c), "task": "DDx-basic", "passage": f"{next(c)} 男性", "question": f"{next(c)} 诊断？",
                  "options": {x: f"{next(c)} 诊断" for x in "ABCDE"}, "answer": ["A"], "answer_points": [],
                  "source": next(c), "other": {}})
    candidates = [f"{next(c)}科" for _ in range(4)]
    items.append({"id": next(c), "task": "MedHG", "passage": "", "question": f"{next(c)} 挂哪个科？", "options": {},
                  "answer": [candidates[1]], "answer_points": [], "source": next(c),
                  "other": {"candidates": candidates}})
    labels = [f"{next(c)}类" for _ in range(3)]
    items.append({"id": next(c), "task": "CHIP-CTC", "passage": "", "question": f"{next(c)} 年龄18岁以上", "options": {},
                  "answer": labels[0], "answer_points": [], "source": next(c), "other": {"candidates": labels}})
    items.append({"id": next(c), "task": "MedDG", "passage": f"患者：{next(c)}", "question": f"{next(c)} 如何回复？",
                  "options": {}, "answer": f"{next(c)} 建议", "answer_points": [[next(c), next(c)], [next(c)]],
                  "source": next(c), "other": {}})
    return items


def write_suite(folder: Path) -> Path:
    """The canary items as project JSONL, one file per task."""
    folder.mkdir(parents=True, exist_ok=True)
    by_task: dict[str, list[dict]] = {}
    for item in canary_items():
        by_task.setdefault(item["task"], []).append(item)
    for task, items in by_task.items():
        (folder / f"{task}.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                                              encoding="utf-8")
    return folder


def build_models(root: Path) -> dict[str, Path]:
    """``canary``: a tiny model whose every generated token is OUTPUT_CANARY (one added token); ``letter``: always
    "A". Built once per test session (a few seconds)."""
    root.mkdir(parents=True, exist_ok=True)
    tokenizer_dir = root / "canary-tokenizer"
    tokenizer = build_tokenizer(tokenizer_dir)
    tokenizer.add_tokens([OUTPUT_CANARY])
    return {"canary": build_tiny_model(root / "canary", "letter", letter=OUTPUT_CANARY, tokenizer=tokenizer),
            "letter": build_tiny_model(root / "letter", "letter", letter="A")}


@dataclass
class CanarySite:
    suite_id: int
    suite_name: str
    runs: dict[str, int]  # "canary" / "letter" -> run id
    models: dict[str, int]  # "canary" / "letter" -> ModelEntry id
    hub_ids: dict[str, str]
    users: dict[str, int] = field(default_factory=dict)  # username -> id


def seed_canary_site(engine: Engine, suite_dir: Path, models: dict[str, Path]) -> CanarySite:
    """Accounts (an organizer, the canary model's submitter, another submitter), the canary suite imported with
    the default visibility (private) and active, and both models evaluated on it by the real evaluator."""
    users = {name: create_user(name, PASSWORD, organizer=name == ORGANIZER, engine=engine).id
             for name in (ORGANIZER, SUBMITTER, OTHER)}
    hub_ids = {"canary": "canary/model", "letter": "letter/model"}
    with Session(engine) as session:
        suite = import_suite(session, suite_dir, "canary-suite", activate=True)
        entries = {}
        for key, folder in models.items():
            entries[key] = ModelEntry(hub_id=hub_ids[key], commit_sha=folder_sha(folder), precision="float32",
                                      local_path=str(folder), params=200_000, license="apache-2.0")
            session.add(entries[key])
        session.flush()
        submitted = {key: Submission(model_id=entries[key].id, state="finished",
                                     submitter_id=users[SUBMITTER if key == "canary" else OTHER])
                     for key in models}
        session.add_all(submitted.values())
        session.flush()
        runs = {key: create_run(session, entries[key], suite, submission_id=submitted[key].id, tasks=list(TASKS)).id
                for key in models}
        session.commit()
        site = CanarySite(suite.id, suite.name, runs, {k: m.id for k, m in entries.items()}, hub_ids, users)
    for run_id in site.runs.values():
        execute_run(run_id, engine=engine)
        score_run(run_id, engine=engine)
        with Session(engine) as session:
            run = session.get(EvalRun, run_id)
            run.status, run.finished_at = "finished", utcnow()
            session.add(run)
            session.commit()
    return site


def suite_visibility(engine: Engine, suite_id: int) -> str:
    with Session(engine) as session:
        return session.exec(select(Suite.visibility).where(Suite.id == suite_id)).one()
