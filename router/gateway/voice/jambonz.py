"""The Jambonz adapter: Jambonz's webhooks in, Jambonz verb arrays out, thin over the voice
contract (VoiceCalls). Written from Jambonz's public documentation (docs.jambonz.org: the call
webhook, the `gather` verb and its actionHook payload, `say`, `hangup`, `enqueue`, the call
status hook, "Securing HTTP endpoints").

- POST /v1/voice/jambonz/call — the application's call webhook ({call_sid, from, to, …}): the
  call starts; the greeting as verbs.
- POST /v1/voice/jambonz/gather — the gather's actionHook ({call_sid, reason, speech:
  {alternatives: [{transcript, confidence}]}, digits}): reason speechDetected → a turn with the
  n-best alternatives, dtmfDetected → a turn with the digits, timeout (or anything else) → the
  last prompt again (after three silences in a row, goodbye). Jambonz numbers no turns: the seq
  is the call's next one, so a hook Jambonz posted twice would be two turns.
- POST /v1/voice/jambonz/status — the call status hook: `completed` ends the call as a hang-up
  (a handoff still waiting is withdrawn; one already assigned stays), `failed`, `no-answer`,
  `busy` as an error; other statuses are ignored. 204.

Verbs: `gather` with a nested `say` (SSML; `bargein` and `listenDuringPrompt` from the answer's
barge_in, so a notice is heard whole), `input` from the answer's expect, `maxDigits` and
`finishOnKey` "#" for a number, `numDigits` 1 for numbered options; `say` + `hangup`; for a
transfer `say` + `enqueue` named after the handoff's queue (its first skill). Enqueue, not dial:
the router assigns the agent later (offer, accept in the console, with the summary and the
transcript), so at transfer time there is no one to dial; the call waits in the Jambonz queue of
that skill, from which the agent's phone dequeues it once the router has assigned them.

Auth: HTTP basic, the password being ROUTER_VOICE_TOKEN (api.basic_caller). When
ROUTER_VOICE_JAMBONZ_SECRET is set, every hook must also carry a valid `Jambonz-Signature`:
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>` (several v1 allowed),
at most SIGNATURE_TOLERANCE_S old — the scheme of Jambonz's own Node SDK
(WebhookResponse.verifyJambonzSignature).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router import errors
from router.gateway.voice.api import basic_caller, settings_of
from router.gateway.voice.models import (
    CALL_ID_PATTERN,
    Alternative,
    CallStart,
    VoiceAnswer,
    VoiceTurn,
)
from router.gateway.voice.service import VoiceCalls

router = APIRouter(tags=["voice (Jambonz)"])
GATHER_HOOK = "/v1/voice/jambonz/gather"
SIGNATURE_HEADER = "jambonz-signature"
SIGNATURE_TOLERANCE_S = 300
DEFAULT_QUEUE = "voice"
ENDS = {"completed": "hangup", "failed": "error", "no-answer": "error", "busy": "error"}
_INPUTS = {"speech": ["speech"], "digits": ["digits"], "speech_or_digits": ["speech", "digits"]}


class _Hook(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Jambonz sends many fields we do not use
    call_sid: str = Field(pattern=CALL_ID_PATTERN)


class CallHook(_Hook):
    from_: str | None = Field(default=None, alias="from", max_length=256)
    to: str | None = Field(default=None, max_length=256)


class SpeechAlternative(BaseModel):
    model_config = ConfigDict(extra="ignore")
    transcript: str = Field(default="", max_length=500)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)


class Speech(BaseModel):
    model_config = ConfigDict(extra="ignore")
    is_final: bool = True
    alternatives: list[SpeechAlternative] = Field(default_factory=list, max_length=10)
    # the shape of newer releases and the websocket API: transcripts[].alternatives
    transcripts: list[Speech] = Field(default_factory=list, max_length=10)

    def n_best(self) -> list[SpeechAlternative]:
        return self.alternatives or [a for t in self.transcripts[:1] for a in t.alternatives]


class GatherHook(_Hook):
    reason: str = Field(default="", max_length=64)
    speech: Speech | None = None
    digits: str | None = Field(default=None, pattern=r"^[0-9*#]{0,32}$")


class StatusHook(_Hook):
    call_status: str = Field(default="", max_length=32)


H = TypeVar("H", bound=_Hook)


# -- verbs (pure) ------------------------------------------------------------------------------
def verbs(answer: VoiceAnswer) -> list[dict[str, Any]]:
    """The Jambonz application that speaks `answer` and does what it says next."""
    say = {"verb": "say", "text": answer.ssml}
    if answer.action == "hangup":
        return [say, {"verb": "hangup"}]
    if answer.action == "transfer":
        return [say, {"verb": "enqueue", "name": answer.queue or DEFAULT_QUEUE}]
    expect = answer.expect
    gather: dict[str, Any] = {
        "verb": "gather",
        "actionHook": GATHER_HOOK,
        "input": _INPUTS[expect.input],
        "bargein": answer.barge_in,
        "dtmfBargein": answer.barge_in,
        "listenDuringPrompt": answer.barge_in,
        "timeout": expect.timeout_s,
        "say": {"text": answer.ssml},
    }
    if expect.input != "speech" and expect.max_digits:
        if expect.end_key:
            gather["maxDigits"] = expect.max_digits
            gather["finishOnKey"] = expect.end_key
        else:
            gather["numDigits"] = expect.max_digits
    return [gather]


def turn_of(hook: GatherHook, seq: int) -> VoiceTurn | None:
    """The contract's turn of a gather result; None when nothing was said or typed."""
    if hook.reason == "dtmfDetected" and hook.digits:
        return VoiceTurn(seq=seq, is_final=True, dtmf=hook.digits)  # keys alone
    if hook.reason == "speechDetected" and hook.speech is not None:
        n_best = [a for a in hook.speech.n_best() if a.transcript.strip()]
        if n_best:
            alternatives = [Alternative(text=a.transcript, confidence=a.confidence) for a in n_best]
            return VoiceTurn(seq=seq, is_final=True, alternatives=alternatives)
    return None


