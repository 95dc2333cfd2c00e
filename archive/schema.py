"""The archive's tables (SQLAlchemy 2 declarative models). The migrations in
archive/migrations/ build them; nothing calls `create_all`.

Every time is an integer: epoch milliseconds UTC (`*_ms`, BIGINT), so the same SQL runs on
SQLite, PostgreSQL and DuckDB. China time is UTC+8 without DST: a bucket of `size_ms` is
`(ms + CHINA_OFFSET_MS) // size_ms`.

No column holds a customer's number or name: text is masked (telecom.mask) before it reaches
Redis, customers are pseudonyms (HMAC-SHA256 with ARCHIVE_PSEUDONYM_KEY), entities are names only.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CHINA_OFFSET_MS = 8 * 3_600_000

# constraint names fixed, so migrations name them the same on every database
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

# a conversation's first intent is the first customer turn's intent not among these
NOT_A_REQUEST = frozenset(
    {"greet", "goodbye", "thank", "thanks", "affirm", "deny", "chitchat", "out_of_scope"}
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # HMAC-SHA256 (pseudonym_key) of the verified phone, else of the widget's customer id;
    # the first 24 hex characters
    customer_ref: Mapped[str | None] = mapped_column(String(24))
    channel: Mapped[str | None] = mapped_column(String(16))
    started_ms: Mapped[int] = mapped_column(BigInteger)
    last_ms: Mapped[int] = mapped_column(BigInteger)
    first_intent: Mapped[str | None] = mapped_column(String(64))
    bot_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fallback_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    low_confidence_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    handoffs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating: Mapped[int | None] = mapped_column(Integer)  # 1..5
    rated_ms: Mapped[int | None] = mapped_column(BigInteger)
    rating_of: Mapped[str | None] = mapped_column(String(8))  # 'agent' | 'bot'
    comment: Mapped[str | None] = mapped_column(Text)  # masked
    disposition: Mapped[str | None] = mapped_column(String(64))
    ended_by: Mapped[str | None] = mapped_column(String(16))  # bot | agent | customer | timeout
    ended_ms: Mapped[int | None] = mapped_column(BigInteger)
    # the start of the same customer's next conversation with the same first intent
    # (archive/repeats.py keeps it); None: none yet, or no customer or first intent
    next_same_intent_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index(None, "started_ms"),
        Index(None, "customer_ref", "started_ms"),
        Index(None, "customer_ref", "first_intent", "started_ms"),
        Index(None, "last_ms"),
    )


class Message(Base):
    __tablename__ = "messages"

    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[str] = mapped_column(String(32), primary_key=True)  # the log's stream id
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(8))  # customer | bot | agent | system
    agent_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)  # masked


class Turn(Base):
    """The assistant's reading of one customer turn; seq is the customer message's."""

    __tablename__ = "turns"

    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float | None] = mapped_column(Float)  # top minus the second intent's
    # a voice turn's speech-recognition confidence (the chosen alternative's); None when typed
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    urgency: Mapped[str | None] = mapped_column(String(8))  # telecom.urgency.LEVELS
    entities: Mapped[str] = mapped_column(
        Text, default="[]", server_default="[]"
    )  # JSON list of entity names
    fallback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa.false())
    action: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index(None, "ts_ms"), Index(None, "intent", "ts_ms"))


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    customer_ref: Mapped[str | None] = mapped_column(String(24))
    channel: Mapped[str | None] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(64))  # the first required skill
    skills: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON list
    urgency: Mapped[str | None] = mapped_column(String(8))
    intent: Mapped[str | None] = mapped_column(String(64))
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    first_offered_ms: Mapped[int | None] = mapped_column(BigInteger)
    assigned_ms: Mapped[int | None] = mapped_column(BigInteger)  # the first assignment
    agent_id: Mapped[str | None] = mapped_column(String(64))  # who completed, else last assigned
    completed_ms: Mapped[int | None] = mapped_column(BigInteger)
    abandoned_ms: Mapped[int | None] = mapped_column(BigInteger)
    offers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    missed: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # offers expired or rejected
    transfers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disposition: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")

    __table_args__ = (
        Index(None, "conversation_id"),
        Index(None, "created_ms"),
        Index(None, "agent_id", "created_ms"),
        Index(None, "queue", "created_ms"),
    )


class HandoffEvent(Base):
    __tablename__ = "handoff_events"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # `events` entry id
    handoff_id: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(32))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    offer_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(
        Text, default="{}", server_default="{}"
    )  # JSON of the remaining fields

    __table_args__ = (
        Index(None, "handoff_id", "ts_ms"),
        Index(None, "agent_id", "ts_ms"),
        Index(None, "offer_id"),
        Index(None, "type", "ts_ms"),
    )


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    skills: Mapped[str] = mapped_column(
        Text, default="{}", server_default="{}"
    )  # JSON {skill: level}
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    deleted_ms: Mapped[int | None] = mapped_column(BigInteger)


class AgentState(Base):
    __tablename__ = "agent_states"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # available | away | offline
    reason: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index(None, "agent_id", "ts_ms"),)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str | None] = mapped_column(String(16))  # complaint | fault | callback
    severity: Mapped[str | None] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "conversation_id"), Index(None, "created_ms"))


class TicketStep(Base):
    """One step of a ticket's lifecycle as the router fed it (kind "ticket_step"): a step taken
    through the router (telecom.tickets STEPS) or an alert it forwarded (warning, breach,
    page). Keyed by the feed entry's stream id, so a replayed entry is written once."""

    __tablename__ = "ticket_steps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the gw:archive entry id
    ticket_id: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(24))  # a step, or warning | breach | page
    actor_role: Mapped[str | None] = mapped_column(String(16))  # agent|supervisor|system|customer
    team: Mapped[str | None] = mapped_column(String(32))  # telecom.labels.TEAMS
    state: Mapped[str | None] = mapped_column(String(16))  # the ticket's state after the step
    window: Mapped[str | None] = mapped_column(String(16))  # respond | resolve | follow_up
    severity: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[int | None] = mapped_column(Integer)  # follow_up_answer: 1..5
    ts_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index(None, "ts_ms"),
        Index(None, "ticket_id", "ts_ms"),
        Index(None, "conversation_id"),
    )


