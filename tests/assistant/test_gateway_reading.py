"""assistant.gateway_channel.turn_reading: the assistant's reading of a customer turn for the
archive, from the conversation's events; the ticket the turn opened, from what the ticket
actions say (their own reply functions, so a change of wording fails here)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from actions import ticket_triage
from assistant.gateway_channel import requested_slot, turn_reading


def _user(intent: str, confidence: float, second: float, message_id: str = "m-1") -> dict:
    return {
        "event": "user",
        "text": "我的号码是13800138000",
        "message_id": message_id,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [
                {"name": intent, "confidence": confidence},
                {"name": "other", "confidence": second},
            ],
            "entities": [{"entity": "phone_number", "value": "13800138000"}],
            "urgency": {"name": "high", "confidence": 0.9},
        },
    }


def test_a_turn_read_whole() -> None:
    events = [
        _user("greet", 0.99, 0.01, "m-0"),
        {"event": "action", "name": "utter_greet"},
        _user("query_balance", 0.9, 0.25),
        {"event": "action", "name": "action_verify"},
        {"event": "slot", "name": "verified_phone", "value": "13800138000"},
        {"event": "action", "name": "action_query_balance"},
        {"event": "bot", "text": "您的话费余额为 58.20 元。"},
        {"event": "action", "name": "action_listen"},
    ]
    reading = turn_reading(events, "m-1")
    assert reading == {
        "intent": "query_balance",
        "confidence": 0.9,
        "margin": 0.9 - 0.25,
        "urgency": "high",
        "entities": ["phone_number"],
        "fallback": False,
        "action": "action_query_balance",
        "ticket": None,
        "customer": "13800138000",
        "requested_slot": None,
    }
    assert "13800138000" not in str({k: v for k, v in reading.items() if k != "customer"})
    assert turn_reading(events, "m-0")["customer"] is None  # verified in a later turn
    assert turn_reading(events, "nope") is None


def test_fallback_by_intent_or_by_action() -> None:
    assert turn_reading([_user("nlu_fallback", 0.3, 0.2)], None)["fallback"] is True
    clarified = [_user("faq", 0.5, 0.45), {"event": "action", "name": "action_clarify"}]
    assert turn_reading(clarified, None)["fallback"] is True


def test_the_ticket_a_turn_opened() -> None:
    now = datetime(2026, 12, 4, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert now  # the reply functions need no clock for these cases
    said = {
        "complaint": ticket_triage.next_steps("complaint", "major", "T20261204-000012", None),
        "fault": ticket_triage.next_steps("fault", None, "T20261204-000013", None),
        "callback": ticket_triage.next_steps("callback", None, "T20261204-000014", None),
    }
    for kind, text in said.items():
        events = [
            _user("complain", 0.9, 0.1),
            {"event": "action", "name": "action_create_ticket"},
            {"event": "bot", "text": text},
        ]
        ticket = turn_reading(events, None)["ticket"]
        assert ticket is not None and (ticket["kind"], ticket["id"][:9]) == (kind, "T20261204")
    assert turn_reading(
        [_user("complain", 0.9, 0.1), {"event": "action", "name": "action_create_ticket"},
         {"event": "bot", "text": said["complaint"]}], None
    )["ticket"]["severity"] == "major"  # fmt: skip
    # a ticket merely named (the same issue again) is not one opened
    repeat = (
        "您在24小时内已经就同一问题联系过我们（工单号 T20261204-000012），正在为您转接人工客服。"
    )
    events = [
        _user("complain", 0.9, 0.1),
        {"event": "action", "name": "action_create_ticket"},
        {"event": "bot", "text": repeat},
    ]
    assert turn_reading(events, None)["ticket"] is None


def test_the_slot_the_assistant_asks_for_next() -> None:
    """requested_slot: the last one the turn's events set, kept by later turns of the same form,
    gone once the form ends (the voice channel expects a number from it)."""
    asked = [
        _user("query_balance", 0.9, 0.1, "m-1"),
        {"event": "action", "name": "verification_form"},
        {"event": "active_loop", "name": "verification_form"},
        {"event": "slot", "name": "requested_slot", "value": "phone_number"},
        {"event": "bot", "text": "请告诉我需要办理业务的手机号码。"},
        {"event": "action", "name": "action_listen"},
    ]
    assert turn_reading(asked, "m-1")["requested_slot"] == "phone_number"
    answered = [
        *asked,
        _user("inform", 0.9, 0.1, "m-2"),
        {"event": "slot", "name": "phone_number", "value": "13800138000"},
        {"event": "slot", "name": "requested_slot", "value": "id_last6"},
        {"event": "action", "name": "action_listen"},
    ]
    assert turn_reading(answered, "m-2")["requested_slot"] == "id_last6"
    assert turn_reading(answered, "m-1")["requested_slot"] == "phone_number"  # its own turn's
    # a wrong answer sets nothing new: the form still asks for the same slot
    again = [
        *answered,
        _user("inform", 0.5, 0.4, "m-3"),
        {"event": "action", "name": "action_listen"},
    ]
    assert turn_reading(again, "m-3")["requested_slot"] == "id_last6"
    done = [
        *again,
        _user("inform", 0.9, 0.1, "m-4"),
        {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "active_loop", "name": None},
        {"event": "bot", "text": "您的话费余额为 58.20 元。"},
    ]
    assert turn_reading(done, "m-4")["requested_slot"] is None
    assert requested_slot([{"event": "active_loop", "name": None}]) is None
