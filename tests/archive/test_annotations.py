"""archive/annotations.py: decisions as rows, the double-annotated sample, Cohen's kappa, the
disagreements queue and its settling, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from archive import annotations as an
from archive.annotations import AnnotationConflict, AnnotationError, NoSuchItem
from archive.inbox import group_key, normalise
from telecom import mask
from tests.archive.conftest import rows
from tests.archive.seed_inbox import T0, conversation


# -- pure -----------------------------------------------------------------------------------------
def test_cohen_kappa_matches_the_textbook() -> None:
    # 50 items: both yes 20, both no 15, yes/no 5, no/yes 10 → po 0.7, pe 0.5, kappa 0.4
    pairs = [("y", "y")] * 20 + [("n", "n")] * 15 + [("y", "n")] * 5 + [("n", "y")] * 10
    assert an.cohen_kappa(pairs) == 0.4
    assert an.cohen_kappa([("a", "a"), ("b", "b")]) == 1.0
    assert an.cohen_kappa([("a", "b"), ("b", "a")]) == -1.0
    assert an.cohen_kappa([]) is None
    assert an.cohen_kappa([("a", "a")] * 3) is None  # one label throughout: undefined


def test_the_double_sample_is_a_fifth_of_keys_and_deterministic() -> None:
    keys = [group_key(f"text {i}") for i in range(5000)]
    share = sum(map(an.sampled, keys)) / len(keys)
    assert 0.18 < share < 0.22
    assert [an.sampled(k) for k in keys[:50]] == [an.sampled(k) for k in keys[:50]]


def d(
    analyst: str, decision: str, intent: str | None = None, ts: int = 0, i: int = 0
) -> an.Decision:
    return an.Decision(i, "k", analyst, decision, intent, None, (), None, ts)


def test_status_and_acceptance() -> None:
    one = [d("a", "correct", "roaming", 1)]
    agree = [*one, d("b", "confirm", "roaming", 2)]
    differ = [*one, d("b", "none", None, 2)]
    assert an.status_of(False, []) == "open"
    assert an.status_of(False, one) == an.status_of(True, one) == "annotated"
    assert an.status_of(True, agree) == "double"
    assert an.status_of(True, differ) == "disputed"
    assert an.status_of(True, [*differ, d("c", "settle", "roaming", 3)]) == "settled"
    assert an.status_of(False, [*one, d("x", "export", "roaming", 4)]) == "exported"
    assert an.accepted(False, one) == one[0]
    assert an.accepted(True, one) is None  # waits for the second analyst
    assert an.accepted(True, differ) is None
    assert an.accepted(True, agree) == one[0]
    # an analyst changing their mind: the latest decision counts
    assert an.status_of(True, [*differ, d("b", "correct", "roaming", 5)]) == "double"


def test_decisions_are_checked() -> None:
    text = "帮{phone_number}开日本漫游"
    assert an.checked(text, "roaming", "confirm", None, None, []) == ("roaming", None, ())
    assert an.checked(
        text, "roaming", "correct", "change_plan", None, [(16, 18, "destination")]
    ) == (
        "change_plan",
        None,
        ((16, 18, "destination"),),
    )
    bad = [
        ("decision", ("maybe", None, None, [])),
        ("intent", ("confirm", "query_plan", None, [])),  # not the predicted one
        ("intent", ("correct", "nlu_fallback", None, [])),
        ("intent", ("none", "roaming", None, [])),
        ("new_intent", ("new_intent", None, "Roaming-Refund", [])),
        ("new_intent", ("new_intent", None, "roaming", [])),  # already an intent
        ("entities", ("none", None, None, [(0, 1, "x")])),
        ("entities", ("correct", "roaming", None, [(1, 4, "phone")])),  # over a placeholder
        ("entities", ("correct", "roaming", None, [(16, 18)])),
        ("entities", ("correct", "roaming", None, [(16, 18, "a"), (17, 19, "b")])),
        ("entities", ("correct", "roaming", None, [{"start": 16, "end": 99, "entity": "x"}])),
    ]
    for field, (decision, intent, new, entities) in bad:
        with pytest.raises(AnnotationError) as error:
            an.checked(text, "roaming", decision, intent, new, entities)
        assert error.value.field == field, (decision, intent, new, entities)


# -- the archive ----------------------------------------------------------------------------------
def texts(double: bool, n: int) -> list[str]:
    found = [f"第{i}种说法办不了业务" for i in range(400)]
    return [t for t in found if an.sampled(group_key(normalise(t))) == double][:n]


def seed(engine: sa.Engine, phrasings: list[str]) -> list[str]:
    """One conversation per phrasing, read as query_plan with a small margin; their keys."""
    with engine.begin() as conn:
        for i, text in enumerate(phrasings):
            conversation(conn, f"c{i}", [(text, "query_plan", 0.62, 0.05)], T0 - 3_600_000 + i)
    return [group_key(normalise(mask.text(t))) for t in phrasings]


def test_single_items_take_one_analyst_sampled_ones_two(archive_engine: sa.Engine) -> None:
    one, other, twice = seed(archive_engine, texts(False, 2) + texts(True, 1))
    with archive_engine.begin() as conn:
        assert {i["key"] for i in an.next_items(conn, "an1", now_ms=T0)} == {one, other, twice}
        first = an.record(conn, one, "an1", "correct", intent="query_balance", now_ms=T0)
        assert (first["status"], first["analyst_id"], first["intent"]) == (
            "annotated",
            "an1",
            "query_balance",
        )
        an.record(conn, twice, "an1", "confirm", now_ms=T0 + 1)
        assert [i["key"] for i in an.next_items(conn, "an1", now_ms=T0)] == [other]
        # another analyst: the sampled item waiting for a second annotation first
        queue = an.next_items(conn, "an2", now_ms=T0)
        assert [i["key"] for i in queue] == [twice, other]
        assert queue[0]["double"] is True
        assert [a["analyst_id"] for a in queue[0]["annotations"]] == ["an1"]
        assert an.record(conn, twice, "an2", "confirm", now_ms=T0 + 2)["status"] == "double"
        assert [i["key"] for i in an.next_items(conn, "an3", now_ms=T0)] == [other]
        with pytest.raises(NoSuchItem):
            an.record(conn, "0" * 20, "an1", "none", now_ms=T0)
        with pytest.raises(AnnotationError):
            an.record(conn, other, "an1", "correct", intent="no_such_intent", now_ms=T0)
    # every decision is a row: who, when, what
    assert rows(
        archive_engine, "SELECT analyst_id, decision, intent, ts_ms FROM annotations ORDER BY id"
    ) == [
        ("an1", "correct", "query_balance", T0),
        ("an1", "confirm", "query_plan", T0 + 1),
        ("an2", "confirm", "query_plan", T0 + 2),
    ]


def test_a_key_not_queued_yet_is_found_in_the_inbox(archive_engine: sa.Engine) -> None:
    (key,) = seed(archive_engine, texts(False, 1))
    with archive_engine.begin() as conn:
        assert an.record(conn, key, "an1", "none", now_ms=T0)["status"] == "annotated"
    assert rows(archive_engine, "SELECT text, predicted_intent FROM annotation_items") == [
        (texts(False, 1)[0], "query_plan")
    ]


def test_agreement_disagreements_and_settling(archive_engine: sa.Engine) -> None:
    keys = seed(archive_engine, texts(True, 4))
    labels = [
        ("query_plan", "query_plan"),
        ("change_plan", "change_plan"),
        ("query_plan", "change_plan"),
        ("query_plan", None),
    ]
    with archive_engine.begin() as conn:
        assert an.agreement(conn) == {"kappa": None, "items": 0, "agreed": 0}
        for i, (key, (first, second)) in enumerate(zip(keys, labels, strict=True)):
            an.record(conn, key, "an1", "correct", intent=first, now_ms=T0 + i)
            if second is None:
                an.record(conn, key, "an2", "new_intent", new_intent="plan_refund", now_ms=T0 + 9)
            else:
                an.record(conn, key, "an2", "correct", intent=second, now_ms=T0 + 5 + i)
        result = an.agreement(conn)
        expected = an.cohen_kappa([(a, b or "new_intent") for a, b in labels])
        assert result == {"kappa": expected, "items": 4, "agreed": 2}
        disputed = an.disagreements(conn)
        assert [d["key"] for d in disputed] == [keys[2], keys[3]]
        assert {a["decision"] for a in disputed[1]["annotations"]} == {"correct", "new_intent"}
        with pytest.raises(AnnotationConflict) as error:
            an.settle(conn, keys[0], "lead", "query_plan", now_ms=T0 + 20)
        assert error.value.code == "not_disputed"
        settled = an.settle(conn, keys[2], "lead", "change_plan", now_ms=T0 + 20)
        assert settled["status"] == "settled" and settled["decision"] == "settle"
        assert [d["key"] for d in an.disagreements(conn)] == [keys[3]]
        assert an.agreement(conn)["items"] == 4  # settling changes no analyst's label
