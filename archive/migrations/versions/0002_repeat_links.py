"""Repeat contacts precomputed: conversations.next_same_intent_ms (archive/repeats.py), filled
for the existing rows; the indexes the reports' plans use (a customer's conversations on one
intent, offers by their id, events by type and time).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# the link of every existing conversation, as archive/repeats.py computes it (frozen here: a
# migration does not follow later code)
FILL = """
UPDATE conversations SET next_same_intent_ms = (
    SELECT MIN(later.started_ms) FROM conversations AS later
    WHERE later.customer_ref = conversations.customer_ref
      AND later.first_intent = conversations.first_intent
      AND (later.started_ms > conversations.started_ms
           OR (later.started_ms = conversations.started_ms AND later.id > conversations.id)))
WHERE customer_ref IS NOT NULL AND first_intent IS NOT NULL
"""


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_same_intent_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_conversations_customer_ref_first_intent_started_ms"),
            ["customer_ref", "first_intent", "started_ms"],
            unique=False,
        )
    with op.batch_alter_table("handoff_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_events_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handoff_events_type_ts_ms"), ["type", "ts_ms"], unique=False
        )
    op.execute(FILL)


def downgrade() -> None:
    with op.batch_alter_table("handoff_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_events_type_ts_ms"))
        batch_op.drop_index(batch_op.f("ix_handoff_events_offer_id"))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_customer_ref_first_intent_started_ms"))
        batch_op.drop_column("next_same_intent_ms")
