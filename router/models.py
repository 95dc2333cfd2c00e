"""Payloads that cross the process boundary: one pydantic model per payload."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

AgentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Skill = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
ConversationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
CustomerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
ShortText = Annotated[str, StringConstraints(max_length=64)]
Level = Annotated[int, Field(ge=1, le=5)]


class Presence(StrEnum):
    available = "available"
    away = "away"
    offline = "offline"


# The kernel's levels (telecom.urgency.LEVELS) in its order: tests/router/test_models.py.
class Urgency(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    critical = "critical"


class HandoffStatus(StrEnum):
    queued = "queued"
    offered = "offered"
    assigned = "assigned"
    completed = "completed"
    abandoned = "abandoned"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentUpdate(_Strict):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    skills: Annotated[dict[Skill, Level], Field(min_length=1, max_length=32)]
    languages: Annotated[list[Language], Field(min_length=1, max_length=16)]
    max_concurrent: Annotated[int, Field(ge=1, le=100)] = 1


class AgentPublic(BaseModel):
    agent_id: str
    display_name: str
    skills: dict[str, int]
    languages: list[str]
    max_concurrent: int
    status: Presence
    load: int
    pending_offers: int
    assigned: int
    missed_offers: int
    heartbeat_expires_at: datetime | None


class AgentCreated(AgentPublic):
    token: str = Field(description="Bearer token of this agent; shown only once.")


class AgentDeleted(AgentPublic):
    """The agent as its deletion left it: offline, nothing held."""

    returned_handoffs: list[str] = Field(
        description="Handoffs it held or was offered, put back in their queues at their original"
        " age (some may already be offered to another agent)."
    )


class AgentTokenRotated(BaseModel):
    agent_id: str
    token: str = Field(description="The agent's new bearer token; shown only once.")


class PresenceUpdate(_Strict):
    status: Presence


class Customer(_Strict):
    id: CustomerId | None = None
    tier: ShortText = "regular"


class TranscriptTurn(_Strict):
    role: ShortText
    text: Annotated[str, StringConstraints(max_length=8000)]
    ts: datetime | None = None


class HandoffCreate(_Strict):
    conversation_id: ConversationId
    channel: ShortText = "web"
    language: Language = "zh"
    intent: ShortText = ""
    urgency: Urgency = Urgency.normal
    skills: Annotated[list[Skill], Field(min_length=1, max_length=8)]
    customer: Customer = Field(default_factory=Customer)
    summary: Annotated[str, StringConstraints(max_length=8000)] = ""
    transcript: Annotated[list[TranscriptTurn | str], Field(max_length=500)] = []
    min_level: Level | None = Field(default=None, description="Required level in every skill.")

    @model_validator(mode="after")
    def _unique_skills(self) -> HandoffCreate:
        if len(set(self.skills)) != len(self.skills):
            raise ValueError("skills must be unique")
        return self


class HandoffCreated(BaseModel):
    handoff_id: str
    status: HandoffStatus
    queue_position: int | None
    estimated_wait_s: int


class HandoffPublic(BaseModel):
    handoff_id: str
    conversation_id: str
    channel: str
    language: str
    intent: str
    urgency: Urgency
    skills: list[str]
    customer: Customer
    summary: str
    transcript: list[TranscriptTurn | str]
    status: HandoffStatus
    agent_id: str | None
    offered_to: str | None
    created_at: datetime
    sla_deadline: datetime
    answered_at: datetime | None
    rescued: bool
    disposition: str | None


class OfferPublic(BaseModel):
    offer_id: str
    agent_id: str
    status: str
    created_at: datetime
    expires_at: datetime
    handoff: HandoffPublic


class OfferAnswer(BaseModel):
    offer_id: str
    handoff_id: str
    status: str


class Completion(_Strict):
    disposition: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "resolved"


class Transfer(_Strict):
    skills: Annotated[list[Skill], Field(min_length=1, max_length=8)] | None = None
    agent_id: AgentId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if self.skills is None and self.agent_id is None:
            raise ValueError("give skills or agent_id")
        return self


class PriorityUpdate(_Strict):
    urgency: Urgency


class QueueStats(BaseModel):
    skill: str
    depth: int
    oldest_wait_s: float
    agents_available: int


class AuditEntry(BaseModel):
    """One read of the access audit: who read what, when (ids only)."""

    id: str = Field(description="The entry's id in the audit stream (time-ordered).")
    at: datetime
    actor: str | None = Field(
        description="admin, service, agent:<agent id>, supervisor:<supervisor id> or "
        "analyst:<analyst id>"
    )
    action: str | None = Field(
        description="conversation, offers, events, handoff, agent, queues or audit"
    )
    conversation: str | None = None
    handoff: str | None = None
    agent: str | None = None


class SupervisorUpdate(_Strict):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class SupervisorPublic(BaseModel):
    supervisor_id: str
    display_name: str
    created_ms: int = Field(description="When it was created, epoch milliseconds")


class SupervisorCreated(SupervisorPublic):
    token: str = Field(description="Bearer token of this supervisor; shown only once.")


class SupervisorTokenRotated(BaseModel):
    supervisor_id: str
    token: str = Field(description="The supervisor's new bearer token; shown only once.")


class AnalystUpdate(_Strict):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class AnalystPublic(BaseModel):
    analyst_id: str
    display_name: str
    created_ms: int = Field(description="When it was created, epoch milliseconds")


class AnalystCreated(AnalystPublic):
    token: str = Field(description="Bearer token of this analyst; shown only once.")
