"""Evaluation results written straight into the storage layer, in the shapes docs/architecture.md fixes.

Why: the leaderboard's tests and benchmarks must not wait for (or depend on the speed of) the evaluator. This
module plays the evaluator's part: a suite with items of every task kind, models, finished runs with every
(item, option order) row, error tags, task scores, dimension scores and the overall row, all seeded so that
the same arguments always give the same database. It knows nothing about the leaderboard package.

``seed_demo_results(session)`` builds a small, varied database for tests; ``bulk_seed(engine, ...)`` builds the
1,000-model / 2-million-row database of bench/bench_render.py with chunked bulk inserts.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from evaluator.benchmark.items import Item
from evaluator import EVALUATOR_VERSION
from evaluator.engine.spec import build_specs
from evaluator.tables import DimensionScore, EvalRun, ItemResult, Suite, SuiteItem, SuiteTask, TaskScore
from evaluator.benchmark.tasks import CHOICE_KINDS, TASKS, Dimension, Kind, TaskSpec
from evaluator.benchmark.taxonomy import CATEGORIES
from submissions.tables import ModelEntry, Submission

# Which categories a wrong answer gets in each dimension (weights), roughly the paper's picture: omissions
# dominate reasoning, hallucination dominates generation.
_TAG_WEIGHTS: dict[str, list[float]] = {
    Dimension.KNOWLEDGE: [45, 20, 10, 5, 8, 5, 5, 2],
    Dimension.UNDERSTANDING: [40, 15, 25, 2, 8, 5, 5, 0],
    Dimension.GENERATION: [10, 64, 5, 1, 5, 3, 2, 10],
    Dimension.REASONING: [80, 5, 3, 8, 2, 1, 1, 0],
    Dimension.SAFETY: [20, 10, 5, 5, 50, 5, 5, 0],
}
BASE_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@dataclass
class ModelProfile:
    """How a seeded model behaves and how it is listed."""

    hub_id: str
    skill: float = 0.6  # probability of a right answer / typical open-ended score
    bias_letter: str | None = None  # shown letter it drifts to when unsure (position bias)
    precision: str = "bfloat16"
    model_type: str = "chat"
    license: str | None = "apache-2.0"
    params: int | None = 7_000_000_000
    is_demo: bool = False
    hidden: bool = False
    flag_reason: str | None = None
    seed: int = 0


# ---------------------------------------------------------------- suite
def make_item(task: TaskSpec, index: int, scored: bool = True) -> Item:
    """One item of ``task`` in the project item format, following the answer shapes of each task kind."""
    key = f"{task.name.lower()}-{index:04d}"
    stem = (f"{task.description or task.name} 第{index + 1}题：患者，男，{40 + index % 30}岁，"
            f"反复胸痛{index % 7 + 1}天。")
    options: dict[str, str] = {}
    answer: Any
    points: list[list[str]] = []
    other: dict[str, Any] = {}
    if task.kind in (Kind.SINGLE_CHOICE,):
        options = {letter: f"选项{letter}{index}" for letter in "ABCDE"}
        answer = ["ABCDE"[index % 5]]
    elif task.kind == Kind.YES_NO:
        options = {"A": "是", "B": "否"}
        answer = ["A" if index % 2 == 0 else "B"]
    elif task.kind == Kind.MULTI_CHOICE:
        letters = "ABCDE" if task.name == "DDx-basic" else "ABCDEFGHI"
        options = {letter: f"诊断{letter}{index}" for letter in letters}
        answer = sorted({letters[index % len(letters)], letters[(index + 2) % len(letters)]})
    elif task.kind == Kind.CLOZE:
        other = {"candidates": ["心内科", "呼吸内科", "消化内科", "神经内科"]}
        answer = ["心内科", "心血管内科"]
    elif task.kind == Kind.CLASSIFICATION:
        other = {"candidates": ["Disease", "Symptom", "Age", "Therapy"]}
        answer = "Disease"
    elif task.kind == Kind.EXTRACTION:
        answer = [{"entity": "胸痛", "type": "临床表现"}, {"entity": "冠心病", "type": "疾病"}]
    elif task.kind == Kind.RECORD:
        answer = {"主诉": "胸痛3天", "现病史": "活动后加重", "既往史": "高血压"}
        points = [["胸痛"], ["活动后加重", "劳累后加重"], ["高血压"]]
    else:
        answer = "考虑急性冠脉综合征，建议心电图及心肌酶检查。"
        points = [["急性冠脉综合征", "ACS"], ["心电图"], ["心肌酶", "肌钙蛋白"]]
    return Item(id=key, task=task.name, question=stem, options=options, answer=answer if scored else None,
                answer_points=points, source="seed")


def create_suite(session: Session, name: str = "seed", items_per_task: int = 3, unscored_per_task: int = 0,
                 active: bool = True, visibility: str = "public") -> tuple[Suite, list[SuiteItem]]:
    """A suite with ``items_per_task`` items of every registered task (the last ``unscored_per_task`` unscored);
    public by default, as its made-up items are meant to be browsed."""
    suite = Suite(name=name, version=f"{name}-v{items_per_task}-{unscored_per_task}", item_count=0, active=active,
                  description="seeded suite (bench/seed_results.py)", source="seed", visibility=visibility)
    session.add(suite)
    session.flush()
    items: list[SuiteItem] = []
    for task in TASKS.values():
        scored = items_per_task - unscored_per_task
        for index in range(items_per_task):
            item = make_item(task, index, scored=index < scored)
            items.append(SuiteItem(suite_id=suite.id, task=task.name, item_key=item.id, data=item.model_dump()))
        session.add(SuiteTask(suite_id=suite.id, name=task.name, dimension=task.dimension.value,
                              kind=task.kind.value, metric=task.metric, item_count=items_per_task,
                              scored_count=scored))
    session.add_all(items)
    suite.item_count = len(items)
    session.flush()
    return suite, items


# ---------------------------------------------------------------- rows
def _prompt(task: TaskSpec, item: dict[str, Any], permutation: list[str]) -> str:
    options = "\n".join(f"{'ABCDEFGHI'[i]}. {item['options'][key]}" for i, key in enumerate(permutation))
    body = f"{task.instruction}\n{item['question']}"
    return f"<|im_start|>user\n{body}\n{options}<|im_end|>\n<|im_start|>assistant\n" if options else \
        f"<|im_start|>user\n{body}<|im_end|>\n<|im_start|>assistant\n"


def _tag(rng: random.Random, dimension: str) -> str:
    return rng.choices(CATEGORIES, weights=_TAG_WEIGHTS[dimension])[0]


def item_rows(run_id: int, item: SuiteItem, profile: ModelProfile, rng: random.Random, k: int = 5,
              now: datetime = BASE_TIME) -> list[dict[str, Any]]:
    """Every (item, order) row one run stores for ``item``, as column dicts for a bulk insert."""
    task = TASKS[item.task]
    data = item.data
    gold = data.get("answer")
    rows: list[dict[str, Any]] = []
    base = {"run_id": run_id, "item_id": item.id, "task": task.name, "dimension": task.dimension.value,
            "status": "ok", "error_message": None, "created_at": now}
    if task.kind in CHOICE_KINDS:
        keys = list(data["options"])
        orders = [keys] + [rng.sample(keys, len(keys)) for _ in range(k - 1)]
        sure = rng.random() < profile.skill  # a model that knows the item answers it under most orders
        for order_index, permutation in enumerate(orders):
            letters = "ABCDEFGHI"[: len(keys)]
            right = gold is not None and (sure if rng.random() < 0.9 else not sure)
            if right:
                chosen = list(gold)
            elif profile.bias_letter and profile.bias_letter in letters:
                chosen = [permutation[letters.index(profile.bias_letter)]]
            else:
                chosen = [rng.choice(keys)]
            if task.kind == Kind.MULTI_CHOICE and not right and gold and rng.random() < 0.6:
                chosen = list(gold)[:1]  # an omission: too few options
            chosen = sorted(set(chosen))
            correct = None if gold is None else chosen == sorted(gold)
            shown = "".join(sorted(letters[permutation.index(key)] for key in chosen))
            primary = None if correct in (True, None) else _tag(rng, task.dimension.value)
            jaccard = None if gold is None else len(set(chosen) & set(gold)) / len(set(chosen) | set(gold))
            rows.append({**base, "order_index": order_index, "permutation": permutation,
                         "prompt": _prompt(task, data, permutation), "raw_output": shown,
                         "parsed_answer": chosen, "correct": correct,
                         "score": None if correct is None else float(correct),
                         "letter_scores": {letter: round(math.log(0.9 if letter in shown else 0.1 / len(keys)), 4)
                                           for letter in letters} if task.kind != Kind.MULTI_CHOICE else {},
                         "details": {"jaccard": jaccard} if task.kind == Kind.MULTI_CHOICE else {},
                         "error_primary": primary,
                         "error_tags": {} if primary is None else
                         {"primary": primary, "secondary": [], "method": "rule:seed"}})
        return rows
    score = None if gold is None else min(1.0, max(0.0, rng.gauss(profile.skill, 0.2)))
    correct = None if score is None else score >= 0.6
    primary = None if correct in (True, None) else _tag(rng, task.dimension.value)
    rows.append({**base, "order_index": 0, "permutation": [], "prompt": _prompt(task, data, []),
                 "raw_output": f"模型回答：{data['question'][:12]}……", "parsed_answer": None,
                 "correct": correct,
                 "score": score, "letter_scores": {},
                 "details": {} if score is None else {"rouge_l": round(score * 0.8, 4)},
                 "error_primary": primary,
                 "error_tags": {} if primary is None else {"primary": primary, "secondary": [], "method": "rule:seed"}})
    return rows


# ---------------------------------------------------------------- scores
def _ci(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    half = 1.96 * statistics.pstdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def _choice_figures(groups: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """accuracy over (item, order), strict accuracy and consistency over items, position bias over orders."""
    scored = {i: rows for i, rows in groups.items() if rows[0]["correct"] is not None}
    if not scored:
        return {}
    pairs = [r["correct"] for rows in scored.values() for r in rows]
    chosen: dict[str, int] = {}
    for rows in scored.values():
        for r in rows:
            for letter in r["raw_output"]:
                chosen[letter] = chosen.get(letter, 0) + 1
    total = sum(chosen.values()) or 1
    return {
        "accuracy": sum(pairs) / len(pairs),
        "strict_accuracy": sum(all(r["correct"] for r in rows) for rows in scored.values()) / len(scored),
        "robustness": sum(len({tuple(r["parsed_answer"]) for r in rows}) == 1 for rows in scored.values())
        / len(scored),
        "position_bias": {letter: {"chosen": count / total, "correct": 0.0}
                          for letter, count in sorted(chosen.items())},
    }


def _add_gold_shares(figures: dict[str, Any], groups: dict[int, list[dict[str, Any]]],
                     gold_of: dict[int, list[str]]) -> None:
    counts: dict[str, int] = {}
    for item_id, rows in groups.items():
        for r in rows:
            if r["correct"] is None:
                continue
            for key in gold_of.get(item_id) or []:
                letter = "ABCDEFGHI"[r["permutation"].index(key)]
                counts[letter] = counts.get(letter, 0) + 1
    total = sum(counts.values()) or 1
    bias = figures.setdefault("position_bias", {})
    for letter in sorted(set(bias) | set(counts)):
        bias.setdefault(letter, {"chosen": 0.0})["correct"] = counts.get(letter, 0) / total  # share of gold letters


def score_rows(run_id: int, rows: list[dict[str, Any]], items: dict[int, SuiteItem]) -> tuple[list[dict], list[dict]]:
    """TaskScore and DimensionScore column dicts computed from one run's rows (what score_run would write)."""
    by_task: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for r in rows:
        by_task.setdefault(r["task"], {}).setdefault(r["item_id"], []).append(r)
    task_rows: list[dict[str, Any]] = []
    for name, spec in TASKS.items():
        groups = by_task.get(name, {})
        item_scores = [statistics.fmean(r["score"] for r in g) if spec.kind != Kind.MULTI_CHOICE
                       else statistics.fmean(float(r["correct"]) for r in g)
                       for g in groups.values() if g[0]["score"] is not None]
        score, low, high = _ci(item_scores)
        extras: dict[str, Any] = {}
        if spec.kind in CHOICE_KINDS:
            extras = _choice_figures(groups)
            _add_gold_shares(extras, groups, {i: items[i].data.get("answer") for i in groups})
            if spec.kind == Kind.MULTI_CHOICE:
                jac = [r["details"]["jaccard"] for g in groups.values() for r in g
                       if r["details"].get("jaccard") is not None]
                extras["jaccard"] = statistics.fmean(jac) if jac else None
        else:
            rouge = [g[0]["details"]["rouge_l"] for g in groups.values() if "rouge_l" in g[0]["details"]]
            extras["rouge_l"] = statistics.fmean(rouge) if rouge else None
        task_rows.append({"run_id": run_id, "task": name, "dimension": spec.dimension.value, "metric": spec.metric,
                          "score": score, "ci_low": low, "ci_high": high, "n_items": len(groups),
                          "n_scored": len(item_scores), "extras": extras})
    dim_rows: list[dict[str, Any]] = []
    dim_scores: list[float] = []
    dim_lows: list[float] = []
    dim_highs: list[float] = []
    for dimension in list(Dimension) + ["overall"]:
        in_dim = [t for t in task_rows if dimension == "overall" or t["dimension"] == dimension]
        choice_groups = {i: g for t in TASKS.values() if t.kind in CHOICE_KINDS
                         and (dimension == "overall" or t.dimension == dimension)
                         for i, g in by_task.get(t.name, {}).items()}
        figures = _choice_figures(choice_groups)
        _add_gold_shares(figures, choice_groups, {i: items[i].data.get("answer") for i in choice_groups})
        errors: dict[str, int] = {}
        for r in rows:
            if r["error_primary"] and (dimension == "overall" or r["dimension"] == dimension):
                errors[r["error_primary"]] = errors.get(r["error_primary"], 0) + 1
        if dimension == "overall":
            score = statistics.fmean(dim_scores) if dim_scores else None
            low = statistics.fmean(dim_lows) if dim_lows else None
            high = statistics.fmean(dim_highs) if dim_highs else None
        else:
            valid = [t for t in in_dim if t["score"] is not None]
            score = statistics.fmean(t["score"] for t in valid) if valid else None
            low = statistics.fmean(t["ci_low"] for t in valid) if valid else None
            high = statistics.fmean(t["ci_high"] for t in valid) if valid else None
            if score is not None:
                dim_scores.append(score)
                dim_lows.append(low)
                dim_highs.append(high)
        dim_rows.append({"run_id": run_id, "dimension": str(dimension), "score": score, "ci_low": low,
                         "ci_high": high, "accuracy": figures.get("accuracy"),
                         "strict_accuracy": figures.get("strict_accuracy"), "robustness": figures.get("robustness"),
                         "extras": {"position_bias": figures.get("position_bias", {}), "error_counts": errors,
                                    "n_wrong": sum(errors.values())}})
    return task_rows, dim_rows