class AnnotationItem(Base):
    """A group of the analysts' inbox (archive/inbox.py) as it was first queued for annotation:
    the placeholder text of its representative (no personal data: archive/placeholders.py),
    the assistant's reading of it, and whether it is in the double-annotated sample. Written
    once (archive/annotations.py), never updated."""

    __tablename__ = "annotation_items"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)  # inbox.group_key
    text: Mapped[str] = mapped_column(Text)
    predicted_intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON list
    score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    double: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa.false())
    created_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "created_ms"),)


class Annotation(Base):
    """One decision about an item, a row each (who, when, what), never updated: an analyst's
    confirm | correct | none | new_intent, a settle of a disagreement, or its export into a
    batch file of nlu_data/annotated/ (`batch`)."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32))
    analyst_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(64))
    new_intent: Mapped[str | None] = mapped_column(String(64))
    entities: Mapped[str] = mapped_column(
        Text, default="[]", server_default="[]"
    )  # JSON [[start, end, entity], …] in the item's text
    batch: Mapped[str | None] = mapped_column(String(64))
    ts_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index(None, "key", "ts_ms"),
        Index(None, "analyst_id", "ts_ms"),
        Index(None, "decision", "ts_ms"),
    )


TABLES = tuple(Base.metadata.sorted_tables)


# -- rollups: per China-time quarter hour and per day (`grain_ms`), the sums of every metric's
# numerator (`<metric>__n`) and denominator (`<metric>__d`) by the dimensions the reports filter
# on (archive/rollup.py keeps them; derived data, rebuilt with `python -m archive rollup`). A
# dimension is None where the rows have none.
ROLLUP_PARTS: dict[str, tuple[str, ...]] = {
    "conversations": (
        "conversations__n", "containment__n", "containment__d", "handoff_rate__n",
        "handoff_rate__d", "fcr__n", "fcr__d", "csat_agent__n", "csat_agent__d", "csat_bot__n",
        "csat_bot__d",
        "rated", "satisfied",  # every rating, agent's or assistant's (rollup_ratings: csat)
    ),
    "handoffs": (
        "handoffs__n", "service_level__n", "service_level__d", "asa__n", "asa__d",
        "abandonment__n", "abandonment__d", "aht__n", "aht__d", "transfer_rate__n",
        "transfer_rate__d", "complaint_rate__n", "complaint_rate__d",
    ),
    "offers": ("agent_response__n", "agent_response__d"),
    "turns": (
        "fallback_rate__n", "fallback_rate__d", "low_confidence_rate__n",
        "low_confidence_rate__d",
    ),
    "ticket_steps": (
        "ticket_escalations__n", "ticket_breaches_respond__n", "ticket_breaches_resolve__n",
        "ticket_breaches_follow_up__n", "ticket_reopen_rate__n", "ticket_reopen_rate__d",
    ),
    "ratings": ("csat__n", "csat__d", "csat_follow_up__n", "csat_follow_up__d"),
}  # fmt: skip
# rollup table → (its source, its dimensions); agent_conversations: a conversation once per
# agent who held one of its handoffs (the agent filter's meaning for conversations)
ROLLUP_DIMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rollup_conversations": ("conversations", ("channel", "intent")),
    "rollup_agent_conversations": ("conversations", ("channel", "intent", "agent_id")),
    "rollup_handoffs": ("handoffs", ("channel", "intent", "queue", "agent_id")),
    "rollup_offers": ("offers", ("channel", "intent", "queue", "agent_id")),
    "rollup_turns": ("turns", ("channel", "intent")),
    "rollup_ticket_steps": ("ticket_steps", ("channel", "intent")),
    "rollup_ratings": ("ratings", ("channel", "intent")),
}
_DIM_TYPES = {"channel": String(16), "intent": String(64), "queue": String(64)}


def _rollup(name: str) -> sa.Table:
    source, dims = ROLLUP_DIMS[name]
    return sa.Table(
        name,
        Base.metadata,
        sa.Column("grain_ms", BigInteger, nullable=False),  # 15 minutes or a day
        sa.Column("bucket_ms", BigInteger, nullable=False),
        *(sa.Column(dim, _DIM_TYPES.get(dim, String(64))) for dim in dims),
        *(
            sa.Column(part, BigInteger, nullable=False, server_default="0")
            for part in ROLLUP_PARTS[source]
        ),
        Index(None, "grain_ms", "bucket_ms"),
    )


ROLLUPS: dict[str, sa.Table] = {name: _rollup(name) for name in ROLLUP_DIMS}
