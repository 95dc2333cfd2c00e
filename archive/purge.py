"""`python -m archive purge`: delete the conversations whose last message is older than the
retention (ARCHIVE_RETENTION_DAYS), with their messages, turns, tickets, ticket steps, handoffs
and handoff events; agent states and ticket steps older than it too. Run it daily (e.g. from cron).

A conversation that an earlier, kept conversation of the same customer and intent may count as
its repeat contact (archive/repeats.py) is kept with it until that one goes too: otherwise the
next relink of the group would find no repeat, and the kept conversation's containment and
first-contact resolution would change after the fact."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from archive import rollup
from archive.db import engine_for
from archive.schema import Base
from archive.settings import ArchiveSettings

DAY_MS = 86_400_000
CHUNK = 500


@dataclass
class PurgeReport:
    cutoff_ms: int
    conversations: int = 0
    agent_states: int = 0

    def summary(self) -> str:
        return (
            f"archive purge: before {self.cutoff_ms} ms: conversations={self.conversations} "
            f"agent_states={self.agent_states}"
        )


def expired(cutoff_ms: int) -> sa.Select[Any]:
    """The ids of the conversations to delete: last message before `cutoff_ms`, and no earlier
    conversation of the same (customer_ref, first_intent) kept."""
    c = Base.metadata.tables["conversations"]
    earlier = c.alias("earlier")
    kept_earlier = sa.exists().where(
        earlier.c.customer_ref == c.c.customer_ref,
        earlier.c.first_intent == c.c.first_intent,
        earlier.c.started_ms < c.c.started_ms,
        earlier.c.last_ms >= cutoff_ms,
    )
    return sa.select(c.c.id).where(c.c.last_ms < cutoff_ms, ~kept_earlier)


def purge(engine: sa.Engine, cutoff_ms: int) -> PurgeReport:
    """Delete what ended before `cutoff_ms`, CHUNK conversations per transaction."""
    t = Base.metadata.tables
    conversations, handoffs = t["conversations"], t["handoffs"]
    report = PurgeReport(cutoff_ms)
    while True:
        with engine.begin() as conn:
            ids: list[str] = list(conn.scalars(expired(cutoff_ms).limit(CHUNK)))
            if not ids:
                break
            dirty = rollup.buckets_of(conn, ids)
            old_handoffs = sa.select(handoffs.c.id).where(handoffs.c.conversation_id.in_(ids))
            conn.execute(
                sa.delete(t["handoff_events"]).where(
                    t["handoff_events"].c.handoff_id.in_(old_handoffs)
                )
            )
            for name in ("handoffs", "messages", "turns", "tickets", "ticket_steps"):
                table = t[name]
                conn.execute(sa.delete(table).where(table.c.conversation_id.in_(ids)))
            conn.execute(sa.delete(conversations).where(conversations.c.id.in_(ids)))
            rollup.refresh(conn, dirty)  # their quarter hours, without them
            report.conversations += len(ids)
    with engine.begin() as conn:
        states = t["agent_states"]
        done = conn.execute(sa.delete(states).where(states.c.ts_ms < cutoff_ms))
        report.agent_states = int(done.rowcount or 0)
        steps = t["ticket_steps"]
        old = steps.c.ts_ms < cutoff_ms
        dirty = set(conn.scalars(sa.select(steps.c.ts_ms).where(old).distinct()))
        conn.execute(sa.delete(steps).where(old))
        rollup.refresh(conn, dirty)
    return report


def run_purge(settings: ArchiveSettings, now_ms: int | None = None) -> PurgeReport:
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    engine = engine_for(settings.url())
    try:
        return purge(engine, now - settings.retention_days * DAY_MS)
    finally:
        engine.dispose()