# ---------------------------------------------------------------- models and runs
def add_model(session: Session, profile: ModelProfile, created_at: datetime = BASE_TIME) -> ModelEntry:
    sha = hashlib.sha1(f"{profile.hub_id}@{profile.precision}".encode()).hexdigest()
    model = ModelEntry(hub_id=profile.hub_id, revision="main", commit_sha=sha, precision=profile.precision,
                       model_type=profile.model_type, params=profile.params, license=profile.license,
                       is_demo=profile.is_demo, hidden=profile.hidden, flag_reason=profile.flag_reason,
                       card_data={"license": profile.license}, created_at=created_at)
    session.add(model)
    session.flush()
    return model


def new_run(session: Session, model: ModelEntry, suite: Suite, *, status: str = "finished",
            finished_at: datetime | None = BASE_TIME, seed: int = 1234, protocol: str = "generate") -> EvalRun:
    """A run row (with a submission) whose run spec and environment are complete, under answer ``protocol``."""
    submission = Submission(model_id=model.id, state=status if status in ("finished", "failed") else "pending",
                            created_at=(finished_at or BASE_TIME) - timedelta(hours=2))
    session.add(submission)
    session.flush()
    spec, execution = build_specs(model, suite, set(TASKS), seed=seed, protocol=protocol)
    run = EvalRun(submission_id=submission.id, model_id=model.id, suite_id=suite.id, suite_version=suite.version,
                  run_spec=spec.model_dump(), execution_spec=execution.model_dump(),
                  protocol=protocol,
                  environment={"python": "3.11.9", "platform": "Linux-x86_64", "torch": "2.13.0",
                               "transformers": "5.24.0", "tokenizers": "0.23.3",
                               "evaluator_version": EVALUATOR_VERSION, "backend": "transformers", "device": "cpu",
                               "dtype": model.precision, "runner_settings": {}},
                  evaluator_version=EVALUATOR_VERSION, status=status,
                  started_at=(finished_at or BASE_TIME) - timedelta(hours=1), finished_at=finished_at,
                  created_at=(finished_at or BASE_TIME) - timedelta(hours=2))
    session.add(run)
    session.flush()
    return run


