"""Tickets and outages in the SQLite store.

What a customer wrote is cleaned before it is stored: phone and ID numbers masked, control
characters removed, cut to length and HTML-escaped; a phone that is not a mobile number makes
the ticket anonymous. `insert` runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from actions.store.base import Outage, Ticket
from actions.store.rows import from_ts, to_ts
from telecom import mask
from telecom.dates import CHINA_TZ

__all__ = [
    "DESCRIPTION_MAX",
    "SEVERITIES",
    "SHORT_FIELD_MAX",
    "CleanText",
    "clean",
    "escape_extra",
    "insert",
    "outage_from_row",
    "ticket_from_row",
]

SEVERITIES = ("minor", "moderate", "major")
DESCRIPTION_MAX = 2000
SHORT_FIELD_MAX = 64
EXTRA_KEYS_MAX = 32
_MOBILE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class CleanText:
    phone: str | None  # a mobile number, or None (anonymous)
    customer: str  # the number masked, for display
    category: str
    description: str


def clean(category: str, description: str, phone: str | None, default_category: str) -> CleanText:
    """A ticket's text as it may be stored and shown."""
    mobile = phone if isinstance(phone, str) and _MOBILE.fullmatch(phone) else None
    return CleanText(
        phone=mobile,
        customer=mask.phone(mobile) if mobile else "",
        category=mask.escape_text(category, SHORT_FIELD_MAX) or default_category,
        description=mask.escape_text(mask.text(str(description or "")), DESCRIPTION_MAX),
    )


def escape_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """At most EXTRA_KEYS_MAX entries; keys escaped, text values masked and escaped."""
    out: dict[str, Any] = {}
    for key, value in list(extra.items())[:EXTRA_KEYS_MAX]:
        safe_key = mask.escape_text(key, SHORT_FIELD_MAX)
        if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
            out[safe_key] = value
        else:
            out[safe_key] = mask.escape_text(mask.text(str(value)), DESCRIPTION_MAX)
    return out


def insert(
    conn: sqlite3.Connection,
    kind: str,
    text: CleanText,
    now: datetime,
    *,
    severity: str | None = None,
    status: str = "open",
    extra: dict[str, Any] | None = None,
) -> Ticket:
    """Number the ticket (T<China date>-<sequence>) and store it; `extra` already escaped."""
    extra = extra or {}
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets").fetchone()[0]
    ticket_id = f"T{now.astimezone(CHINA_TZ):%Y%m%d}-{seq:06d}"
    conn.execute(
        "INSERT INTO tickets (seq, id, kind, category, severity, description, customer,"
        " phone, status, created_at, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (seq, ticket_id, kind, text.category, severity, text.description, text.customer,
         text.phone, status, to_ts(now), json.dumps(extra, ensure_ascii=False)),
    )  # fmt: skip
    return Ticket(
        id=ticket_id,
        kind=kind,
        category=text.category,
        severity=severity,
        description=text.description,
        customer=text.customer,
        status=status,
        created_at=now.astimezone(timezone.utc),
        extra=extra,
    )


def ticket_from_row(row: sqlite3.Row) -> Ticket:
    return Ticket(
        id=row["id"],
        kind=row["kind"],
        category=row["category"],
        severity=row["severity"],
        description=row["description"],
        customer=row["customer"],
        status=row["status"],
        created_at=from_ts(row["created_at"]),
        extra=json.loads(row["extra"]),
    )


def outage_from_row(row: sqlite3.Row) -> Outage:
    return Outage(
        id=row["id"],
        city=row["city"],
        district=row["district"],
        service=row["service"],
        description=row["description"],
        started_at=from_ts(row["started_at"]),
        expected_restore_at=(
            from_ts(row["expected_restore_at"]) if row["expected_restore_at"] else None
        ),
        status=row["status"],
    )
