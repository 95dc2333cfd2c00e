"""A call's turns in the archive's feed (gw:archive) on a router process with the REAL assistant
behind it (tests/gateway/voice/conftest.py): the reading of a spoken turn carries the speech
confidence of the n-best alternative the voice channel chose (`asr_confidence`, for the inbox's
`low_asr`); a turn typed on the keypad carries none."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from router.embedded_redis import RedisServer
from router.keys import Keys
from tests.gateway.voice.conftest import PREFIX, Call
from tests.gateway.voice.test_calls import conversation_of, customer_messages

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def readings(redis_server: RedisServer, call_id: str) -> list[dict[str, str]]:
    """The reading entries of the call's conversation in the archive's feed, oldest first."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        entries = client.xrange(Keys(PREFIX).archive())
    finally:
        client.close()
    cid = conversation_of(call_id)
    return [f for _, f in entries if f.get("kind") == "reading" and f.get("conversation") == cid]


def test_a_spoken_turns_reading_carries_the_chosen_alternatives_confidence(
    make_call: Callable[[], Call], redis_server: RedisServer
) -> None:
    call = make_call()
    call.say(("你好", 0.88))
    assert [r["asr_confidence"] for r in readings(redis_server, call.call_id)] == ["0.8800"]
    call.say(("一", 0.57))  # option one, spoken (its payload goes to the assistant)
    assert readings(redis_server, call.call_id)[-1]["asr_confidence"] == "0.5700"
    # the recogniser's first guess is a homophone: the second, a valid number, is chosen
    call.say(("要三八零零幺三八零零零", 0.91), ("幺三八零零幺三八零零零", 0.84))
    assert customer_messages(redis_server, call.call_id)[-1] == "13800138000"
    assert readings(redis_server, call.call_id)[-1]["asr_confidence"] == "0.8400"
    call.press("151238#")  # typed on the keypad: no speech confidence
    found = readings(redis_server, call.call_id)
    assert [r["asr_confidence"] for r in found] == ["0.8800", "0.5700", "0.8400", ""]
    assert len({r["seq"] for r in found}) == 4  # one reading per customer turn
