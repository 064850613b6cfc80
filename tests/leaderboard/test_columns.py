"""A leaderboard column added at run time (one leaderboard.columns.register_column call, no other edit) shows in the
ranking frame, the table view's choices, the page and the exports; bad registrations are refused."""
from __future__ import annotations

import io
from collections.abc import Iterator

import pandas as pd
import pytest

from common.db import session_scope
from leaderboard import ranking, table_view
from leaderboard.columns import COLUMNS, Column, optional_columns, register_column, unregister_column
from tests.leaderboard.conftest import page

UNSCORED = Column("Unscored", "n_unscored", "Items without a reference answer.", "count", visible=False,
                  value=lambda frame: frame["n_items"] - frame["n_scored"])


@pytest.fixture
def unscored_column() -> Iterator[Column]:
    register_column(UNSCORED)
    yield UNSCORED
    unregister_column(UNSCORED.label)


def test_a_registered_column_reaches_frame_view_and_export(engine, world, unscored_column) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        frame = ranking.leaderboard_frame(session)
    assert (frame["n_unscored"] == frame["n_items"] - frame["n_scored"]).all() and frame["n_unscored"].max() > 0
    assert list(optional_columns())[-1] == "Unscored"
    assert table_view.sort_options(table_view.OVERVIEW)["Unscored"] == "n_unscored"
    assert "Unscored" not in table_view.overview_table(frame, [], "score").columns
    export = table_view.overview_table(frame, ["Unscored"], "numeric")
    assert list(export.columns)[-1] == "Unscored"
    back = pd.read_csv(io.BytesIO(table_view.to_csv(export)), encoding="utf-8-sig")
    assert back["Unscored"].tolist() == frame["n_unscored"].tolist()
    by_unscored = table_view.sort_frame(frame, "n_unscored", ascending=False)
    assert by_unscored["n_unscored"].iloc[0] == frame["n_unscored"].max()


def test_the_page_offers_a_hidden_column_and_shows_it_when_chosen(world, unscored_column) -> None:  # type: ignore[no-untyped-def]
    app = page("leaderboard")
    choice = app.multiselect(key="cols")
    assert "Unscored" in choice.options and "Unscored" not in choice.value  # visible=False: off by default
    assert "Unscored" not in app.dataframe(key="ranking").value.columns
    app = page("leaderboard", cols=["Unscored"])
    assert not app.exception
    shown = app.dataframe(key="ranking").value
    assert list(shown.columns) == ["#", "Model", "Open", "Overall", "Unscored"]


def test_bad_registrations_are_refused_and_change_nothing() -> None:
    before = dict(COLUMNS)
    with pytest.raises(ValueError, match="'Overall' registered twice"):
        register_column(Column("Overall", "other_key"))
    with pytest.raises(ValueError, match="key 'overall' is already used"):
        register_column(Column("Overall 2", "overall"))
    assert COLUMNS == before
