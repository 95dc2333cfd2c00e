"""Known outages worked by network operations through the ticket service, in the SQLite store:
list, declare, update and close. A changed restoration time tells each attached report's
customer; a close resolves every attached report (a `system` resolve) and tells its customer, in
the transaction that closes the outage. Customers asking in the area meanwhile hear of an open
outage and their reports attach to it (tickets.py open_outage, attach_outage_report).

What operators write (city, district, cause, result) is escaped before it is stored; the district
must be written as subscribers' districts are (e.g. 南山区) for reports to attach.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions.service_loop import notices
from actions.store.base import (
    OUTAGE_SERVICES,
    OUTAGE_STATUSES,
    InvalidInput,
    NoSuchOutage,
    StoreError,
    Ticket,
)
from actions.store.connection import SQLiteBase
from actions.store.lifecycle import TICKET_SELECT
from actions.store.rows import from_ts, to_ts
from actions.store.ticket_notices import insert_notice
from actions.store.ticket_steps import step_in
from actions.store.tickets import SHORT_FIELD_MAX, ticket_from_row
from telecom import mask
from telecom.dates import CHINA_TZ

__all__ = [
    "OUTAGE_CHANGES",
    "OutageClosed",
    "OutageInfo",
    "OutageWorkMethods",
    "info_from_row",
]

OUTAGE_CHANGES = ("description", "expected_restore_at")
CAUSE_MAX = 500
_ATTACHED = "SELECT COUNT(*) FROM tickets a WHERE json_extract(a.extra, '$.outage_id') = o.id"
_SELECT = f"SELECT o.*, ({_ATTACHED}) AS attached FROM outages o"

log = logging.getLogger(__name__)


class OutageClosed(StoreError):
    """The outage is closed already: it cannot change any more."""


@dataclass(frozen=True)
class OutageInfo:
    """A known outage as network operations see it."""

    id: str
    city: str
    district: str
    service: str  # mobile | broadband | tv
    description: str  # the cause as customers are told it (escaped)
    started_at: datetime
    expected_restore_at: datetime | None
    status: str  # open | closed
    closed_at: datetime | None
    attached: int  # fault reports attached to it
    declared_by: str | None = None
    result: str | None = None


def _time(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def info_from_row(row: sqlite3.Row) -> OutageInfo:
    return OutageInfo(
        id=row["id"],
        city=row["city"],
        district=row["district"],
        service=row["service"],
        description=row["description"],
        started_at=from_ts(row["started_at"]),
        expected_restore_at=_time(row["expected_restore_at"]),
        status=row["status"],
        closed_at=_time(row["closed_at"]),
        attached=row["attached"],
        declared_by=row["declared_by"],
        result=row["result"],
    )


def _short(value: str, what: str) -> str:
    text = mask.escape_text(str(value or "").strip(), SHORT_FIELD_MAX)
    if not text:
        raise InvalidInput(f"{what} is required")
    return text


def _cause(value: str) -> str:
    text = mask.escape_text(mask.text(str(value or "").strip()), CAUSE_MAX)
    if not text:
        raise InvalidInput("the cause is required")
    return text


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidInput("times must be timezone-aware")
    return moment


class OutageWorkMethods(SQLiteBase):
    """Outages declared, updated and closed by network operations."""

    def outages(self, status: str = "open") -> list[OutageInfo]:
        """Outages with `status` (open | closed | all), the latest started first."""
        if status not in (*OUTAGE_STATUSES, "all"):
            raise InvalidInput("unknown outage status")
        where = "" if status == "all" else " WHERE o.status = ?"
        with self._use() as conn:
            rows = conn.execute(
                f"{_SELECT}{where} ORDER BY o.started_at DESC, o.id DESC",
                () if status == "all" else (status,),
            ).fetchall()
        return [info_from_row(r) for r in rows]

    def outage(self, outage_id: str) -> OutageInfo | None:
        with self._use() as conn:
            row = conn.execute(f"{_SELECT} WHERE o.id = ?", (outage_id,)).fetchone()
        return info_from_row(row) if row else None

    def declare_outage(
        self,
        actor: str,
        city: str,
        district: str,
        service: str,
        description: str,
        now: datetime,
        expected_restore_at: datetime | None = None,
    ) -> OutageInfo:
        """A new open outage of `service` in `district` of `city`, started `now`, numbered
        O<China date>-<nn>. InvalidInput for an unknown service, a blank field, or a restoration
        expected before now."""
        if service not in OUTAGE_SERVICES:
            raise InvalidInput("unknown service")
        city, district, cause = (
            _short(city, "the city"),
            _short(district, "the district"),
            _cause(description),
        )
        restore = _aware(expected_restore_at)
        if restore is not None and restore < now:
            raise InvalidInput("the restoration is expected before now")
        prefix = f"O{now.astimezone(CHINA_TZ):%Y%m%d}-"
        with self._tx() as conn:
            taken = [
                int(r[0][len(prefix) :])
                for r in conn.execute("SELECT id FROM outages WHERE id LIKE ?", (prefix + "%",))
                if r[0][len(prefix) :].isdigit()
            ]
            outage_id = f"{prefix}{max(taken, default=0) + 1:02d}"
            conn.execute(
                "INSERT INTO outages (id, city, district, service, description, started_at,"
                " expected_restore_at, status, declared_by, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                (outage_id, city, district, service, cause, to_ts(now),
                 to_ts(restore) if restore else None, actor, to_ts(now)),
            )  # fmt: skip
            row = conn.execute(f"{_SELECT} WHERE o.id = ?", (outage_id,)).fetchone()
        log.info("store.outage.declared id=%s service=%s by=%s", outage_id, service, actor)
        return info_from_row(row)

    def _open_row(self, conn: sqlite3.Connection, outage_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(f"{_SELECT} WHERE o.id = ?", (outage_id,)).fetchone()
        if row is None:
            raise NoSuchOutage("no such outage")
        if row["status"] != "open":
            raise OutageClosed("the outage is closed")
        return row

    @staticmethod
    def _attached(conn: sqlite3.Connection, outage_id: str) -> list[sqlite3.Row]:
        """The reports still attached to the outage (not resolved yet)."""
        return conn.execute(
            f"{TICKET_SELECT} WHERE json_extract(t.extra, '$.outage_id') = ?"
            " AND t.state = 'attached' ORDER BY t.seq",
            (outage_id,),
        ).fetchall()

    def update_outage(
        self, outage_id: str, actor: str, now: datetime, changes: dict[str, Any]
    ) -> tuple[OutageInfo, int]:
        """Change an open outage's cause and/or expected restoration (`changes`: keys of
        OUTAGE_CHANGES; a restoration of None: not known any more). A changed restoration
        queues an "outage_update" notice for each attached report's customer and is written
        into the report's `extra`. Returns the outage and the notices queued. NoSuchOutage,
        OutageClosed, InvalidInput."""
        if not changes or any(name not in OUTAGE_CHANGES for name in changes):
            raise InvalidInput("nothing to change, or an unknown field")
        restore_given = "expected_restore_at" in changes
        restore = _aware(changes.get("expected_restore_at"))
        if restore is not None and restore < now:
            raise InvalidInput("the restoration is expected before now")
        cause = _cause(changes["description"]) if "description" in changes else None
        queued = 0
        with self._tx() as conn:
            row = self._open_row(conn, outage_id)
            updates: dict[str, Any] = {"updated_at": to_ts(now)}
            if cause is not None:
                updates["description"] = cause
            moved = restore_given and _time(row["expected_restore_at"]) != restore
            if moved:
                updates["expected_restore_at"] = to_ts(restore) if restore else None
            assignments = ", ".join(f"{name} = ?" for name in updates)  # fixed names
            conn.execute(
                f"UPDATE outages SET {assignments} WHERE id = ?", (*updates.values(), outage_id)
            )
            if moved:
                restore_text = restore.isoformat() if restore else None
                for ticket_row in self._attached(conn, outage_id):
                    ticket = ticket_from_row(ticket_row)
                    conn.execute(
                        "UPDATE tickets SET extra = ? WHERE id = ?",
                        (json.dumps({**ticket.extra, "expected_restore_at": restore_text},
                                    ensure_ascii=False), ticket.id),
                    )  # fmt: skip
                    text = notices.outage_update_text(
                        ticket.id, row["district"], row["service"], restore
                    )
                    insert_notice(conn, ticket, "outage_update", text, now)
                    queued += 1
            row = conn.execute(f"{_SELECT} WHERE o.id = ?", (outage_id,)).fetchone()
        log.info("store.outage.updated id=%s by=%s notices=%d", outage_id, actor, queued)
        return info_from_row(row), queued

    def close_outage_resolving(
        self, outage_id: str, actor: str, now: datetime, result: str | None = None
    ) -> tuple[OutageInfo, list[Ticket]]:
        """Close an open outage (restored): every report still attached to it is resolved by
        the system with `result` (default notices.OUTAGE_FIXED) and its customer gets an
        "outage_closed" notice, in one transaction. Returns the outage and the reports it
        resolved (each after its resolve). NoSuchOutage, OutageClosed."""
        given = str(result or "").strip()[:CAUSE_MAX] or notices.OUTAGE_FIXED
        outcome = mask.escape_text(mask.text(given), CAUSE_MAX)
        resolved: list[Ticket] = []
        with self._tx() as conn:
            row = self._open_row(conn, outage_id)
            conn.execute(
                "UPDATE outages SET status = 'closed', closed_at = ?, closed_by = ?, result = ?,"
                " updated_at = ? WHERE id = ?",
                (to_ts(now), actor, outcome, to_ts(now), outage_id),
            )
            for ticket_row in self._attached(conn, outage_id):
                ticket, values = step_in(
                    conn, ticket_row["id"], "resolve", "system", now, {"result": given}
                )
                text = notices.outage_closed_text(
                    ticket.id, row["district"], row["service"], values["result"]
                )
                insert_notice(conn, ticket, "outage_closed", text, now)
                resolved.append(ticket)
            row = conn.execute(f"{_SELECT} WHERE o.id = ?", (outage_id,)).fetchone()
        log.info("store.outage.closed id=%s by=%s resolved=%d", outage_id, actor, len(resolved))
        return info_from_row(row), resolved
