"""The router side of the assistant's reading for the voice channel: `requested_slot` rides with
the replies, the archive's feed leaves it out; /model/parse answers read by bot.parse_of."""

from __future__ import annotations

from router.gateway import archive_feed
from router.gateway.bot import Parse, parse_of, parse_replies, reading_of


def test_the_requested_slot_is_read_but_not_archived() -> None:
    reading = {"intent": "query_balance", "confidence": 0.9, "requested_slot": "phone_number"}
    body = [{"recipient_id": "c", "text": "请告诉我手机号码。"},
            {"recipient_id": "c", "custom": {"reading": reading}}]  # fmt: skip
    replies = parse_replies(body)
    assert [r.text for r in replies] == ["请告诉我手机号码。"]
    assert (reading_of(replies) or {})["requested_slot"] == "phone_number"
    fields = archive_feed.reading("1-0", reading)
    assert "requested_slot" not in fields
    assert "phone_number" not in "".join(fields.values())
    assert set(fields) == set(archive_feed.reading("1-0", {"intent": "greet"}))


def test_a_parse_answer() -> None:
    body = {
        "text": "我想查话费",
        "intent": {"name": "query_balance", "confidence": 0.93},
        "entities": [{"entity": "phone_number", "value": "13800138000"}, {"value": "x"}],
        "urgency": {"name": "normal"},
    }
    assert parse_of(body) == Parse("query_balance", 0.93, (("phone_number", "13800138000"),))
    assert parse_of({"intent": {"name": None, "confidence": True}}) == Parse(None, 0.0)
    assert parse_of([]) is None and parse_of({"text": "x"}) is None
