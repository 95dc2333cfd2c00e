"""archive/migrations: the schema is built only by them, up and down, on SQLite and PostgreSQL,
and it is exactly archive/schema.py's."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive import migrate
from archive.db import engine_for
from archive.schema import Base

TABLES = {
    "agent_states", "agents", "conversations", "handoff_events", "handoffs", "messages",
    "tickets", "turns", "rollup_conversations", "rollup_agent_conversations", "rollup_handoffs",
    "rollup_offers", "rollup_turns", "ticket_steps", "rollup_ticket_steps", "rollup_ratings",
    "annotation_items", "annotations",
}  # fmt: skip


def test_head_is_the_models_schema(archive_engine: sa.Engine) -> None:
    assert migrate.current(archive_engine) == "0006"
    with archive_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_down_and_up_again(archive_url: str) -> None:
    engine = engine_for(archive_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
        migrate.downgrade(archive_url)
        assert set(sa.inspect(engine).get_table_names()) & TABLES == set()
        assert migrate.current(engine) is None
        migrate.upgrade(archive_url)
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_existing_rows_get_their_links_and_rollups(archive_url: str) -> None:
    """0002 links the repeat contacts of the rows already archived, 0003 rolls them up, 0004
    rolls their ratings up."""
    engine = engine_for(archive_url)
    try:
        migrate.downgrade(archive_url, "0001")
        rows = [
            ("a1", "A", "query_balance", 1_000),
            ("a2", "A", "query_balance", 5_000),
            ("a3", "A", "roaming", 6_000),
            ("b1", None, "query_balance", 7_000),
        ]
        with engine.begin() as conn:
            for cid, ref, intent, start in rows:
                conn.execute(
                    sa.text(
                        "INSERT INTO conversations (id, customer_ref, first_intent, started_ms,"
                        " last_ms, rating) VALUES (:id, :ref, :intent, :start, :start, :rating)"
                    ),
                    {
                        "id": cid,
                        "ref": ref,
                        "intent": intent,
                        "start": start,
                        "rating": 5 if cid == "a1" else None,
                    },
                )
        migrate.upgrade(archive_url)
        with engine.connect() as conn:
            links = dict(
                conn.execute(sa.text("SELECT id, next_same_intent_ms FROM conversations")).all()
            )
            rolled = conn.execute(
                sa.text(
                    "SELECT sum(conversations__n) FROM rollup_conversations WHERE grain_ms = 900000"
                )
            ).scalar_one()
            ratings = conn.execute(
                sa.text(
                    "SELECT sum(csat__n), sum(csat__d), sum(csat_follow_up__d) FROM rollup_ratings"
                    " WHERE grain_ms = 900000"
                )
            ).one()
        assert tuple(int(v) for v in ratings) == (1, 1, 0)
        assert links == {"a1": 5_000, "a2": None, "a3": None, "b1": None}
        assert int(rolled) == 4
    finally:
        engine.dispose()
