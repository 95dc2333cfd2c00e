"""components/request_cues.py's clause decision (pure) and components/multi_request.py applying
it after the fallback: a message of several requests gets its first request's intent."""

from __future__ import annotations

import pytest

from components.multi_request import MultiRequest
from components.request_cues import (
    STORY_LENGTH,
    clauses,
    first_request_of_clauses,
    may_hold_several,
    settled_story,
)

BALANCE_THEN_FAULT = [("query_balance", 0.9), ("report_fault", 0.8)]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("查下话费，再看看流量", ["查下话费", "看看流量"]),
        ("喂 那个 我查下话费 然后宽带断了", ["那个", "我查下话费", "宽带断了"]),
        ("帮我看下账单吧还有我宽带断了", ["帮我看下账单吧", "我宽带断了"]),
        ("话费和流量都帮我查查", ["话费和流量都帮我查查"]),
        ("", []),
    ],
)
def test_clauses_split_at_punctuation_joining_words_and_pauses(text, wanted) -> None:
    assert clauses(text) == wanted


def test_the_first_of_two_requests_wins_whichever_the_message_leaned_to() -> None:
    ranking = {"report_fault": 0.55, "query_balance": 0.35, "complain": 0.1}
    assert first_request_of_clauses(BALANCE_THEN_FAULT, ranking, "report_fault") == "query_balance"


def test_a_message_that_fell_back_counts_its_likeliest_intent() -> None:
    ranking = {"nlu_fallback": 0.5, "report_fault": 0.45, "query_balance": 0.4}
    assert first_request_of_clauses(BALANCE_THEN_FAULT, ranking, "nlu_fallback") == "query_balance"


@pytest.mark.parametrize(
    ("votes", "ranking", "intent"),
    [
        # one request only
        ([("query_balance", 0.9), ("query_balance", 0.8)], {"query_balance": 0.9}, "query_balance"),
        # a clause the regression is unsure of is no request
        (
            [("query_balance", 0.5), ("report_fault", 0.8)],
            {"query_balance": 0.4, "report_fault": 0.5},
            "report_fault",
        ),
        # background: the whole message gives the first clause's intent almost nothing
        (
            [("roaming", 0.9), ("change_plan", 0.9)],
            {"change_plan": 0.85, "roaming": 0.1},
            "change_plan",
        ),
        # a complaint that mentions the balance and a fault stays a complaint
        (
            BALANCE_THEN_FAULT,
            {"complain": 0.5, "query_balance": 0.25, "report_fault": 0.2},
            "complain",
        ),
        # chit-chat is not a request
        (
            [("greet", 0.9), ("query_balance", 0.9)],
            {"query_balance": 0.6, "greet": 0.4},
            "query_balance",
        ),
        ([], {"query_balance": 0.9}, "query_balance"),
    ],
)
def test_no_decision_without_two_requests_held_by_the_message(votes, ranking, intent) -> None:
    assert first_request_of_clauses(votes, ranking, intent) is None


def _message(text: str, ranking: list[tuple[str, float]], votes: list[tuple[str, float]]):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    entries = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message.set("intent", entries[0])
    message.set("intent_ranking", entries)
    message.set("clause_votes", votes)
    return message


def test_the_component_sets_the_first_request_with_its_own_confidence() -> None:
    message = _message(
        "帮我看下账单吧 我家宽带从昨天就断了快点修",
        [("report_fault", 0.55), ("query_balance", 0.35), ("complain", 0.1)],
        BALANCE_THEN_FAULT,
    )
    out = MultiRequest().process([message])[0]
    assert out.get("intent") == {"name": "query_balance", "confidence": 0.35}
    assert out.get("requests") is None  # the cues' list: they found fewer than two
    assert [r["name"] for r in out.get("intent_ranking")] == [
        "query_balance",
        "report_fault",
        "complain",
    ]


def test_the_component_leaves_a_single_request_alone() -> None:
    ranking = [("change_plan", 0.85), ("roaming", 0.1)]
    message = _message("我下周去日本 想换个套餐", ranking, [("roaming", 0.9), ("change_plan", 0.9)])
    out = MultiRequest().process([message])[0]
    assert out.get("intent") == {"name": "change_plan", "confidence": 0.85}


def test_the_cues_list_the_requests_they_found() -> None:
    message = _message(
        "查一下余额，再看看流量还剩多少",
        [("nlu_fallback", 0.5), ("query_data_usage", 0.4), ("query_balance", 0.3)],
        [],
    )
    out = MultiRequest().process([message])[0]
    assert out.get("intent") == {"name": "query_balance", "confidence": 1.0}
    assert out.get("requests") == ["balance", "data_usage"]


def test_only_a_message_with_room_for_two_requests_is_read_clause_by_clause() -> None:
    assert may_hold_several({"query_balance": 0.4, "report_fault": 0.3, "greet": 0.3})
    assert not may_hold_several({"query_balance": 0.8, "report_fault": 0.1, "greet": 0.1})
    assert not may_hold_several({"greet": 0.5, "thanks": 0.5})


STORY = (
    "上周营业厅的人说我的账单可以在APP里看，我下载了以后登录要服务密码，我根本不记得设过，"
    "试了三次就锁了，麻烦帮我把密码重置一下"
)


def test_a_long_story_read_confidently_keeps_its_reading() -> None:
    assert len(STORY) >= STORY_LENGTH
    assert settled_story(STORY, "reset_password", {"reset_password": 0.95, "query_balance": 0.01})
    # unsure, fallen back, or short: the clauses and cues still decide
    assert not settled_story(STORY, "reset_password", {"reset_password": 0.6})
    assert not settled_story(STORY, "nlu_fallback", {"nlu_fallback": 0.9})
    short = "查一下余额，再看看流量还剩多少"
    assert not settled_story(short, "query_data_usage", {"query_data_usage": 0.9})


def test_the_component_keeps_a_storys_request_over_its_background() -> None:
    """The cues find the bill (background) before the password (the request)."""
    message = _message(
        STORY, [("reset_password", 0.95), ("query_balance", 0.01)], [("query_balance", 0.8)]
    )
    out = MultiRequest().process([message])[0]
    assert out.get("intent") == {"name": "reset_password", "confidence": 0.95}
    assert out.get("requests") is None


def test_the_component_reads_an_unsure_story_by_its_cues() -> None:
    message = _message(
        STORY, [("reset_password", 0.5), ("query_balance", 0.3)], [("query_balance", 0.8)]
    )
    out = MultiRequest().process([message])[0]
    assert out.get("intent") == {"name": "query_balance", "confidence": 1.0}
    assert out.get("requests") == ["balance", "reset_password"]
