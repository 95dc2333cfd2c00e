"""What every part of the SQLite store shares: times as text, and the SMS outbox insert."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from actions.store.base import InvalidInput

__all__ = ["from_ts", "queue_sms", "to_ts", "utcnow"]


def to_ts(moment: datetime) -> str:
    """An aware time as UTC ISO text (sorts as time)."""
    if moment.tzinfo is None:
        raise InvalidInput("times must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def queue_sms(conn: sqlite3.Connection, phone: str, kind: str, body: str, now: datetime) -> None:
    """Write an outbound SMS inside the caller's transaction."""
    conn.execute(
        "INSERT INTO sms_outbox (phone, kind, body, created_at) VALUES (?, ?, ?, ?)",
        (phone, kind, body, to_ts(now)),
    )
