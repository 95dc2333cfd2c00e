"""The analysts' annotations (issue 16): the inbox groups queued for annotation
(annotation_items, written once) and every decision about them, a row each (annotations:
confirm, correct, none, new_intent, settle, export; never updated).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

ANNOTATION_INDEXES = {
    "ix_annotations_key_ts_ms": ["key", "ts_ms"],
    "ix_annotations_analyst_id_ts_ms": ["analyst_id", "ts_ms"],
    "ix_annotations_decision_ts_ms": ["decision", "ts_ms"],
}


def upgrade() -> None:
    op.create_table(
        "annotation_items",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted_intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("reasons", sa.Text(), server_default="[]", nullable=False),
        sa.Column("score", sa.Float(), server_default="0", nullable=False),
        sa.Column("double", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_annotation_items")),
    )
    with op.batch_alter_table("annotation_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annotation_items_created_ms"), ["created_ms"], unique=False
        )
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("analyst_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("new_intent", sa.String(length=64), nullable=True),
        sa.Column("entities", sa.Text(), server_default="[]", nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        for name, columns in ANNOTATION_INDEXES.items():
            batch_op.create_index(batch_op.f(name), columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        for name in reversed(ANNOTATION_INDEXES):
            batch_op.drop_index(batch_op.f(name))
    op.drop_table("annotations")
    with op.batch_alter_table("annotation_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_items_created_ms"))
    op.drop_table("annotation_items")
