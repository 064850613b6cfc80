"""Plotly figures of the public pages. Each takes plain frames / dicts from the read API and returns a Figure,
so charts can be tested without Streamlit and reused across pages. Model names are shown through
:func:`common.display.plotly_escape` (Plotly renders some HTML in names, titles and hover labels)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from common.display import plotly_escape
from common.i18n import t
from leaderboard.labels import CATEGORIES, dimension_name

SCORE_RANGE = [0, 1]
RADIAL_TICKS = [0.25, 0.5, 0.75, 1.0]
# Models side by side get clearly different hues (Streamlit's theme gave the first two nearly the same blue):
# a qualitative palette, model i always in MODEL_COLORS[i] across the compare page's charts.
MODEL_COLORS: list[str] = plotly.colors.qualitative.D3
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}  # clear of the axis labels


def radar(series: dict[str, dict[str, float | None]], lang: str | None = None) -> go.Figure:
    """Radar of the five dimension scores; one trace per model (``{model: {dimension: score}}``); the axes are
    named in ``lang`` (default: the page's language)."""
    figure = go.Figure()
    for index, (name, scores) in enumerate(series.items()):
        dims = list(scores)
        values = [scores[d] if scores[d] is not None and scores[d] == scores[d] else 0.0 for d in dims]
        labels = [dimension_name(d, short=True, lang=lang) for d in dims]
        color = model_color(index)
        figure.add_trace(go.Scatterpolar(r=values + values[:1], theta=labels + labels[:1], fill="toself",
                                         name=plotly_escape(name), line={"color": color},
                                         fillcolor=model_color(index, opacity=0.15),
                                         hovertemplate="%{theta}: %{r:.3f}<extra>%{fullData.name}</extra>"))
    # The top dimension's label sits just above the circle: the legend goes higher, into a taller top margin.
    # The radial ticks lie between the first two spokes (36°), not on the first spoke where they covered the data;
    # the axis line and tick marks are hidden and the labels run along the axis on its counter-clockwise side, so
    # no label sits across a line.
    figure.update_layout(polar={"radialaxis": {"range": SCORE_RANGE, "visible": True, "angle": 36, "tickangle": 0,
                                               "side": "counterclockwise", "showline": False, "ticks": "",
                                               "tickvals": RADIAL_TICKS, "tickfont": {"size": 10}}},
                         showlegend=len(series) > 1, margin={"l": 90, "r": 90, "t": 90, "b": 40}, height=430,
                         legend={**LEGEND_ABOVE, "y": 1.14})
    return figure


def model_color(index: int, opacity: float = 1.0) -> str:
    """The colour of the ``index``-th model of a comparison (as rgba when ``opacity`` < 1, for fills)."""
    color = MODEL_COLORS[index % len(MODEL_COLORS)]
    if opacity >= 1:
        return color
    red, green, blue = plotly.colors.hex_to_rgb(color)
    return f"rgba({red}, {green}, {blue}, {opacity})"


def task_scores(tasks: pd.DataFrame, reference: dict[str, Any] | None = None,
                lang: str | None = None) -> go.Figure:
    """Horizontal bars of per-task scores with their 95% CIs as error bars, coloured by dimension, and the tasks'
    reference lines (``{task: evaluator.benchmark.reference_lines.ReferenceLine}``) as marks: chance level and pass line."""
    frame = tasks.dropna(subset=["score"])
    figure = go.Figure()
    for dim, part in frame.groupby("dimension", sort=False):
        figure.add_trace(go.Bar(
            y=part["task"], x=part["score"], orientation="h", name=dimension_name(dim, short=True, lang=lang),
            error_x={"type": "data", "symmetric": False, "array": part["ci_high"] - part["score"],
                     "arrayminus": part["score"] - part["ci_low"]},
            customdata=part[["ci_low", "ci_high", "n_scored", "metric"]].to_numpy(),
            hovertemplate="%{y}: %{x:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                          " · n=%{customdata[2]} · %{customdata[3]}<extra></extra>",
        ))
    lines = [reference[t] for t in frame["task"] if t in (reference or {})]
    for attribute, name, symbol, color in (("chance", t("chart.chance", lang), "line-ns", "#555555"),
                                           ("pass_line", t("chart.pass_line", lang), "diamond-tall", "#d62728")):
        marks = [(line.task, getattr(line, attribute)) for line in lines if getattr(line, attribute) is not None]
        if marks:
            figure.add_trace(go.Scatter(
                y=[t for t, _ in marks], x=[v for _, v in marks], mode="markers", name=name,
                marker={"symbol": symbol, "size": 16, "color": color, "line": {"width": 3, "color": color}},
                hovertemplate="%{y}: " + name + " %{x:.3f}<extra></extra>"))
    figure.update_layout(xaxis={"range": SCORE_RANGE, "title": t("chart.score_ci", lang)},
                         yaxis={"autorange": "reversed"}, height=max(300, 24 * len(frame) + 80),
                         margin={"l": 10, "r": 10, "t": 30, "b": 30}, legend=LEGEND_ABOVE)
    return figure


def robustness(dimensions: pd.DataFrame, lang: str | None = None) -> go.Figure:
    """Per dimension: accuracy over (item, order) vs strict accuracy vs consistency, for choice items."""
    frame = dimensions[dimensions["dimension"] != "overall"].dropna(subset=["accuracy"])
    labels = [dimension_name(d, short=True, lang=lang) for d in frame["dimension"]]
    figure = go.Figure()
    for column, name in (("accuracy", t("chart.accuracy", lang)), ("strict_accuracy", t("chart.strict", lang)),
                         ("robustness", t("chart.robustness", lang))):
        figure.add_trace(go.Bar(x=labels, y=frame[column], name=name, hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    figure.update_layout(barmode="group", yaxis={"range": SCORE_RANGE}, height=340, legend=LEGEND_ABOVE,
                         margin={"l": 10, "r": 10, "t": 30, "b": 30})
    return figure


def letter_shares(bias: dict[str, dict[str, float]], series: str) -> list[float]:
    """Each shown letter's share of all ``series`` ("chosen" / "correct") letters, in letter order, summing to 1.

    Why renormalise: the stored figures are per answer, and do not sum to 100% — a multi-answer question has
    several right letters (the "correct" bars summed to ~137%) and an answer without a letter chooses none (the
    "chosen" bars summed to ~86%). As shares of letters the two series are comparable bar by bar."""
    values = [bias[x].get(series, 0.0) for x in sorted(bias)]
    total = sum(values)
    return [v / total if total else 0.0 for v in values]


def position_bias(bias: dict[str, dict[str, float]], lang: str | None = None) -> go.Figure:
    """How often each shown letter was chosen against how often it was the right one (shares of letters)."""
    letters = sorted(bias)
    figure = go.Figure([
        go.Bar(x=letters, y=letter_shares(bias, "chosen"), name=t("chart.chosen", lang),
               hovertemplate="%{x}: %{y:.1%} of chosen letters<extra></extra>"),
        go.Bar(x=letters, y=letter_shares(bias, "correct"), name=t("chart.correct", lang),
               hovertemplate="%{x}: %{y:.1%} of right letters<extra></extra>"),
    ])
    figure.update_layout(barmode="group", yaxis={"tickformat": ".0%", "title": t("chart.share_of_letters", lang)},
                         height=300,
                         xaxis={"title": t("chart.letter_shown", lang)}, margin={"l": 10, "r": 10, "t": 30, "b": 30},
                         legend=LEGEND_ABOVE)
    return figure


def error_distribution(dimensions: pd.DataFrame, shares: bool = False,
                       lang: str | None = None) -> go.Figure:
    """Stacked bars: wrong answers per error category in each dimension, as counts or as shares."""
    frame = dimensions[dimensions["dimension"] != "overall"]
    labels = [dimension_name(d, short=True, lang=lang) for d in frame["dimension"]]
    totals = [sum((c or {}).values()) for c in frame["error_counts"]]
    figure = go.Figure()
    for category in CATEGORIES:
        counts = [int((c or {}).get(category, 0)) for c in frame["error_counts"]]
        values = [n / t if t else 0.0 for n, t in zip(counts, totals)] if shares else counts
        figure.add_trace(go.Bar(x=labels, y=values, name=category, customdata=counts,
                                hovertemplate=f"{category}: " + ("%{y:.1%} (%{customdata})" if shares else "%{y}")
                                + "<extra>%{x}</extra>"))
    figure.update_layout(barmode="stack", height=400, legend={"orientation": "v", "x": 1.02, "y": 1},
                         yaxis={"tickformat": ".0%" if shares else "d",
                                "title": t("chart.share_tagged" if shares else "chart.tagged", lang)},
                         margin={"l": 10, "r": 10, "t": 30, "b": 30})
    return figure


def task_differences(frame: pd.DataFrame, baseline: str, others: list[str],
                     lang: str | None = None) -> go.Figure:
    """Per task, each other model's score minus the baseline's (``frame``: task x model scores). The baseline is
    model 0 of the comparison, so ``others[i]`` keeps its radar colour, ``model_color(i + 1)``."""
    figure = go.Figure()
    for index, name in enumerate(others, start=1):
        diff: Any = frame[name] - frame[baseline]
        figure.add_trace(go.Bar(y=frame.index, x=diff, orientation="h", name=plotly_escape(f"{name} − {baseline}"),
                                marker={"color": model_color(index)},
                                hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    figure.update_layout(barmode="group", yaxis={"autorange": "reversed"}, height=max(300, 26 * len(frame) + 80),
                         xaxis={"title": plotly_escape(t("chart.difference_to", lang, name=baseline)),
                                "zeroline": True},
                         margin={"l": 10, "r": 10, "t": 30, "b": 30}, legend=LEGEND_ABOVE)
    return figure
