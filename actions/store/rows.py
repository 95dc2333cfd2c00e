"""What every part of the SQLite store shares: times as text, records from rows, and the SMS
outbox insert."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from actions.store.base import InvalidInput

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["from_row", "from_ts", "queue_sms", "to_ts", "utcnow"]

Record = TypeVar("Record", bound="DataclassInstance")


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


def from_row(record: type[Record], row: sqlite3.Row, **converted: Any) -> Record:
    """A `record` whose fields are the row's columns of the same names, but for those given
    `converted` (the values that are not stored as they are kept: times, flags, JSON)."""
    return record(
        **{f.name: converted[f.name] if f.name in converted else row[f.name]
           for f in dataclasses.fields(record)}
    )  # fmt: skip
