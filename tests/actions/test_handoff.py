"""actions/handoff.py: why and to whom a conversation goes, the payload, the queue reply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions import handoff

SECRET = "test-secret"


def user(text: str, intent: str, ts: float = 1_795_000_000.0) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": ts,
        "parse_data": {"intent": {"name": intent}},
    }


def bot(text: str, ts: float = 1_795_000_001.0) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": ts}


EVENTS = [
    {"event": "action", "name": "action_listen"},
    user("你好", "greet"),
    bot("您好，我是智能客服"),
    user("查一下话费余额", "query_balance"),
    bot("请提供手机号"),
    user("13800138000", "inform"),
    user("/affirm", "affirm"),
    {"event": "slot", "name": "phone_number", "value": "13800138000"},
    user("转人工", "request_human"),
]


@pytest.mark.parametrize(
    ("intent", "reason", "skills"),
    [
        ("query_balance", "request_human", ["billing"]),
        ("change_plan", None, ["plans_data"]),
        ("faq/data_pack", None, ["plans_data"]),
        ("roaming", "fallback", ["roaming"]),
        ("reset_password", None, ["account_security"]),
        ("query_balance", "verification_locked", ["account_security"]),
        ("query_plan", "major_complaint", ["complaints_supervisor"]),
        ("complain", "major_complaint", ["complaints_supervisor"]),
        ("complain", None, ["complaints"]),
        ("report_fault", "critical_urgency", ["network_faults"]),
        (None, "request_human", [handoff.DEFAULT_SKILL]),
    ],
)
def test_skills_for_intent_and_reason(
    intent: str | None, reason: str | None, skills: list[str]
) -> None:
    assert handoff.skills_for(intent, reason) == skills


def test_handoff_intent_skips_requests_without_content() -> None:
    assert handoff.handoff_intent(EVENTS) == "query_balance"
    assert handoff.handoff_intent([user("转人工", "request_human")]) is None


def test_transcript_masks_numbers_and_skips_payloads() -> None:
    turns = handoff.transcript_from_events(EVENTS)
    assert [t["role"] for t in turns] == [
        "customer",
        "bot",
        "customer",
        "bot",
        "customer",
        "customer",
    ]
    assert turns[4]["text"] == "138****8000"
    assert all("13800138000" not in t["text"] for t in turns)
    assert turns[0]["ts"].startswith("2026-")
    assert handoff.transcript_from_events(EVENTS, limit=2) == turns[-2:]


def test_build_handoff_payload() -> None:
    payload = handoff.build_handoff(
        "conv-1",
        intent="request_human",
        events=EVENTS,
        phone="13800138000",
        tier="gold",
        verified_level="basic",
        secret=SECRET,
        bot_actions=["已为客户 13800138000 查询余额"],
    )
    assert payload["intent"] == "query_balance"
    assert payload["skills"] == ["billing"]
    assert payload["language"] == "zh"
    assert payload["urgency"] == "normal"
    customer = payload["customer"]
    assert customer["tier"] == "gold"
    assert customer["id"] == handoff.customer_ref("13800138000", SECRET)
    assert customer["id"].startswith("c-") and "138" not in customer["id"]
    summary = payload["summary"]
    assert "查询话费余额" in summary and "客户要求转人工" in summary
    assert "138****8000" in summary and "金卡" in summary and "已验证" in summary
    assert "13800138000" not in json.dumps(payload, ensure_ascii=False)


def test_reasons_raise_urgency() -> None:
    assert (
        handoff.build_handoff("c", intent="complain", reason="major_complaint")["urgency"] == "high"
    )
    critical = handoff.build_handoff("c", intent="report_fault", reason="critical_urgency")
    assert critical["urgency"] == "critical"
    assert handoff.build_handoff("c", urgency="bogus")["urgency"] == "normal"
    unverified = handoff.build_summary(intent=None, reason="fallback")
    assert "未验证" in unverified and "未提供手机号" in unverified


@pytest.mark.parametrize(
    ("intent", "slot_reason", "previous", "identity", "reason"),
    [
        ("request_human", None, "action_answer_balance", None, "request_human"),
        ("request_human", None, "utter_offer_human", None, "fallback"),
        ("affirm", None, "utter_offer_human", None, "fallback"),
        ("affirm", None, "verification_form", "failed", "verification_locked"),
        ("request_human", None, "verification_form", "failed", "verification_locked"),
        ("complain", "major_complaint", "action_start_ticket", None, "major_complaint"),
        ("inform", "repeat_contact", "ticket_form", None, "repeat_contact"),
        ("request_human", "repeat_contact", "action_listen", None, "request_human"),
    ],
)
def test_handoff_reason(intent, slot_reason, previous, identity, reason):
    assert (
        handoff.handoff_reason(
            intent=intent, slot_reason=slot_reason, previous=previous, identity_status=identity
        )
        == reason
    )


def test_previous_action_skips_listen_and_this_turn():
    events = [
        {"event": "action", "name": "verification_form"},
        {"event": "active_loop", "name": None},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "好的"},
        {"event": "action", "name": "action_something_this_turn"},
    ]
    assert handoff.previous_action(events) == "verification_form"


@pytest.mark.parametrize(
    ("created", "text"),
    [
        (
            {"status": "queued", "queue_position": 4, "estimated_wait_s": 150},
            "您前面还有3位，预计等待约3分钟",
        ),
        (
            {"status": "queued", "queue_position": 1, "estimated_wait_s": 0},
            "您已排在最前面，预计等待不到1分钟",
        ),
        ({"status": "offered", "queue_position": None, "estimated_wait_s": 0}, "客服马上就来"),
    ],
)
def test_queued_message(created, text):
    assert text in handoff.queued_message(created, again=False)