def caller_number(value: str | None) -> str | None:
    """The calling number when `from` is one (E.164 or digits), else None (a SIP name…)."""
    if value and value.lstrip("+").isdigit() and 3 <= len(value.lstrip("+")) <= 20:
        return value
    return None


def signature_valid(header: str | None, body: bytes, secret: str, now_s: float) -> bool:
    """A Jambonz-Signature `t=…,v1=…[,v1=…]` over `body` with `secret`, not too old."""
    if not header:
        return False
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures or now_s - int(timestamp) > SIGNATURE_TOLERANCE_S:
        return False
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures)


# -- routes ------------------------------------------------------------------------------------
async def jambonz_caller(request: Request) -> VoiceCalls:
    """Basic auth, then the signature when a Jambonz secret is configured."""
    calls = await basic_caller(request)
    secret = settings_of(request).voice_jambonz_secret
    if secret is not None:
        body = await request.body()
        header = request.headers.get(SIGNATURE_HEADER)
        if not signature_valid(header, body, secret.get_secret_value(), time.time()):
            raise errors.Unauthorized("bad signature")
    return calls


JambonzCaller = Annotated[VoiceCalls, Depends(jambonz_caller)]


async def _hook(request: Request, model: type[H]) -> H:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError:
        raise errors.RouterError("not a Jambonz hook") from None


def _verbs(answer: VoiceAnswer) -> JSONResponse:
    return JSONResponse(verbs(answer))


@router.post("/v1/voice/jambonz/call", response_model=list[dict[str, Any]])
async def call_hook(request: Request, calls: JambonzCaller) -> JSONResponse:
    """A new call: the greeting (gather)."""
    hook = await _hook(request, CallHook)
    start = CallStart(call_id=hook.call_sid, caller=caller_number(hook.from_),
                      callee=caller_number(hook.to))  # fmt: skip
    answer, _ = await calls.start(start)
    return _verbs(answer)


@router.post("/v1/voice/jambonz/gather", response_model=list[dict[str, Any]])
async def gather_hook(request: Request, calls: JambonzCaller) -> JSONResponse:
    """What the caller said or typed: the answer; nothing: the last prompt again."""
    hook = await _hook(request, GatherHook)
    turn = turn_of(hook, await calls.next_seq(hook.call_sid))
    if turn is None:
        return _verbs(await calls.silence(hook.call_sid))
    return _verbs(await calls.turn(hook.call_sid, turn))


@router.post("/v1/voice/jambonz/status", status_code=204)
async def status_hook(request: Request, calls: JambonzCaller) -> Response:
    """The call's status changed: over (completed, failed…) ends it; anything else is ignored."""
    hook = await _hook(request, StatusHook)
    reason = ENDS.get(hook.call_status)
    if reason is not None:
        # a call that never reached the application: nothing to end
        with contextlib.suppress(errors.NotFound):
            await calls.end(hook.call_sid, "hangup" if reason == "hangup" else "error")
    return Response(status_code=204)
