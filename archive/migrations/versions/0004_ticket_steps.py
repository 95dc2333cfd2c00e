"""Tickets' lifecycle: the steps the router feeds (kind "ticket_step": table ticket_steps) and the
rollups of the ticket metrics (rollup_ticket_steps) and of every rating, the follow-up answers
included (rollup_ratings), filled from the existing rows by the current archive/rollup.py (as
0003 does).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

PARTS = {
    "rollup_ticket_steps": (
        "ticket_escalations__n", "ticket_breaches_respond__n", "ticket_breaches_resolve__n",
        "ticket_breaches_follow_up__n", "ticket_reopen_rate__n", "ticket_reopen_rate__d",
    ),
    "rollup_ratings": ("csat__n", "csat__d", "csat_follow_up__n", "csat_follow_up__d"),
}  # fmt: skip
STEP_INDEXES = {
    "ix_ticket_steps_ts_ms": ["ts_ms"],
    "ix_ticket_steps_ticket_id_ts_ms": ["ticket_id", "ts_ms"],
    "ix_ticket_steps_conversation_id": ["conversation_id"],
}


def upgrade() -> None:
    op.create_table(
        "ticket_steps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("team", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("window", sa.String(length=16), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_steps")),
    )
    with op.batch_alter_table("ticket_steps", schema=None) as batch_op:
        for name, columns in STEP_INDEXES.items():
            batch_op.create_index(batch_op.f(name), columns, unique=False)
    for name, parts in PARTS.items():
        op.create_table(
            name,
            sa.Column("grain_ms", sa.BigInteger(), nullable=False),
            sa.Column("bucket_ms", sa.BigInteger(), nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=True),
            sa.Column("intent", sa.String(length=64), nullable=True),
            *(
                sa.Column(part, sa.BigInteger(), server_default="0", nullable=False)
                for part in parts
            ),
        )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{name}_grain_ms_bucket_ms"), ["grain_ms", "bucket_ms"], unique=False
            )
    from archive import rollup

    rollup.refresh_all(op.get_bind(), PARTS)


def downgrade() -> None:
    for name in reversed(PARTS):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_grain_ms_bucket_ms"))
        op.drop_table(name)
    with op.batch_alter_table("ticket_steps", schema=None) as batch_op:
        for name in reversed(STEP_INDEXES):
            batch_op.drop_index(batch_op.f(name))
    op.drop_table("ticket_steps")