def seed_run_results(session: Session, run: EvalRun, items: list[SuiteItem], profile: ModelProfile,
                     k: int = 5) -> list[dict[str, Any]]:
    """Write every item row and the task / dimension scores of ``run``; returns the item rows."""
    rng = random.Random(f"{profile.hub_id}-{profile.precision}-{run.id}-{profile.seed}")
    rows = [row for item in items for row in item_rows(run.id, item, profile, rng, k)]
    session.execute(insert(ItemResult), rows)
    task_rows, dim_rows = score_rows(run.id, rows, {i.id: i for i in items})
    session.execute(insert(TaskScore), task_rows)
    session.execute(insert(DimensionScore), dim_rows)
    session.flush()
    return rows


DEMO_PROFILES = [
    ModelProfile("acme/med-7b-chat", skill=0.8, params=7_200_000_000, license="apache-2.0", model_type="medical"),
    ModelProfile("acme/med-7b-chat", skill=0.78, precision="float16", params=7_200_000_000, model_type="medical"),
    ModelProfile("zhyi/clinic-14b", skill=0.7, bias_letter="A", params=14_000_000_000, license="mit"),
    ModelProfile("open/base-1.5b", skill=0.45, bias_letter="C", params=1_500_000_000, model_type="base",
                 license="llama3"),
    ModelProfile("tiny/demo-random", skill=0.25, params=160_000, is_demo=True, precision="float32"),
    ModelProfile("sus/leaky-3b", skill=0.9, params=3_000_000_000, flag_reason="test items found in training data",
                 license="mit"),
    ModelProfile("gone/hidden-7b", skill=0.95, params=7_000_000_000, hidden=True),
    ModelProfile("mystery/no-params", skill=0.5, params=None, license=None, model_type="chat"),
]


