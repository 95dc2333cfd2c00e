"""What the customer hears about a ticket, in the SQLite store: notices queued with the step that
causes them (a response, the result; the watcher's follow-up question and an outage's news are
queued by ticket_alerts.py and outage_work.py), read by the router, which delivers each into the
customer's conversation or asks for it to go by SMS through the outbox. Delivering is idempotent:
a notice is delivered once, a second call answers how it went.

The texts are actions/service_loop/notices.py's; a notice never holds the phone number.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions.service_loop import notices
from actions.store.base import InvalidInput, StoreError, Ticket
from actions.store.connection import SQLiteBase
from actions.store.rows import from_ts, queue_sms, to_ts
from actions.store.ticket_steps import step_in

__all__ = [
    "DELIVERIES",
    "NoSuchNotice",
    "Notice",
    "TicketNoticeMethods",
    "insert_notice",
    "notice_from_row",
]

DELIVERIES = ("conversation", "sms", "none")  # none: an anonymous ticket has no number to text

log = logging.getLogger(__name__)


class NoSuchNotice(StoreError):
    """No notice with that id."""


@dataclass(frozen=True)
class Notice:
    id: int
    ticket_id: str
    kind: str  # notices.NOTICE_KINDS
    text: str  # Chinese, customer-facing; a follow-up's holds notices.LINK
    created_at: datetime
    conversation_id: str | None = None  # the router's conversation the ticket came from
    channel: str | None = None  # web | app | voice …
    feedback_token: str | None = None  # follow_up only
    round: int = 0
    delivered_via: str | None = None  # DELIVERIES, None while pending
    delivered_at: datetime | None = None


def notice_from_row(row: sqlite3.Row) -> Notice:
    return Notice(
        id=row["id"],
        ticket_id=row["ticket_id"],
        kind=row["kind"],
        text=row["text"],
        created_at=from_ts(row["created_at"]),
        conversation_id=row["conversation_id"],
        channel=row["channel"],
        feedback_token=row["feedback_token"],
        round=row["round"],
        delivered_via=row["delivered_via"],
        delivered_at=from_ts(row["delivered_at"]) if row["delivered_at"] else None,
    )


def _where(extra: dict[str, Any], key: str) -> str | None:
    value = extra.get(key)
    return value if isinstance(value, str) and value else None


def insert_notice(
    conn: sqlite3.Connection,
    ticket: Ticket,
    kind: str,
    text: str,
    now: datetime,
    *,
    round_: int = 0,
    feedback_token: str | None = None,
    ignore_repeat: bool = False,
) -> Notice | None:
    """Queue a notice for `ticket`'s customer inside the caller's transaction, addressed where
    the ticket came from (its `extra` `conversation` and `channel`). With `ignore_repeat`, a
    second follow-up of the same round is not queued (None)."""
    if kind not in notices.NOTICE_KINDS:
        raise InvalidInput("unknown notice kind")
    conversation, channel = _where(ticket.extra, "conversation"), _where(ticket.extra, "channel")
    cur = conn.execute(
        f"INSERT {'OR IGNORE ' if ignore_repeat else ''}INTO ticket_notices (ticket_id, kind,"
        " round, conversation_id, channel, text, feedback_token, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket.id, kind, round_, conversation, channel, text, feedback_token, to_ts(now)),
    )
    if cur.rowcount != 1:
        return None
    log.info("store.notice.queued ticket=%s kind=%s id=%s", ticket.id, kind, cur.lastrowid)
    return Notice(
        id=int(cur.lastrowid or 0),
        ticket_id=ticket.id,
        kind=kind,
        text=text,
        created_at=from_ts(to_ts(now)),
        conversation_id=conversation,
        channel=channel,
        feedback_token=feedback_token,
        round=round_,
    )


def step_notice(ticket: Ticket, step: str, values: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, text) of the notice a step sends its customer: a response's text, a result with
    its remedy; None for the other steps."""
    if step == "respond" and values.get("text"):
        return "response", notices.response_text(ticket.id, values["text"])
    if step == "resolve" and values.get("result"):
        return "result", notices.result_text(ticket.id, values["result"], values.get("remedy"))
    return None


