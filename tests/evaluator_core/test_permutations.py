"""Option orders: original first, seeded, distinct, min(K, n!) of them, and exact mapping back."""
import pytest

from evaluator.benchmark.permutations import item_orders, option_orders, shown_letters, to_original, to_shown


def test_five_distinct_orders_original_first_and_reproducible():
    orders = option_orders(list("ABCDE"), 5, seed=7, item_key="q1")
    assert orders[0] == list("ABCDE")
    assert len({tuple(o) for o in orders}) == 5
    assert all(sorted(o) == list("ABCDE") for o in orders)
    assert option_orders(list("ABCDE"), 5, seed=7, item_key="q1") == orders
    assert option_orders(list("ABCDE"), 5, seed=8, item_key="q1") != orders
    assert option_orders(list("ABCDE"), 5, seed=7, item_key="q2") != orders


def test_two_options_give_both_orders_only():
    assert option_orders(["A", "B"], 5, seed=0, item_key="yn") == [["A", "B"], ["B", "A"]]
    assert len(option_orders(list("ABC"), 24, seed=0, item_key="x")) == 6


def test_mapping_back_and_forth():
    perm = ["C", "A", "E", "B", "D"]  # shown A is original C, ...
    assert to_original(["A", "C"], perm) == ["C", "E"]
    assert to_shown(["C", "E"], perm) == ["A", "C"]
    assert to_original(["Z"], perm) == []


def test_item_orders_by_kind():
    assert item_orders("open_ended", {}, [], 5, 0, "o") == [[]]
    cloze = item_orders("cloze", {}, ["内科", "外科", "儿科"], 5, 0, "c")
    assert len(cloze) == 5 and cloze[0] == ["内科", "外科", "儿科"]
    assert item_orders("classification", {}, ["a", "b"], 5, 0, "c") == [[]]


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="K must be at least 1"):
        option_orders(["A", "B"], 0, 0, "x")
    with pytest.raises(ValueError, match="duplicate"):
        option_orders(["A", "A"], 2, 0, "x")
    with pytest.raises(ValueError, match="cannot show"):
        shown_letters(27)
