"""Charts carry the report's numbers (a figure is data, so it can be checked without a browser)."""
from __future__ import annotations

import pandas as pd
import pytest

from common.db import session_scope
from leaderboard import charts
from leaderboard.labels import CATEGORIES
from leaderboard.model_report import model_report


@pytest.fixture
def report(engine, world):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return model_report(session, "zhyi/clinic-14b")


def test_radar_closes_the_polygon_over_five_dimensions(report):
    scores = dict(zip(report.dimensions["dimension"], report.dimensions["score"]))
    scores.pop("overall")
    (trace,) = charts.radar({"m": scores}, lang="en").data
    assert len(trace.r) == 6 and trace.r[0] == trace.r[-1] == pytest.approx(scores["knowledge"])
    assert trace.theta[:5] == ("Knowledge", "Understanding", "Generation", "Reasoning", "Safety & Ethics")
    (chinese,) = charts.radar({"m": scores}, lang="zh").data  # the axes in the page's language
    assert chinese.theta[:5] == ("知识", "理解", "生成", "推理", "安全伦理") and chinese.r == trace.r


def test_task_bars_carry_intervals(report):
    figure = charts.task_scores(report.tasks, lang="en")
    bars = {y: (x, plus) for trace in figure.data for y, x, plus in zip(trace.y, trace.x, trace.error_x.array)}
    med = report.tasks.set_index("task").loc["Med-Exam"]
    assert bars["Med-Exam"][0] == pytest.approx(med["score"])
    assert bars["Med-Exam"][1] == pytest.approx(med["ci_high"] - med["score"])


def test_error_distribution_counts_and_shares(report):
    counts = charts.error_distribution(report.dimensions, lang="en")
    shares = charts.error_distribution(report.dimensions, shares=True, lang="en")
    assert [t.name for t in counts.data] == list(CATEGORIES)
    reasoning = report.dimensions.set_index("dimension").loc["reasoning", "error_counts"]
    index = list(counts.data[0].x).index("Reasoning")
    assert {t.name: t.y[index] for t in counts.data if t.y[index]} == reasoning
    assert sum(t.y[index] for t in shares.data) == pytest.approx(1.0)


def test_robustness_and_position_bias(report):
    dims = report.dimensions.set_index("dimension")
    figure = charts.robustness(report.dimensions, lang="en")
    assert [t.name.split(" ")[0] for t in figure.data] == ["accuracy", "strict", "robustness"]
    assert list(figure.data[0].x) == ["Knowledge", "Reasoning", "Safety & Ethics"]  # choice dimensions only
    bias = dims.loc["safety", "position_bias"]
    chosen, correct = charts.position_bias(bias, lang="en").data
    assert list(chosen.x) == sorted(bias)
    assert sum(chosen.y) == pytest.approx(1.0) and sum(correct.y) == pytest.approx(1.0)


def test_position_bias_bars_are_shares_of_letters_each_summing_to_one():
    # per-answer figures as a reasoning run stores them: multi-answer items (correct sums to 137%) and answers
    # without a letter (chosen sums to 86%)
    bias = {"A": {"chosen": 0.40, "correct": 0.50}, "B": {"chosen": 0.30, "correct": 0.52},
            "C": {"chosen": 0.16, "correct": 0.35}}
    chosen, correct = charts.position_bias(bias, lang="en").data
    assert list(chosen.y) == pytest.approx([0.40 / 0.86, 0.30 / 0.86, 0.16 / 0.86])
    assert list(correct.y) == pytest.approx([0.50 / 1.37, 0.52 / 1.37, 0.35 / 1.37])
    assert charts.letter_shares({"A": {"chosen": 0.0}}, "chosen") == [0.0]  # nothing chosen: no division by zero


def test_compared_models_get_distinct_colours_that_match_across_charts():
    scores = {"knowledge": 0.5, "understanding": 0.4, "generation": 0.3, "reasoning": 0.2, "safety": 0.6}
    radar = charts.radar({"a": scores, "b": scores, "c": scores})
    colours = [t.line.color for t in radar.data]
    assert colours == charts.MODEL_COLORS[:3] and len(set(colours)) == 3
    assert radar.data[1].fillcolor.startswith("rgba(") and radar.layout.polar.radialaxis.showline is False
    frame = pd.DataFrame({"a": [0.5, 0.4], "b": [0.6, 0.3], "c": [0.1, 0.2]}, index=["Med-Exam", "DrugCA"])
    bars = charts.task_differences(frame, "a", ["b", "c"], lang="en")
    assert [t.marker.color for t in bars.data] == colours[1:]  # each model keeps its radar colour


def test_model_names_show_literally_in_legends_titles_and_hovers():
    """Plotly renders <a href>, <b>, <br> in trace names, axis titles and hover labels: a hostile hub id must not."""
    name = "evil/<a href='http://127.0.0.1:9/phish'>sign in</a>%{x}"
    escaped = "evil/&lt;a href='http://127.0.0.1:9/phish'&gt;sign in&lt;/a&gt;%{x}"
    scores = {d: 0.5 for d in ("knowledge", "understanding", "generation", "reasoning", "safety")}
    (trace,) = charts.radar({name: scores}).data
    assert trace.name == escaped and name not in trace.hovertemplate and "%{x}" not in trace.hovertemplate
    frame = pd.DataFrame({"base/<b>m</b>": [0.5], name: [0.6]}, index=["Med-Exam"])
    figure = charts.task_differences(frame, "base/<b>m</b>", [name], lang="en")
    assert figure.data[0].name == f"{escaped} − base/&lt;b&gt;m&lt;/b&gt;"
    assert figure.layout.xaxis.title.text == "difference to base/&lt;b&gt;m&lt;/b&gt;"


def test_task_chart_marks_chance_and_the_pass_line(engine, report):  # type: ignore[no-untyped-def]
    from evaluator.benchmark.reference_lines import suite_reference_lines

    with session_scope(engine) as session:
        lines = suite_reference_lines(session, report.suite["id"], 5)
    figure = charts.task_scores(report.tasks, lines, lang="en")
    marks = {trace.name: dict(zip(trace.y, trace.x)) for trace in figure.data if trace.type == "scatter"}
    assert marks["chance (random guess)"]["Med-Exam"] == pytest.approx(0.2)  # five options per seeded question
    assert marks["chance (random guess)"]["DrugCA"] == pytest.approx(0.5)
    assert marks["chance (random guess)"]["DDx-advanced"] == pytest.approx(1 / 511)  # A–I, exact set
    assert "MedHC" not in marks["chance (random guess)"]  # open answers: no chance level
    assert marks["pass line (real exam)"] == {"Med-Exam": pytest.approx(0.6)}
