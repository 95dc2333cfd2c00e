"""Tickets and outages in the SQLite store: `TicketMethods`, and the SQL they run.

What a customer wrote is cleaned before it is stored: phone and ID numbers masked, control
characters removed, cut to length and HTML-escaped; a phone that is not a mobile number makes
the ticket anonymous. `insert` runs inside the caller's transaction. A ticket opens with its
lifecycle (telecom.tickets: intake with its deadlines and team, or attached to an outage) and an
`open` step; the steps after it are ticket_steps.py's.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from actions.store.base import (
    OUTAGE_SERVICES,
    TICKET_KINDS,
    InvalidInput,
    NoSuchOutage,
    Outage,
    Ticket,
)
from actions.store.connection import SQLiteBase
from actions.store.lifecycle import (
    STATUS_OF,
    TICKET_SELECT,
    insert_event,
    state_from_row,
    write_lifecycle,
)
from actions.store.rows import from_row, from_ts, queue_sms, to_ts
from telecom import mask, tickets
from telecom.dates import CHINA_TZ
from telecom.tickets import Deadlines, TicketState

__all__ = [
    "DESCRIPTION_MAX",
    "SEVERITIES",
    "SHORT_FIELD_MAX",
    "CleanText",
    "TicketMethods",
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

log = logging.getLogger(__name__)


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
    lifecycle: TicketState,
    *,
    severity: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Ticket:
    """Number the ticket (T<China date>-<sequence>) and store it with its `lifecycle` and its
    `open` step (by the customer); `extra` already escaped. An escalation at once
    (`lifecycle.escalated`: a major complaint, a critical fault) is recorded as the system's."""
    extra = extra or {}
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets").fetchone()[0]
    ticket_id = f"T{now.astimezone(CHINA_TZ):%Y%m%d}-{seq:06d}"
    status = STATUS_OF[lifecycle.state]
    conn.execute(
        "INSERT INTO tickets (seq, id, kind, category, severity, description, customer,"
        " phone, status, created_at, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (seq, ticket_id, kind, text.category, severity, text.description, text.customer,
         text.phone, status, to_ts(now), json.dumps(extra, ensure_ascii=False)),
    )  # fmt: skip
    write_lifecycle(conn, ticket_id, lifecycle)
    insert_event(
        conn, ticket_id, "open", "customer", lifecycle.team, None, {"state": lifecycle.state}, now
    )
    if lifecycle.escalated:
        detail = {"window": ",".join(lifecycle.warned) or None, "state": lifecycle.state}
        insert_event(conn, ticket_id, "escalate", "system", lifecycle.team, None, detail, now)
    return Ticket(
        id=ticket_id,
        kind=kind,
        category=text.category,
        severity=severity,
        description=text.description,
        customer=text.customer,
        status=status,
        created_at=now.astimezone(timezone.utc),
        lifecycle=lifecycle,
        extra=extra,
    )


def ticket_from_row(row: sqlite3.Row) -> Ticket:
    """A ticket from a TICKET_SELECT row."""
    return from_row(
        Ticket,
        row,
        created_at=from_ts(row["created_at"]),
        lifecycle=state_from_row(row),
        extra=json.loads(row["extra"]),
    )


def outage_from_row(row: sqlite3.Row) -> Outage:
    restore = row["expected_restore_at"]
    return from_row(
        Outage,
        row,
        started_at=from_ts(row["started_at"]),
        expected_restore_at=from_ts(restore) if restore else None,
    )


