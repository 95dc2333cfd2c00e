"""Payloads of the gateway: what customers and agents send, and what they receive."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

ConversationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class Sender(StrEnum):
    customer = "customer"
    bot = "bot"
    agent = "agent"
    system = "system"


class Button(BaseModel):
    title: str
    payload: str


class ChatMessage(BaseModel):
    """One stored message of a conversation. `seq` is its id in the conversation's log."""

    seq: str | None = None
    sender: Sender
    text: str = ""
    buttons: list[Button] = []
    agent_name: str | None = None
    ts: int = Field(description="ms since the epoch")


Channel = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,16}$")]
METADATA_MAX_BYTES = 2048


class ConversationOpen(BaseModel):
    """POST /v1/chat/conversations: the channel the client speaks through (web widget, app…)."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel = "app"


class ConversationOpened(BaseModel):
    """The new conversation's id and its resume token: every later call carries the token
    (header X-Resume-Token; the socket's first frame). Shown once, stored only as a hash."""

    conversation_id: str
    resume_token: str


class ResumeFrame(BaseModel):
    """The first frame on /v1/chat/ws: which conversation, with its resume token."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["resume"]
    conversation_id: ConversationId
    resume_token: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    since: Annotated[str, StringConstraints(pattern=r"^\d{1,20}-\d{1,20}$")] | None = None


class CustomerMessage(BaseModel):
    """A customer's turn: typed text, or a clicked button (its title as text, its payload).

    Of `metadata` only a signed app login, {"login": {"phone", "ts", "nonce", "sig"}}, is used
    (router/gateway/edge.py): anything else in it is dropped, a malformed login too."""

    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(max_length=8000)] = ""
    payload: Annotated[str, StringConstraints(max_length=2000)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
            raise ValueError(f"metadata over {METADATA_MAX_BYTES} bytes")
        return value


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(min_length=1, max_length=8000)]


class Accepted(BaseModel):
    conversation_id: str
    seq: str


class ConversationState(BaseModel):
    """What the customer sees about who serves them."""

    conversation_id: str
    owner: str = Field(description="bot, queue (waiting for an agent) or agent")
    agent_name: str | None = None
    handoff_id: str | None = None
    queue_position: int | None = None
    estimated_wait_s: int | None = None
    estimated_wait_text: str | None = Field(
        default=None, description="the wait as the customer is told it (telecom.wait.wait_text)"
    )
    awaiting: str | None = Field(default=None, description="rating or comment during the survey")


class ConversationView(BaseModel):
    """What the serving agent sees: handoff (summary, transcript) and the masked history."""

    conversation_id: str
    handoff: dict[str, Any] | None
    messages: list[ChatMessage]
    rating: int | None = None
    comment: str | None = None


class Poll(BaseModel):
    state: ConversationState
    messages: list[ChatMessage]
