"""The voice contract end to end on a router process with the REAL assistant behind it
(tests/gateway/voice/conftest.py): start, turns, partials, idempotent retries, conflicts, bad
input, who may call, the n-best choice, numbered options, the keypad fallback, barge-in,
transfer to a human and the hang-up that withdraws it, and the Jambonz adapter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from router.embedded_redis import RedisServer
from tests.gateway.conftest import ADMIN, SERVICE, Router, bearer
from tests.gateway.serve import PSEUDONYM, RASA, VOICE
from tests.gateway.test_browser_assistant import Assistant
from tests.gateway.voice.conftest import PREFIX, Call

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PAYLOADS = Path(__file__).parent / "jambonz"


def conversation_of(call_id: str) -> str:
    """The call's conversation id, as the router derives it (VoiceCalls.conversation_of)."""
    digest = hmac.new(PSEUDONYM.encode(), b"voice-call:" + call_id.encode(), hashlib.sha256)
    return "voice-" + digest.hexdigest()[:40]


def customer_messages(redis_server: RedisServer, call_id: str) -> list[str]:
    """The customer's messages in the call's conversation log (the gateway's store)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        entries = client.xrange(f"{PREFIX}gw:log:{conversation_of(call_id)}")
    finally:
        client.close()
    messages = [json.loads(fields["m"]) for _, fields in entries]
    return [m["text"] for m in messages if m["sender"] == "customer"]


def user_turns(assistant: Assistant, call_id: str) -> int:
    """How many customer turns the assistant's tracker holds for the call."""
    reply = httpx.get(
        f"{assistant.url}/conversations/{conversation_of(call_id)}/tracker",
        params={"token": RASA},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return sum(1 for e in reply.json()["events"] if e.get("event") == "user")


def test_start_greets_once_and_who_may_call(
    voice_stack: tuple[Router, Assistant], router_without_voice: Router
) -> None:
    router, _ = voice_stack
    with Call(router, "test-start-1") as call:
        first = call.start(caller="13800138000", callee="10086", started_ts=1_790_000_000_000)
        assert first.status_code == 201, first.text
        greeting = first.json()
        assert greeting["seq"] == -1 and greeting["action"] == "continue" and greeting["barge_in"]
        assert greeting["ssml"].startswith("<speak>") and greeting["expect"]["input"] == "speech"
        assert "handoff_id" not in greeting  # None fields are left out
        again = call.start()
        assert again.status_code == 200 and again.json() == greeting

    url = f"{router.url}/v1/voice/calls"
    body = {"call_id": "test-start-2"}
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, headers=bearer("x" * 43)).status_code == 401
    assert httpx.post(url, json=body, headers=bearer(SERVICE)).status_code == 403
    assert httpx.post(url, json=body, headers=bearer(ADMIN)).status_code == 403
    off = httpx.post(f"{router_without_voice.url}/v1/voice/calls", json=body, headers=bearer(VOICE))
    assert off.status_code == 404


def test_bad_input_is_a_4xx(voice_stack: tuple[Router, Assistant]) -> None:
    router, _ = voice_stack
    with Call(router, "test-bad-1") as call:
        assert call.start().status_code == 201
        for body in (
            {"seq": 0, "is_final": True, "alternatives": []},
            {"seq": 0, "is_final": True, "dtmf": ""},  # neither speech nor keys
            {"seq": 0, "is_final": True, "alternatives": [{"text": "x", "confidence": 2}]},
            {"seq": -1, "is_final": True, "alternatives": [{"text": "x", "confidence": 0.5}]},
            {"seq": 0, "is_final": True, "alternatives": [{"text": "x", "confidence": 0.5}],
             "dtmf": "12ab"},
            {"seq": 0},
        ):  # fmt: skip
            reply = call.post(body)
            assert reply.status_code == 422, reply.text
            assert "x" not in json.dumps(reply.json()["fields"]).replace("alternatives", "")
        assert call.client.post("/v1/voice/calls", content=b"{not json").status_code == 422
        assert call.client.post("/v1/voice/calls", json={"call_id": "a/b"}).status_code == 422
        turn = {"seq": 0, "is_final": True, "alternatives": [{"text": "你好", "confidence": 0.9}]}
        assert call.client.post("/v1/voice/calls/nope/turns", json=turn).status_code == 404
        assert call.client.post("/v1/voice/calls/bad%20id/turns", json=turn).status_code == 422
        assert (
            call.client.post("/v1/voice/calls/nope/end", json={"reason": "hangup"}).status_code
            == 404
        )
        assert call.end("bye").status_code == 422


def test_partials_retries_and_conflicts(
    make_call: Callable[[], Call], voice_stack: tuple[Router, Assistant], redis_server: RedisServer
) -> None:
    _, assistant = voice_stack
    call = make_call()
    partial = call.post(
        {"seq": 0, "is_final": False, "alternatives": [{"text": "我想查", "confidence": 0.5}]}
    )
    assert partial.status_code == 202 and partial.json() == {"accepted": True}
    assert customer_messages(redis_server, call.call_id) == []  # nothing else happened
    turn = {"seq": 0, "is_final": True, "alternatives": [{"text": "你好", "confidence": 0.9}],
            "timings": {"speech_start_ms": 10, "speech_end_ms": 900, "asr_ms": 120}}  # fmt: skip
    first = call.post(turn)
    assert first.status_code == 200, first.text
    retried = call.post(turn)
    assert retried.status_code == 200 and retried.json() == first.json()
    assert customer_messages(redis_server, call.call_id) == ["你好"]
    assert user_turns(assistant, call.call_id) == 1  # the assistant saw the turn once
    call.seq = 0
    call.say("谢谢")
    stale = call.post(turn)
    assert stale.status_code == 409


