"""Rollups: per quarter hour and per day, the sums of every metric's numerator and denominator
by the reports' dimensions (archive/schema.py ROLLUP_DIMS and ROLLUP_PARTS, archive/rollup.py),
filled from the existing rows.

The fill runs the current archive/rollup.py on purpose: a rollup is derived data and must be
what today's metric definitions compute (`python -m archive rollup` rebuilds it the same way).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

DIMS = {
    "rollup_conversations": ("channel", "intent"),
    "rollup_agent_conversations": ("channel", "intent", "agent_id"),
    "rollup_handoffs": ("channel", "intent", "queue", "agent_id"),
    "rollup_offers": ("channel", "intent", "queue", "agent_id"),
    "rollup_turns": ("channel", "intent"),
}
_CONVERSATIONS = (
    "conversations__n", "containment__n", "containment__d", "handoff_rate__n", "handoff_rate__d",
    "fcr__n", "fcr__d", "csat_agent__n", "csat_agent__d", "csat_bot__n", "csat_bot__d", "rated",
    "satisfied",
)  # fmt: skip
_HANDOFFS = (
    "handoffs__n", "service_level__n", "service_level__d", "asa__n", "asa__d", "abandonment__n",
    "abandonment__d", "aht__n", "aht__d", "transfer_rate__n", "transfer_rate__d",
    "complaint_rate__n", "complaint_rate__d",
)  # fmt: skip
PARTS = {
    "rollup_conversations": _CONVERSATIONS,
    "rollup_agent_conversations": _CONVERSATIONS,
    "rollup_handoffs": _HANDOFFS,
    "rollup_offers": ("agent_response__n", "agent_response__d"),
    "rollup_turns": (
        "fallback_rate__n", "fallback_rate__d", "low_confidence_rate__n", "low_confidence_rate__d",
    ),
}  # fmt: skip
LENGTH = {"channel": 16}


def upgrade() -> None:
    for name, dims in DIMS.items():
        op.create_table(
            name,
            sa.Column("grain_ms", sa.BigInteger(), nullable=False),
            sa.Column("bucket_ms", sa.BigInteger(), nullable=False),
            *(sa.Column(dim, sa.String(length=LENGTH.get(dim, 64)), nullable=True) for dim in dims),
            *(
                sa.Column(part, sa.BigInteger(), server_default="0", nullable=False)
                for part in PARTS[name]
            ),
        )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{name}_grain_ms_bucket_ms"), ["grain_ms", "bucket_ms"], unique=False
            )
    from archive import rollup

    rollup.refresh_all(op.get_bind(), DIMS)  # its own: later rollups are their migration's


def downgrade() -> None:
    for name in reversed(DIMS):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_grain_ms_bucket_ms"))
        op.drop_table(name)
