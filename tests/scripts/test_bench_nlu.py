"""bench/nlu.py: entities scored by type and span on the held-out split."""

from __future__ import annotations

import pytest

from bench.nlu import entity_scores, load_entities
from scripts.paths import HOLDOUT


def test_an_entity_counts_only_with_its_type_and_span_right() -> None:
    gold = [{("phone_number", 0, 11)}, {("destination", 2, 4), ("plan_name", 5, 9)}, set()]
    found = [
        {("phone_number", 0, 11)},  # right
        {("destination", 2, 5), ("plan_name", 5, 9)},  # wrong span, right
        {("plan_name", 0, 3)},  # nothing there
    ]
    rows = {row[0]: row[1:] for row in entity_scores(gold, found)}
    assert rows["phone_number"] == [1, 1.0, 1.0, 1.0]
    assert rows["destination"] == [1, 0.0, 0.0, 0.0]
    annotated, precision, recall, f1 = rows["plan_name"]
    assert (annotated, precision, recall) == (1, 0.5, 1.0)
    assert f1 == pytest.approx(2 / 3)
    assert rows["all"][:3] == [3, 0.5, 2 / 3]


def test_no_entity_anywhere_scores_zero_not_an_error() -> None:
    assert entity_scores([set()], [set()]) == [["all", 0, 0.0, 0.0, 0.0]]


def test_the_held_out_split_has_annotated_entities_in_example_order() -> None:
    spans = load_entities(HOLDOUT)
    assert len(spans) > 300
    assert sum(map(len, spans)) > 50
    assert all(end > start for example in spans for _, start, end in example)