def test_numbered_options_and_the_n_best_choice(
    make_call: Callable[[], Call], redis_server: RedisServer
) -> None:
    call = make_call()
    hello = call.say("你好")
    assert "说'一'或按1" in hello["text"] and "说'二'或按2" in hello["text"]
    assert hello["expect"] == {"input": "speech_or_digits", "max_digits": 1, "timeout_s": 8}
    asked = call.say("一")  # option one: 查话费, its payload goes to the assistant
    assert customer_messages(redis_server, call.call_id)[-1] == "查话费"
    assert asked["expect"]["max_digits"] == 11 and asked["expect"]["end_key"] == "#"
    assert asked["barge_in"] is False  # the privacy notice before the number is asked for
    # the recogniser's first guess is a homophone (要 for 幺): the one that is a number wins
    id_asked = call.say(("要三八零零幺三八零零零", 0.91), ("幺三八零零幺三八零零零", 0.84))
    assert customer_messages(redis_server, call.call_id)[-1] == "13800138000"
    assert id_asked["expect"]["max_digits"] == 6
    assert "尾号为8000的号码" in id_asked["text"] or "8000" in id_asked["ssml"]
    balance = call.say("幺五幺二三八")
    assert balance["action"] == "continue" and balance["barge_in"] is True
    assert 'interpret-as="cardinal"' in balance["ssml"] and "元" in balance["text"]


def test_keypad_after_two_failed_tries_by_voice(
    make_call: Callable[[], Call], redis_server: RedisServer
) -> None:
    call = make_call()
    asked = call.say("查话费")
    assert asked["expect"]["input"] == "speech_or_digits"
    once = call.say("幺三八")
    assert once["expect"]["input"] == "speech_or_digits"  # one failure: still by voice
    twice = call.say("幺三八零零")
    assert twice["expect"] == {"input": "digits", "max_digits": 11, "end_key": "#",
                               "timeout_s": 15}  # fmt: skip
    assert "请在手机键盘上输入" in twice["text"] and "按井号键结束，按星号键删除" in twice["text"]
    # typed with a slip corrected by *, ended by #
    id_asked = call.press("13800138009*0#")
    assert customer_messages(redis_server, call.call_id)[-1] == "13800138000"
    assert id_asked["expect"]["max_digits"] == 6 and id_asked["expect"]["input"] != "digits"
    balance = call.press("151238#")
    assert "元" in balance["text"]


def test_transfer_to_a_human_and_the_hang_up_that_withdraws_it(
    make_call: Callable[[], Call], voice_stack: tuple[Router, Assistant]
) -> None:
    router, _ = voice_stack
    call = make_call()
    transfer = call.say("转人工")
    assert transfer["action"] == "transfer", transfer
    assert transfer["handoff_id"] and transfer["queue"]
    assert transfer["barge_in"] is False
    handoff = httpx.get(
        f"{router.url}/v1/handoffs/{transfer['handoff_id']}", headers=bearer(ADMIN)
    ).json()
    assert handoff["channel"] == "voice" and handoff["status"] == "queued"
    assert call.end("hangup").json() == {"ended": True}
    assert call.end("hangup").status_code == 200  # ending again changes nothing
    gone = httpx.get(
        f"{router.url}/v1/handoffs/{transfer['handoff_id']}", headers=bearer(ADMIN)
    ).json()
    assert gone["status"] == "abandoned"
    late = call.post(
        {"seq": 9, "is_final": True, "alternatives": [{"text": "喂", "confidence": 1}]}
    )
    assert late.status_code == 409


def _hook(name: str, call_sid: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return {**body, "call_sid": call_sid}


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"jambonz:{password}".encode()).decode()}


def test_the_jambonz_adapter(voice_stack: tuple[Router, Assistant]) -> None:
    router, _ = voice_stack
    sid = "test-jambonz-1"
    with httpx.Client(base_url=router.url, headers=basic(VOICE), timeout=120) as jambonz:
        (greeting,) = jambonz.post("/v1/voice/jambonz/call", json=_hook("call", sid)).json()
        assert greeting["verb"] == "gather" and greeting["actionHook"] == "/v1/voice/jambonz/gather"
        assert greeting["say"]["text"].startswith("<speak>")
        asked = jambonz.post(
            "/v1/voice/jambonz/gather", json=_hook("gather_speech_transcripts", sid)
        ).json()
        assert asked[0]["verb"] == "gather" and asked[0]["maxDigits"] == 11
        assert asked[0]["bargein"] is False  # the privacy notice is heard whole
        chosen = jambonz.post("/v1/voice/jambonz/gather", json=_hook("gather_speech", sid))
        assert chosen.json()[0]["maxDigits"] == 6
        silent = jambonz.post("/v1/voice/jambonz/gather", json=_hook("gather_timeout", sid))
        assert "没有听到" in silent.json()[0]["say"]["text"]
        balance = jambonz.post("/v1/voice/jambonz/gather", json=_hook("gather_dtmf", sid))
        assert "元" in balance.json()[0]["say"]["text"]
        done = jambonz.post("/v1/voice/jambonz/status", json=_hook("status_completed", sid))
        assert done.status_code == 204
        unknown = jambonz.post("/v1/voice/jambonz/status", json=_hook("status_completed", "x-9"))
        assert unknown.status_code == 204
        assert jambonz.post("/v1/voice/jambonz/gather", json={"reason": "x"}).status_code == 400
    wrong = httpx.post(
        f"{router.url}/v1/voice/jambonz/call", json=_hook("call", "x-1"), headers=basic("nope")
    )
    assert wrong.status_code == 401
    bearer_only = httpx.post(
        f"{router.url}/v1/voice/jambonz/call", json=_hook("call", "x-1"), headers=bearer(VOICE)
    )
    assert bearer_only.status_code == 401
