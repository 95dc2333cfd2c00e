"""Working tickets in the SQLite store: one ticket and its steps, a step applied under the rules of
telecom.tickets (checked and recorded in one transaction), a team's queue by the nearest deadline,
and the deadline warnings due. Text a step carries (a response, a note, a reason, a result, a
remedy, a comment) is cleaned like a ticket's description: numbers masked, escaped, cut to length.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any

from actions.store.base import (
    InvalidInput,
    NoSuchTicket,
    QueueEntry,
    Ticket,
    TicketEvent,
    TicketWarning,
)
from actions.store.connection import SQLiteBase
from actions.store.lifecycle import (
    TICKET_SELECT,
    event_from_row,
    insert_event,
    state_from_row,
    write_lifecycle,
)
from actions.store.tickets import DESCRIPTION_MAX, ticket_from_row
from telecom import mask, tickets
from telecom.tickets import OPEN_STATES, TEAMS, Step

__all__ = ["STEP_FIELDS", "TicketStepMethods", "step_in"]

STEP_FIELDS = ("text", "team", "result", "remedy", "rating", "window")
_TEXT_FIELDS = ("text", "result", "remedy")
_OPEN = ", ".join(f"'{state}'" for state in OPEN_STATES)

log = logging.getLogger(__name__)


def _clean(value: object) -> str | None:
    return None if value is None else mask.escape_text(mask.text(str(value)), DESCRIPTION_MAX)


def step_in(
    conn: sqlite3.Connection,
    ticket_id: str,
    step: str,
    actor: str,
    now: datetime,
    fields: dict[str, Any],
) -> tuple[Ticket, dict[str, Any]]:
    """`apply_ticket_step` inside the caller's transaction: the ticket after the step and the
    step's fields as recorded (text, result and remedy cleaned)."""
    if any(name not in STEP_FIELDS for name in fields):
        raise InvalidInput("unknown ticket step field")
    values: dict[str, Any] = {k: _clean(v) if k in _TEXT_FIELDS else v for k, v in fields.items()}
    row = conn.execute(f"{TICKET_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise NoSuchTicket("no such ticket")
    before = state_from_row(row)
    after = tickets.apply(before, Step(step, actor, **values), now)
    write_lifecycle(conn, ticket_id, after)
    detail: dict[str, Any] = {"state": after.state}
    if step == "reassign":
        detail["from_team"] = before.team
    for name in ("result", "remedy", "rating", "window"):
        if values.get(name) is not None:
            detail[name] = values[name]
    text = values.get("text") if step != "resolve" else values.get("result")
    seq = insert_event(conn, ticket_id, step, actor, after.team, text, detail, now)
    row = conn.execute(f"{TICKET_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
    log.info(
        "store.ticket.step ticket=%s seq=%d step=%s actor=%s state=%s team=%s",
        ticket_id, seq, step, actor, after.state, after.team,
    )  # fmt: skip
    return ticket_from_row(row), values


class TicketStepMethods(SQLiteBase):
    """The store's ticket lifecycle: steps, queues and deadline warnings."""

    def ticket(self, ticket_id: str) -> Ticket | None:
        with self._use() as conn:
            row = conn.execute(f"{TICKET_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
        return ticket_from_row(row) if row else None

    def ticket_steps(self, ticket_id: str) -> list[TicketEvent]:
        """Every recorded step of the ticket, oldest first ([] for an unknown ticket)."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY seq", (ticket_id,)
            ).fetchall()
        return [event_from_row(r) for r in rows]

    def apply_ticket_step(
        self, ticket_id: str, step: str, actor: str, now: datetime, **fields: Any
    ) -> Ticket:
        """Apply `step` by `actor` (agent:<id> | supervisor:<id> | system | customer) at `now`
        with its `fields` (STEP_FIELDS; text, result and remedy are cleaned first): the rules
        of telecom.tickets.apply decide, inside the transaction that writes the new state and
        records the step. Returns the ticket after it. Raises NoSuchTicket, InvalidInput for a
        field that is not a step's, and telecom.tickets.TicketRuleError when the rules refuse
        it (nothing is written then)."""
        with self._tx() as conn:
            ticket, _ = step_in(conn, ticket_id, step, actor, now, fields)
        return ticket

    def team_queue(self, team: str, now: datetime) -> list[QueueEntry]:
        """The team's tickets still to work (intake to feedback), the nearest deadline first,
        those with none last (oldest first among equals), each with the windows it has missed
        by `now`. InvalidInput for an unknown team."""
        if team not in TEAMS:
            raise InvalidInput("unknown team")
        with self._use() as conn:
            rows = conn.execute(
                f"{TICKET_SELECT} WHERE t.team = ? AND t.state IN ({_OPEN})", (team,)
            ).fetchall()
        entries = []
        for row in rows:
            ticket = ticket_from_row(row)
            entries.append(
                QueueEntry(
                    ticket=ticket,
                    due=tickets.next_due(ticket.lifecycle),
                    breached=tickets.breached(ticket.lifecycle, now),
                )
            )
        entries.sort(key=lambda e: (e.due is None, e.due or now, e.ticket.created_at, e.ticket.id))
        return entries

    def due_ticket_warnings(self, now: datetime) -> list[TicketWarning]:
        """Every open window at 80 % or more of its time and not escalated yet, the soonest due
        first: escalate each (step `escalate` by `system` with its `window`) to warn the
        team's supervisor once."""
        with self._use() as conn:
            rows = conn.execute(f"SELECT * FROM tickets WHERE state IN ({_OPEN})").fetchall()
        warnings = [
            TicketWarning(row["id"], w.window, w.due, w.team)
            for row in rows
            for w in tickets.due_warnings(state_from_row(row), now)
        ]
        warnings.sort(key=lambda w: (w.due, w.ticket_id, w.window))
        return warnings