@dataclass
class SeededWorld:
    """What seed_demo_results created, so tests can compare what pages show with what the database holds."""

    suite: Suite
    items: list[SuiteItem]
    models: dict[str, ModelEntry]  # key: "hub_id@precision"
    runs: dict[str, EvalRun]  # latest finished run per model key
    rows: dict[str, list[dict[str, Any]]]


def seed_demo_results(session: Session, items_per_task: int = 3, unscored_per_task: int = 1) -> SeededWorld:
    """A small, varied database: 8 models (one flagged, one hidden, one demo, one without metadata), an older
    run superseded by a newer one, a failed run, and runs on an inactive older suite that must not count."""
    old_suite, old_items = create_suite(session, "old", items_per_task=1, active=False)
    suite, items = create_suite(session, "seed", items_per_task, unscored_per_task, active=True)
    models: dict[str, ModelEntry] = {}
    runs: dict[str, EvalRun] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for index, profile in enumerate(DEMO_PROFILES):
        key = f"{profile.hub_id}@{profile.precision}"
        model = add_model(session, profile, BASE_TIME + timedelta(days=index))
        models[key] = model
        old = new_run(session, model, old_suite, finished_at=BASE_TIME + timedelta(days=index, hours=3))
        seed_run_results(session, old, old_items, ModelProfile(profile.hub_id, skill=0.99))
        if index == 0:  # an earlier run on the active suite, superseded by the one below
            earlier = new_run(session, model, suite, finished_at=BASE_TIME + timedelta(days=index, hours=4))
            seed_run_results(session, earlier, items, ModelProfile(profile.hub_id, skill=0.1, seed=9))
        run = new_run(session, model, suite, finished_at=BASE_TIME + timedelta(days=index, hours=6))
        rows[key] = seed_run_results(session, run, items, profile)
        runs[key] = run
        if index == 1:  # a later failed run must not replace the finished one
            new_run(session, model, suite, status="failed", finished_at=BASE_TIME + timedelta(days=index, hours=9))
    unevaluated = add_model(session, ModelProfile("queue/not-yet-run"))
    models["queue/not-yet-run@bfloat16"] = unevaluated
    session.flush()
    return SeededWorld(suite, items, models, runs, rows)


