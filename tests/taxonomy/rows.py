"""A run with tagged result rows in a real database, for review and page tests."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from common.db import session_scope
from evaluator.tables import EvalRun, ItemResult, Suite, SuiteItem

# (task, dimension, automatic primary, method) of the seeded rows; None = a correct row.
SEEDED = [
    ("MedHC", "knowledge", "Omissions", "rule:uncovered_points"),
    ("MedHC", "knowledge", "Hallucination", "rule:unsupported_content"),
    ("MedHC", "knowledge", None, "rule:correct"),
    ("CMB-Clin", "reasoning", "Causal Reasoning Deficiency", "rule:wrong_conclusion"),
    ("IMCS-V2-MRG", "generation", "Deficiency in Medical Language Generation", "rule:missing_record_fields"),
    ("CMeEE", "understanding", "Format Mismatch", "rule:no_parsable_answer"),
    ("MedHC", "knowledge", "Unanswered", "rule:empty_output"),
    ("MedHC", "knowledge", "Omissions", "judge:tiny"),
]


def seed_run(engine: Engine, copies: int = 1) -> tuple[int, list[int]]:
    """A finished run whose rows carry the tags in SEEDED (repeated ``copies`` times); (run id, row ids)."""
    with session_scope(engine) as session:
        suite = Suite(name="review-test", version=f"v-{id(engine)}-{copies}", item_count=len(SEEDED) * copies)
        session.add(suite)
        session.flush()
        run = EvalRun(suite_id=suite.id, suite_version=suite.version, evaluator_version="test", status="finished")
        session.add(run)
        session.flush()
        row_ids = []
        for index, (task, dimension, primary, method) in enumerate(SEEDED * copies):
            item = SuiteItem(suite_id=suite.id, task=task, item_key=f"{task}-{index}",
                             data={"id": f"{task}-{index}", "task": task, "question": "问题"})
            session.add(item)
            session.flush()
            row = ItemResult(run_id=run.id, item_id=item.id, task=task, dimension=dimension, prompt="提示",
                             raw_output=f"输出 {index}", error_primary=primary,
                             error_tags={"primary": primary, "secondary": [], "method": method})
            session.add(row)
            session.flush()
            row_ids.append(row.id)
        return run.id, row_ids


# A single-choice item asked under two orders: order 1 shows the options as C, A, D, B, E (shown letter -> original
# key), so the original answer B is shown as D, and the model's original pick D is shown as C.
SHUFFLED_OPTIONS = {"A": "阿司匹林", "B": "肝素", "C": "华法林", "D": "氯吡格雷", "E": "尿激酶"}
SHUFFLED_ORDER = ["C", "A", "D", "B", "E"]


def seed_shuffled_choice(engine: Engine) -> tuple[int, int]:
    """A finished run with one Med-Exam item answered B (right) in the original order and D (wrong) in a shuffled
    order tagged rule:order_dependent_answer; (run id, id of the shuffled order's row)."""
    with session_scope(engine) as session:
        suite = Suite(name="review-letters", version=f"letters-{id(engine)}", item_count=1)
        session.add(suite)
        session.flush()
        run = EvalRun(suite_id=suite.id, suite_version=suite.version, evaluator_version="test", status="finished")
        session.add(run)
        session.flush()
        item = SuiteItem(suite_id=suite.id, task="Med-Exam", item_key="exam-1",
                         data={"id": "exam-1", "task": "Med-Exam", "question": "首选抗凝药？",
                               "options": SHUFFLED_OPTIONS, "answer": ["B"]})
        session.add(item)
        session.flush()
        session.add(ItemResult(run_id=run.id, item_id=item.id, task="Med-Exam", dimension="knowledge",
                               order_index=0, permutation=list(SHUFFLED_OPTIONS), prompt="A. 阿司匹林 …",
                               parsed_answer=["B"], correct=True, score=1.0))
        shuffled = ItemResult(run_id=run.id, item_id=item.id, task="Med-Exam", dimension="knowledge",
                              order_index=1, permutation=SHUFFLED_ORDER, prompt="A. 华法林\nB. 阿司匹林 …",
                              parsed_answer=["D"], correct=False, score=0.0, error_primary="Contextual Inconsistency",
                              error_tags={"primary": "Contextual Inconsistency", "secondary": ["Hallucination"],
                                          "method": "rule:order_dependent_answer"})
        session.add(shuffled)
        session.flush()
        return run.id, shuffled.id