class TicketNoticeMethods(SQLiteBase):
    """Steps that tell the customer, and the notices waiting to be delivered."""

    def work_ticket(
        self, ticket_id: str, step: str, actor: str, now: datetime, **fields: Any
    ) -> tuple[Ticket, list[Notice]]:
        """`apply_ticket_step`, and in the same transaction the notice the step sends its
        customer (a `respond` → "response", a `resolve` → "result"). Raises as
        apply_ticket_step does."""
        with self._tx() as conn:
            ticket, values = step_in(conn, ticket_id, step, actor, now, fields)
            what = step_notice(ticket, step, values)
            queued = insert_notice(conn, ticket, *what, now) if what else None
        return ticket, [queued] if queued else []

    def notice(self, notice_id: int) -> Notice | None:
        with self._use() as conn:
            row = conn.execute("SELECT * FROM ticket_notices WHERE id = ?", (notice_id,)).fetchone()
        return notice_from_row(row) if row else None

    def pending_notices(self, limit: int = 50) -> list[Notice]:
        """Notices not delivered yet, oldest first."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM ticket_notices WHERE delivered_via IS NULL ORDER BY id LIMIT ?",
                (max(int(limit), 0),),
            ).fetchall()
        return [notice_from_row(r) for r in rows]

    def ticket_notices(self, ticket_id: str) -> list[Notice]:
        """Every notice of the ticket, oldest first."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM ticket_notices WHERE ticket_id = ? ORDER BY id", (ticket_id,)
            ).fetchall()
        return [notice_from_row(r) for r in rows]

    def notice_delivered(self, notice_id: int, via: str, now: datetime) -> Notice:
        """Record that the router delivered the notice (`via` "conversation"). A notice
        delivered before keeps its first delivery. NoSuchNotice, InvalidInput."""
        if via not in DELIVERIES:
            raise InvalidInput("unknown delivery")
        with self._tx() as conn:
            self._deliver(conn, notice_id, via, now)
            row = conn.execute("SELECT * FROM ticket_notices WHERE id = ?", (notice_id,)).fetchone()
        return notice_from_row(row)

    def send_notice_sms(self, notice_id: int, now: datetime, link: str | None = None) -> Notice:
        """Send the notice by SMS to its ticket's number through the outbox (a follow-up with
        `link` in place of its placeholder), or record it undeliverable ("none") when the
        ticket is anonymous; once: a notice delivered before is left as it is. NoSuchNotice;
        InvalidInput for a follow-up without a link."""
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM ticket_notices WHERE id = ?", (notice_id,)).fetchone()
            if row is None:
                raise NoSuchNotice("no such notice")
            if row["delivered_via"] is None:
                text = row["text"]
                if row["kind"] == "follow_up":
                    if not link:
                        raise InvalidInput("a follow-up's SMS needs its link")
                    text = text.replace(notices.LINK, link)
                ticket = conn.execute(
                    "SELECT phone FROM tickets WHERE id = ?", (row["ticket_id"],)
                ).fetchone()
                phone = ticket["phone"] if ticket else None
                if phone:
                    queue_sms(conn, phone, "ticket", notices.sms_body(text), now)
                self._deliver(conn, notice_id, "sms" if phone else "none", now)
                row = conn.execute(
                    "SELECT * FROM ticket_notices WHERE id = ?", (notice_id,)
                ).fetchone()
        return notice_from_row(row)

    @staticmethod
    def _deliver(conn: sqlite3.Connection, notice_id: int, via: str, now: datetime) -> None:
        cur = conn.execute(
            "UPDATE ticket_notices SET delivered_via = ?, delivered_at = ?"
            " WHERE id = ? AND delivered_via IS NULL",
            (via, to_ts(now), notice_id),
        )
        if cur.rowcount == 1:
            log.info("store.notice.delivered id=%d via=%s", notice_id, via)
            return
        if conn.execute("SELECT 1 FROM ticket_notices WHERE id = ?", (notice_id,)).fetchone():
            return  # delivered before: idempotent
        raise NoSuchNotice("no such notice")
