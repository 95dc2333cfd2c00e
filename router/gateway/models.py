"""Payloads of the gateway: what customers and agents send, and what they receive."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class CustomerMessage(BaseModel):
    """A customer's turn: typed text, or a clicked button (its title as text, its payload)."""

    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(max_length=8000)] = ""
    payload: Annotated[str, StringConstraints(max_length=2000)] | None = None
    # passed on to the assistant, e.g. {"login": {"phone", "ts", "sig"}} from a signed app login
    metadata: dict[str, Any] = Field(default_factory=dict)


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
