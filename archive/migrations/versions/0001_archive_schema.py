"""The archive schema: conversations, messages, turns, handoffs and their events, agents and
their states, tickets (archive/schema.py).

Revision ID: 0001
Revises:
Create Date: 2026-12-05 03:50:57.635948
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "agent_states",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_agent_states")),
    )
    with op.batch_alter_table("agent_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_states_agent_id_ts_ms"), ["agent_id", "ts_ms"], unique=False
        )

    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=True),
        sa.Column("skills", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=True),
        sa.Column("deleted_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("customer_ref", sa.String(length=24), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_intent", sa.String(length=64), nullable=True),
        sa.Column("bot_turns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fallback_turns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("low_confidence_turns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("handoffs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_ms", sa.BigInteger(), nullable=True),
        sa.Column("rating_of", sa.String(length=8), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_customer_ref_started_ms"),
            ["customer_ref", "started_ms"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_conversations_last_ms"), ["last_ms"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversations_started_ms"), ["started_ms"], unique=False
        )

    op.create_table(
        "handoff_events",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("handoff_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("offer_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_handoff_events")),
    )
    with op.batch_alter_table("handoff_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_events_agent_id_ts_ms"), ["agent_id", "ts_ms"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_events_handoff_id_ts_ms"), ["handoff_id", "ts_ms"], unique=False
        )

    op.create_table(
        "handoffs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("customer_ref", sa.String(length=24), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("skills", sa.Text(), server_default="[]", nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=True),
        sa.Column("first_offered_ms", sa.BigInteger(), nullable=True),
        sa.Column("assigned_ms", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("completed_ms", sa.BigInteger(), nullable=True),
        sa.Column("abandoned_ms", sa.BigInteger(), nullable=True),
        sa.Column("offers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("missed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoffs_agent_id_created_ms"), ["agent_id", "created_ms"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoffs_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handoffs_created_ms"), ["created_ms"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handoffs_queue_created_ms"), ["queue", "created_ms"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.String(length=32), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(length=8), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name=op.f("pk_messages")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tickets_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_created_ms"), ["created_ms"], unique=False)

    op.create_table(
        "turns",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.String(length=32), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("urgency", sa.String(length=8), nullable=True),
        sa.Column("entities", sa.Text(), server_default="[]", nullable=False),
        sa.Column("fallback", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name=op.f("pk_turns")),
    )
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_turns_intent_ts_ms"), ["intent", "ts_ms"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_turns_ts_ms"), ["ts_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_turns_ts_ms"))
        batch_op.drop_index(batch_op.f("ix_turns_intent_ts_ms"))

    op.drop_table("turns")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_created_ms"))
        batch_op.drop_index(batch_op.f("ix_tickets_conversation_id"))

    op.drop_table("tickets")
    op.drop_table("messages")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_queue_created_ms"))
        batch_op.drop_index(batch_op.f("ix_handoffs_created_ms"))
        batch_op.drop_index(batch_op.f("ix_handoffs_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_handoffs_agent_id_created_ms"))

    op.drop_table("handoffs")
    with op.batch_alter_table("handoff_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_events_handoff_id_ts_ms"))
        batch_op.drop_index(batch_op.f("ix_handoff_events_agent_id_ts_ms"))

    op.drop_table("handoff_events")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_started_ms"))
        batch_op.drop_index(batch_op.f("ix_conversations_last_ms"))
        batch_op.drop_index(batch_op.f("ix_conversations_customer_ref_started_ms"))

    op.drop_table("conversations")
    op.drop_table("agents")
    with op.batch_alter_table("agent_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_states_agent_id_ts_ms"))

    op.drop_table("agent_states")
