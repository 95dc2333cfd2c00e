"""Payloads of the voice contract (docs/contracts.md, "Voice contract"): what the voice gateway
sends about a call and its turns, and the answer it speaks. Strict: unknown fields, a bad
call id, too many alternatives (or none without keys) or an out-of-range confidence are a 422,
never a 500."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CALL_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
CallId = Annotated[str, StringConstraints(pattern=CALL_ID_PATTERN)]
# the calling or called number as the gateway has it: E.164 (+8613800138000) or 11 digits
Number = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,20}$")]
Dtmf = Annotated[str, StringConstraints(pattern=r"^[0-9*#]{0,32}$")]
# the greeting answers no turn: its seq is -1
GREETING_SEQ = -1

InputKind = Literal["speech", "digits", "speech_or_digits"]
Action = Literal["continue", "transfer", "hangup"]
EndReason = Literal["hangup", "transfer_done", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallStart(_Strict):
    """POST /v1/voice/calls."""

    call_id: CallId
    caller: Number | None = None
    callee: Number | None = None
    started_ts: int | None = Field(default=None, ge=0, description="ms since the epoch")


class Alternative(_Strict):
    """One hypothesis of the speech recogniser (its n-best list)."""

    text: Annotated[str, StringConstraints(max_length=500)]
    confidence: float = Field(ge=0.0, le=1.0)


class Timings(_Strict):
    speech_start_ms: int | None = Field(default=None, ge=0)
    speech_end_ms: int | None = Field(default=None, ge=0)
    asr_ms: int | None = Field(default=None, ge=0)


class VoiceTurn(_Strict):
    """POST /v1/voice/calls/{call_id}/turns: one caller turn (a partial when not is_final).
    Keys alone (`dtmf`) need no alternatives; a turn with neither is a 422."""

    seq: int = Field(ge=0, le=1_000_000)
    is_final: bool
    alternatives: list[Alternative] = Field(default_factory=list, max_length=10)
    dtmf: Dtmf | None = None
    barge_in: bool = False
    timings: Timings | None = None

    @model_validator(mode="after")
    def _heard_something(self) -> VoiceTurn:
        if not self.alternatives and not self.dtmf:
            raise ValueError("a turn has 1..10 alternatives, or dtmf keys")
        return self


class CallEnd(_Strict):
    """POST /v1/voice/calls/{call_id}/end."""

    reason: EndReason


class Expect(BaseModel):
    """What the caller is expected to give next, and how long the gateway waits for it."""

    input: InputKind
    max_digits: int | None = None
    end_key: Literal["#"] | None = None
    timeout_s: int


class VoiceAnswer(BaseModel):
    """What the voice gateway says and does next (fields that are None are left out)."""

    call_id: str
    seq: int
    text: str = Field(description="plain, voice-shaped")
    ssml: str = Field(description="<speak>…</speak> with say-as for digits, amounts and dates")
    barge_in: bool
    expect: Expect
    action: Action
    handoff_id: str | None = None
    queue: str | None = None


class PartialAccepted(BaseModel):
    accepted: bool = True


class CallEnded(BaseModel):
    ended: bool = True
