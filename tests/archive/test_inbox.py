"""archive/inbox.py: the reasons a turn is a candidate, the ranking (pure), near-duplicates
grouped, and the inbox read from the archive on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from archive import inbox as ib
from archive.inbox import Candidate, InboxQuery, InboxQueryError
from tests.archive.seed_inbox import DAY_MS, T0, conversation


def cand(text: str, *reasons: str, conf: float | None = 0.9, ts: int = 0) -> Candidate:
    return Candidate("c", f"{ts}-0", ts, text, "query_balance", conf, 0.5, reasons)


# -- pure -----------------------------------------------------------------------------------------
def test_reading_reasons_follow_the_thresholds() -> None:
    assert ib.reading_reasons("nlu_fallback", 0.3, 0.02, True) == [
        "fallback",
        "low_confidence",
        "small_margin",
    ]
    assert ib.reading_reasons("roaming", 0.59, 0.15, False) == ["low_confidence"]
    assert ib.reading_reasons("roaming", 0.60, 0.149, False) == ["small_margin"]
    assert ib.reading_reasons("roaming", 0.95, 0.8, False) == []


def test_score_ranks_certain_failures_over_suspicions() -> None:
    fallback = ib.score(["fallback", "low_confidence"], confidence=0.3, margin=None)
    handoff = ib.score(["handoff_after"], confidence=0.9, margin=0.5)
    low = ib.score(["low_confidence"], confidence=0.55, margin=0.5)
    lower = ib.score(["low_confidence"], confidence=0.2, margin=0.5)
    margin = ib.score(["small_margin"], confidence=0.8, margin=0.1)
    assert fallback > handoff > lower > low > margin > 0
    assert ib.score(["fallback", "fallback"]) == ib.score(["fallback"])  # a reason counts once


def test_group_score_grows_with_traffic_but_keeps_rare_failures_visible() -> None:
    assert ib.group_score([]) == 0.0
    assert ib.group_score([2.0]) == 2.0
    assert ib.group_score([2.0] * 4) == 6.0  # mean × (1 + log2 4)
    # eight suspicions outrank one certain failure; two of them do not
    assert ib.group_score([1.0] * 8) > ib.group_score([3.0]) > ib.group_score([1.0] * 2)


def test_normalise_folds_width_script_case_punctuation_and_placeholders() -> None:
    assert ib.normalise("查詢話費！ＡＢＣ") == ib.normalise("查询话费abc")
    assert ib.normalise("我的号码 138****8000，查话费") == ib.normalise(
        "我的号码{phone_number}查话费"
    )
    assert ib.normalise("我的号码{phone_number}") != ib.normalise("我的号码{id_last6}")


def test_near_duplicates_are_one_group_led_by_the_most_frequent_text() -> None:
    texts = [
        "我的流量怎么用得这么快啊",
        "我的流量怎么用得这么快啊！",
        "我的流量怎麼用得這麼快啊",
        "我的流量怎么用得这么快啊啊",  # 3-gram Jaccard 10/11 with the first
        "帮我查一下话费",
    ]
    groups = ib.group([cand(t, "fallback") for t in texts])
    assert sorted(len(g) for g in groups) == [1, 4]
    big = next(g for g in groups if len(g) == 4)
    assert ib.normalise(big[0].text) == ib.normalise(texts[0])
    # below the threshold: a different request that shares words
    assert len(ib.group([cand("我的流量用完了怎么办", "x"), cand(texts[0], "x")])) == 2


def test_a_queued_key_keeps_leading_its_group() -> None:
    found = [cand("查话费"), cand("查话费"), cand("查话费吧")]
    assert ib.group(found)[0][0].text == "查话费"
    kept = ib.group_key(ib.normalise("查话费吧"))
    assert ib.group(found, keep=[kept])[0][0].text == "查话费吧"


def test_the_query_is_checked() -> None:
    with pytest.raises(InboxQueryError) as error:
        InboxQuery(10, 5)
    assert error.value.field == "end"
    with pytest.raises(InboxQueryError, match="unknown reason"):
        InboxQuery(0, 1, reasons=("fallback", "typo"))
    for field, options in (
        ("status", {"status": "nope"}),
        ("limit", {"limit": 0}),
        ("q", {"search": "x" * 101}),
        ("offset", {"offset": -1}),
    ):
        with pytest.raises(InboxQueryError) as error:
            InboxQuery(0, 1, **options)  # type: ignore[arg-type]
        assert error.value.field == field


# -- the archive ----------------------------------------------------------------------------------
def seed(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for i in range(3):  # the same misunderstood phrasing three times, once in Traditional
            text = "流量怎麼扣得這麼快" if i == 2 else "流量怎么扣得这么快"
            conversation(conn, f"fb{i}", [(text, None, 0.35, 0.05)], T0 - DAY_MS + i * 10_000)
        conversation(conn, "low", [("帮我看看13912345678的套餐", "query_plan", 0.62, 0.1)])
        conversation(  # the customer asked for a person after the assistant's answer
            conn,
            "ho",
            [("宽带老是掉线", "query_balance", 0.9, 0.6), ("转人工", "request_human", 0.99, 0.9)],
            handoff_after=1,
        )
        conversation(
            conn,
            "rated",
            [("你好", "greet", 0.99, 0.9), ("国际漫游怎么收费", "roaming", 0.95, 0.8)],
            rating=1,
        )
        conversation(conn, "fine", [("查话费", "query_balance", 0.97, 0.9)], rating=5)
        conversation(conn, "old", [("老的", None, 0.2, 0.1)], T0 - 30 * DAY_MS)


def test_the_inbox_reads_every_reason_and_ranks_groups(archive_engine: sa.Engine) -> None:
    seed(archive_engine)
    with archive_engine.connect() as conn:
        groups = ib.inbox(conn, InboxQuery(T0 - 2 * DAY_MS, T0))
    by_text = {g.text: g for g in groups}
    assert set(by_text) == {
        "流量怎么扣得这么快",
        "帮我看看{phone_number}的套餐",
        "宽带老是掉线",
        "国际漫游怎么收费",
    }
    first = groups[0]
    assert first.text == "流量怎么扣得这么快" and first.count == 3
    assert first.reasons == ["fallback", "low_confidence", "small_margin"]
    assert first.predicted_intent == "nlu_fallback" and first.status == "open"
    assert [e["conversation_id"] for e in first.examples] == ["fb2", "fb1", "fb0"]
    assert first.key == ib.group_key(ib.normalise("流量怎么扣得这么快"))
    assert by_text["宽带老是掉线"].reasons == ["handoff_after"]  # not the 转人工 turn
    assert by_text["国际漫游怎么收费"].reasons == ["poor_rating"]  # not the greeting
    assert by_text["帮我看看{phone_number}的套餐"].reasons == ["small_margin"]  # 0.62 ≥ 0.60
    assert [g.score for g in groups] == sorted((g.score for g in groups), reverse=True)
    assert "13912345678" not in str([g.to_dict() for g in groups])


def test_filters_search_and_pages(archive_engine: sa.Engine) -> None:
    seed(archive_engine)
    window = (T0 - 2 * DAY_MS, T0)
    with archive_engine.connect() as conn:
        handoffs = ib.inbox(conn, InboxQuery(*window, reasons=("handoff_after", "poor_rating")))
        found = ib.inbox(conn, InboxQuery(*window, search="怎麼扣"))
        page = ib.inbox(conn, InboxQuery(*window, limit=2, offset=1))
        everything = ib.inbox(conn, InboxQuery(*window))
        done = ib.inbox(conn, InboxQuery(*window, status="exported"))
        older = ib.inbox(conn, InboxQuery(T0 - 31 * DAY_MS, T0 - 29 * DAY_MS))
    assert {g.text for g in handoffs} == {"宽带老是掉线", "国际漫游怎么收费"}
    assert [g.text for g in found] == ["流量怎么扣得这么快"]
    assert [g.key for g in page] == [g.key for g in everything[1:3]]
    assert done == []
    assert [g.text for g in older] == ["老的"]
