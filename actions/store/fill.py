"""Writing generated records into the SQLite store."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TypeVar

from actions.store.generate import OutageRecord, SubscriberRecord
from actions.store.hashing import hash_id

__all__ = ["id_hashes", "insert_outages", "insert_records", "parallel"]

T = TypeVar("T")
R = TypeVar("R")


def parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`function` over `items` on every core (scrypt releases the GIL), in order."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(function, items))


def id_hashes(records: list[SubscriberRecord], pepper: str, cost: int) -> list[tuple[str, str]]:
    """(full ID hash, last-six hash) of each record; compute them outside any transaction."""
    values = [v for r in records for v in (r.id_number, r.id_number[-6:])]
    hashed = parallel(lambda value: hash_id(value, pepper, cost), values)
    return list(zip(hashed[0::2], hashed[1::2], strict=True))


def insert_records(
    conn: sqlite3.Connection, records: list[SubscriberRecord], hashes: list[tuple[str, str]]
) -> None:
    """Insert generated subscribers with their bills, usage and charges (caller's transaction);
    `hashes` are `id_hashes(records, …)`."""
    conn.executemany(
        "INSERT INTO subscribers (phone, name, id_hash, id6_hash, tier, plan_code, balance,"
        " status, roaming_active, city, district) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (r.phone, r.name, id_hash, id6_hash, r.tier, r.plan_code, r.balance, r.status,
             int(r.roaming_active), r.city, r.district)
            for r, (id_hash, id6_hash) in zip(records, hashes, strict=True)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO bills (phone, month, total, paid) VALUES (?,?,?,?)",
        [(r.phone, b.month, b.total, int(b.paid)) for r in records for b in r.bills],
    )
    conn.executemany(
        "INSERT INTO bill_items (phone, month, position, name, amount) VALUES (?,?,?,?,?)",
        [
            (r.phone, b.month, i, item.name, item.amount)
            for r in records
            for b in r.bills
            for i, item in enumerate(b.items)
        ],
    )
    conn.executemany(
        "INSERT INTO usage_history (phone, month, data_mb, voice_min, sms) VALUES (?,?,?,?,?)",
        [(r.phone, u.month, u.data_mb, u.voice_min, u.sms) for r in records for u in r.history],
    )
    conn.executemany(
        "INSERT INTO packages (phone, position, month, name, kind, used, total, unit)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (r.phone, i, r.month_to_date.month, p.name, p.kind, p.used, p.total, p.unit)
            for r in records
            for i, p in enumerate(r.packages)
        ],
    )
    conn.executemany(
        "INSERT INTO charges (phone, month, position, name, amount) VALUES (?,?,?,?,?)",
        [
            (r.phone, r.month_to_date.month, i, item.name, item.amount)
            for r in records
            for i, item in enumerate(r.month_to_date.items)
        ],
    )


def insert_outages(conn: sqlite3.Connection, outages: list[OutageRecord]) -> None:
    """Insert generated known outages (caller's transaction); times stored as UTC ISO strings."""

    def ts(moment: datetime | None) -> str | None:
        return (
            moment.astimezone(timezone.utc).isoformat(timespec="microseconds") if moment else None
        )

    conn.executemany(
        "INSERT INTO outages (id, city, district, service, description, started_at,"
        " expected_restore_at, status) VALUES (?,?,?,?,?,?,?,?)",
        [
            (o.id, o.city, o.district, o.service, o.description, ts(o.started_at),
             ts(o.expected_restore_at), o.status)
            for o in outages
        ],
    )  # fmt: skip
