"""router/gateway/voice/jambonz.py (pure part) and the contract's models, against Jambonz-shaped
payloads written from its public documentation (tests/gateway/voice/jambonz/*.json)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from router.gateway.voice import jambonz
from router.gateway.voice.models import CallStart, Expect, VoiceAnswer, VoiceTurn

PAYLOADS = Path(__file__).parent / "jambonz"


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return loaded


def answer(**changes: Any) -> VoiceAnswer:
    base = VoiceAnswer(
        call_id="c1", seq=0, text="您好。", ssml="<speak>您好。</speak>", barge_in=True,
        expect=Expect(input="speech", timeout_s=8), action="continue",
    )  # fmt: skip
    return base.model_copy(update=changes)


def test_gather_speech_and_digits_become_contract_turns() -> None:
    hook = jambonz.GatherHook.model_validate(payload("gather_speech"))
    turn = jambonz.turn_of(hook, 3)
    assert turn is not None and turn.seq == 3 and turn.is_final and turn.dtmf is None
    assert [(a.text, a.confidence) for a in turn.alternatives] == [
        ("要三八零零幺三八零零零", 0.91),
        ("幺三八零零幺三八零零零", 0.84),
    ]
    newer = jambonz.turn_of(
        jambonz.GatherHook.model_validate(payload("gather_speech_transcripts")), 1
    )
    assert newer is not None and newer.alternatives[0].text == "嗯那个我想查一下话费"
    typed = jambonz.turn_of(jambonz.GatherHook.model_validate(payload("gather_dtmf")), 4)
    assert typed is not None and typed.dtmf == "151238#" and typed.alternatives == []
    assert jambonz.turn_of(jambonz.GatherHook.model_validate(payload("gather_timeout")), 5) is None


def test_the_call_hook_and_its_numbers() -> None:
    hook = jambonz.CallHook.model_validate(payload("call"))
    assert hook.call_sid == "b5e39996-bd2f-4bda-b928-355147186a2a"
    assert jambonz.caller_number(hook.from_) == "+8613800138000"
    assert jambonz.caller_number("sip:alice@example.com") is None
    status = jambonz.StatusHook.model_validate(payload("status_completed"))
    assert jambonz.ENDS[status.call_status] == "hangup"
    with pytest.raises(ValidationError):
        jambonz.CallHook.model_validate({**payload("call"), "call_sid": "bad id/../"})


def test_verbs_of_each_action() -> None:
    (gather,) = jambonz.verbs(answer())
    assert gather == {
        "verb": "gather", "actionHook": "/v1/voice/jambonz/gather", "input": ["speech"],
        "bargein": True, "dtmfBargein": True, "listenDuringPrompt": True, "timeout": 8,
        "say": {"text": "<speak>您好。</speak>"},
    }  # fmt: skip
    number = jambonz.verbs(
        answer(expect=Expect(input="digits", max_digits=11, end_key="#", timeout_s=15))
    )[0]
    assert (number["input"], number["maxDigits"], number["finishOnKey"]) == (["digits"], 11, "#")
    options = jambonz.verbs(
        answer(expect=Expect(input="speech_or_digits", max_digits=1, timeout_s=8))
    )[0]
    assert options["input"] == ["speech", "digits"] and options["numDigits"] == 1
    notice = jambonz.verbs(answer(barge_in=False))[0]
    assert not notice["bargein"] and not notice["listenDuringPrompt"]
    assert jambonz.verbs(answer(action="hangup")) == [
        {"verb": "say", "text": "<speak>您好。</speak>"},
        {"verb": "hangup"},
    ]
    transfer = jambonz.verbs(answer(action="transfer", handoff_id="h000000000001", queue="billing"))
    assert transfer[1] == {"verb": "enqueue", "name": "billing"}


def sign(body: bytes, secret: str, ts: int) -> str:
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def test_the_jambonz_signature() -> None:
    body = json.dumps(payload("call")).encode()
    secret, now = "s" * 40, 1_790_000_000
    assert jambonz.signature_valid(sign(body, secret, now), body, secret, now + 10)
    assert jambonz.signature_valid(f"{sign(body, secret, now)},v1=00", body, secret, now)
    assert not jambonz.signature_valid(sign(body, "t" * 40, now), body, secret, now)
    assert not jambonz.signature_valid(sign(body + b" ", secret, now), body, secret, now)
    assert not jambonz.signature_valid(sign(body, secret, now), body, secret, now + 301)
    assert not jambonz.signature_valid(None, body, secret, now)
    assert not jambonz.signature_valid("v1=abc", body, secret, now)


@pytest.mark.parametrize(
    "bad",
    [
        {"seq": -1},
        {"alternatives": []},
        {"alternatives": [{"text": "x", "confidence": 1.5}]},
        {"alternatives": [{"text": "x" * 501, "confidence": 0.5}]},
        {"alternatives": [{"text": "x", "confidence": 0.5}] * 11},
        {"dtmf": "12a"},
        {"extra": 1},
    ],
)
def test_turns_are_validated_strictly(bad: dict[str, Any]) -> None:
    good = {"seq": 0, "is_final": True, "alternatives": [{"text": "查话费", "confidence": 0.9}]}
    VoiceTurn.model_validate(good)
    with pytest.raises(ValidationError):
        VoiceTurn.model_validate({**good, **bad})


def test_call_ids_and_numbers_are_validated() -> None:
    CallStart.model_validate({"call_id": "sip:abc-1.2_3", "caller": "+8613800138000"})
    for bad in ({"call_id": ""}, {"call_id": "a/b"}, {"call_id": "x" * 65},
                {"call_id": "ok", "caller": "138-0013"}):  # fmt: skip
        with pytest.raises(ValidationError):
            CallStart.model_validate(bad)