# ---------------------------------------------------------------- bulk (bench)
_JSON_COLUMNS = {"permutation", "parsed_answer", "letter_scores", "details", "error_tags"}


def _bulk_insert_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert item rows as fast as the backend allows: PostgreSQL's COPY, executemany elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        for chunk in _chunks(rows, 5000):
            session.execute(insert(ItemResult), chunk)
        return
    columns = list(rows[0])
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY item_results ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in _JSON_COLUMNS else row[c]
                            for c in columns])


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_seed(engine: Engine, n_models: int = 1000, items_per_task: int = 50, k: int = 5,
              progress: Any = None) -> dict[str, int]:
    """The bench database: ``n_models`` models with one finished run each on an active suite of
    ``items_per_task`` items per task (50 -> 2,000 item rows per run, 2 million for 1,000 models)."""
    with Session(engine, expire_on_commit=False) as session:  # items stay loaded across the per-run commits
        suite, items = create_suite(session, "bench", items_per_task, unscored_per_task=1)
        session.commit()
        item_map = {i.id: i for i in items}
        total_rows = 0
        for index in range(n_models):
            rng = random.Random(index)
            profile = ModelProfile(f"org{index % 37}/model-{index:04d}", skill=rng.uniform(0.2, 0.9),
                                   bias_letter=rng.choice([None, "A", "B", "C"]),
                                   precision=rng.choice(["bfloat16", "float16", "float32"]),
                                   model_type=rng.choice(["chat", "base", "medical"]),
                                   license=rng.choice(["apache-2.0", "mit", "llama3", None]),
                                   params=rng.choice([500_000_000, 1_500_000_000, 7_000_000_000, 14_000_000_000]),
                                   is_demo=index < 3,
                                   flag_reason="contamination suspected" if index % 97 == 5 else None,
                                   hidden=index % 199 == 7, seed=index)
            model = add_model(session, profile, BASE_TIME + timedelta(minutes=index))
            run = new_run(session, model, suite, finished_at=BASE_TIME + timedelta(minutes=index, hours=1))
            rows = [row for item in items for row in item_rows(run.id, item, profile, rng, k)]
            _bulk_insert_items(session, rows)
            task_rows, dim_rows = score_rows(run.id, rows, item_map)
            session.execute(insert(TaskScore), task_rows)
            session.execute(insert(DimensionScore), dim_rows)
            session.commit()
            total_rows += len(rows)
            if progress:
                progress(index + 1, total_rows)
    return {"models": n_models, "item_rows": total_rows}