class TicketMethods(SQLiteBase):
    """The store's complaints, fault reports, callback requests and known outages."""

    def create_ticket(
        self,
        kind: str,
        category: str,
        description: str,
        phone: str | None,
        now: datetime,
        severity: str | None = None,
        extra: dict[str, Any] | None = None,
        due: Deadlines | None = None,
    ) -> Ticket:
        """Record a complaint, fault report or callback request, and SMS its number.

        The text is cleaned as `clean` says; a `phone` that is not a mobile number is
        treated as anonymous. The ticket opens in intake with the deadlines `due` (what the
        assistant computed with the parse result's category and urgency), else those of
        `telecom.tickets.deadlines` for its kind, severity and category, and the team they
        give. Raises InvalidInput for an unknown kind or severity, or a `due` of another kind or
        opening time.
        """
        if kind not in TICKET_KINDS:
            raise InvalidInput("unknown ticket kind")
        if severity is not None and severity not in SEVERITIES:
            raise InvalidInput("unknown severity")
        if due is not None and (due.kind != kind or due.opened_at != now):
            raise InvalidInput("deadlines of another kind or opening time")
        text = clean(category, description, phone, default_category="other")
        safe_extra = escape_extra(extra or {})
        due = due or tickets.deadlines(kind, severity, text.category, now)
        lifecycle = tickets.new_ticket(due, severity, text.category)
        with self._tx() as conn:
            ticket = insert(conn, kind, text, now, lifecycle, severity=severity, extra=safe_extra)
            if text.phone:
                queue_sms(
                    conn, text.phone, "ticket",
                    f"【客服通知】您的工单{ticket.id}已受理，我们会尽快处理并告知结果。", now,
                )  # fmt: skip
        log.info(
            "store.ticket.created ticket=%s kind=%s customer=%s", ticket.id, kind, text.customer
        )
        return ticket

    def get_tickets(self, phone: str) -> list[Ticket]:
        """Tickets of `phone`, newest first."""
        with self._use() as conn:
            rows = conn.execute(
                f"{TICKET_SELECT} WHERE t.phone = ? ORDER BY t.seq DESC", (phone,)
            ).fetchall()
        return [ticket_from_row(r) for r in rows]

    def open_outage(
        self, city: str | None, district: str, service: str, now: datetime
    ) -> Outage | None:
        """The open outage of `service` covering `district` (in `city`; any city when None)
        that had started by `now`, the one expected back soonest; None when there is none."""
        if not district or service not in OUTAGE_SERVICES:
            return None
        sql = (
            "SELECT * FROM outages WHERE district = ? AND service = ? AND status = 'open'"
            " AND started_at <= ?"
        )
        params: list[str] = [district, service, to_ts(now)]
        if city:
            sql += " AND city = ?"
            params.append(city)
        sql += " ORDER BY expected_restore_at IS NULL, expected_restore_at, id LIMIT 1"
        with self._use() as conn:
            row = conn.execute(sql, params).fetchone()
        return outage_from_row(row) if row else None

    def attach_outage_report(
        self,
        outage_id: str,
        description: str,
        phone: str | None,
        now: datetime,
        *,
        category: str = "network",
        extra: dict[str, Any] | None = None,
    ) -> Ticket:
        """Record a fault report against a known open outage instead of opening a new case: a
        `fault` ticket with status `attached` and `extra.outage_id`, plus its SMS, in one
        transaction that also checks the outage is still open (else NoSuchOutage). `extra` also
        gets the outage's `service`, `area` (district) and `expected_restore_at` (ISO, or None)."""
        text = clean(category, description, phone, default_category="network")
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM outages WHERE id = ? AND status = 'open'", (outage_id,)
            ).fetchone()
            if row is None:
                raise NoSuchOutage("no open outage with that id")
            outage = outage_from_row(row)
            restore_at = outage.expected_restore_at
            safe_extra = escape_extra(
                {
                    **(extra or {}),
                    "outage_id": outage.id,
                    "service": outage.service,
                    "area": outage.district,
                    "expected_restore_at": restore_at.isoformat() if restore_at else None,
                }
            )
            lifecycle = tickets.attached_ticket(now, text.category)
            ticket = insert(conn, "fault", text, now, lifecycle, extra=safe_extra)
            if text.phone:
                restore = (
                    restore_at.astimezone(CHINA_TZ).strftime("%m月%d日%H:%M")
                    if restore_at
                    else "尽快"
                )
                queue_sms(
                    conn, text.phone, "ticket",
                    f"【客服通知】您的报修{ticket.id}已关联到{outage.district}已知故障，"
                    f"预计{restore}恢复。恢复后如仍有问题请再联系我们。", now,
                )  # fmt: skip
        log.info(
            "store.outage.report ticket=%s outage=%s customer=%s",
            ticket.id,
            outage.id,
            text.customer,
        )
        return ticket

    def close_outage(self, outage_id: str, now: datetime) -> None:
        """Mark an open outage closed (restored); NoSuchOutage when it is not open."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE outages SET status = 'closed', closed_at = ?"
                " WHERE id = ? AND status = 'open'",
                (to_ts(now), outage_id),
            )
            if cur.rowcount != 1:
                raise NoSuchOutage("no open outage with that id")
