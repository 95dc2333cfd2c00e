"""A voice turn's speech-recognition confidence (issue 16's `low_asr`): turns.asr_confidence,
the confidence of the n-best alternative the voice channel chose (the gateway's reading feed
field `asr_confidence`); null for a typed turn and for the turns archived before it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asr_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("asr_confidence")
