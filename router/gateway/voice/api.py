"""The voice contract's routes (docs/contracts.md, "Voice contract"), for the voice gateway only.

Who may call: the voice gateway, a trusted service with its own secret, ROUTER_VOICE_TOKEN, as
`Authorization: Bearer …` (Jambonz's hooks: HTTP basic auth with it as the password,
router/gateway/voice/jambonz.py). Without ROUTER_VOICE_TOKEN the voice channel is off and every
voice route answers 404. No or an unknown token: 401; a token of another router role (admin,
service): 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from router import auth, errors
from router.gateway.voice.models import (
    CALL_ID_PATTERN,
    CallEnd,
    CallEnded,
    CallStart,
    PartialAccepted,
    VoiceAnswer,
    VoiceTurn,
)
from router.gateway.voice.service import VoiceCalls
from router.settings import Settings

router = APIRouter(tags=["voice"])
CallIdPath = Annotated[str, Path(pattern=CALL_ID_PATTERN)]


def check_token(settings: Settings, token: str | None) -> None:
    """`token` is ROUTER_VOICE_TOKEN; Unauthorized or Forbidden otherwise (see the module)."""
    if not token:
        raise errors.Unauthorized()
    if auth.token_matches(token, settings.voice_token):
        return
    if auth.static_principal(token, settings.admin_token, settings.service_token) is not None:
        raise errors.Forbidden()
    raise errors.Unauthorized()


def voice_calls(request: Request) -> VoiceCalls:
    """The process's VoiceCalls; NotFound while the voice channel is off."""
    calls: VoiceCalls | None = getattr(request.app.state, "voice_calls", None)
    if calls is None:
        raise errors.NotFound()
    return calls


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


async def bearer_caller(request: Request) -> VoiceCalls:
    """The voice gateway with its bearer token."""
    calls = voice_calls(request)
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    check_token(settings_of(request), token.strip() if scheme.lower() == "bearer" else None)
    return calls


async def basic_caller(request: Request) -> VoiceCalls:
    """Jambonz with HTTP basic auth, the password being the voice token (any user name)."""
    calls = voice_calls(request)
    scheme, _, encoded = (request.headers.get("authorization") or "").partition(" ")
    password = None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        password = decoded.partition(":")[2] or None
    check_token(settings_of(request), password)  # Jambonz sends it unasked: no challenge
    return calls


VoiceCaller = Annotated[VoiceCalls, Depends(bearer_caller)]


@router.post("/v1/voice/calls", status_code=201, response_model_exclude_none=True)
async def start_call(body: CallStart, calls: VoiceCaller, response: Response) -> VoiceAnswer:
    """A call starts: its greeting (201). The same call_id again: the same answer (200)."""
    answer, created = await calls.start(body)
    if not created:
        response.status_code = 200
    return answer


@router.post(
    "/v1/voice/calls/{call_id}/turns",
    response_model=VoiceAnswer,
    response_model_exclude_none=True,
    responses={202: {"model": PartialAccepted, "description": "a partial result, ignored"}},
)
async def call_turn(call_id: CallIdPath, body: VoiceTurn, calls: VoiceCaller) -> Response:
    """One caller turn: the answer to speak. A partial (is_final false): 202 and nothing else.
    The same seq again: the same answer (the assistant sees the turn once); a lower seq: 409."""
    if not body.is_final:
        return JSONResponse(PartialAccepted().model_dump(), status_code=202)
    answer = await calls.turn(call_id, body)
    return JSONResponse(answer.model_dump(mode="json", exclude_none=True))


@router.post("/v1/voice/calls/{call_id}/end")
async def end_call(call_id: CallIdPath, body: CallEnd, calls: VoiceCaller) -> CallEnded:
    """The call is over (hangup, transfer_done, error); a queued handoff is withdrawn unless the
    caller was put through."""
    await calls.end(call_id, body.reason)
    return CallEnded()
