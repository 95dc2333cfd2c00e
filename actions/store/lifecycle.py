"""A ticket's lifecycle in SQLite: the lifecycle columns of `tickets` to and from
`telecom.tickets.TicketState`, the `ticket_events` rows, and filling in the lifecycle of tickets a
store kept from before it had one (schema.migrate). The rules are telecom.tickets'; the store's
methods that use these are in ticket_steps.py (steps, queues, warnings) and tickets.py (opening).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any

from actions.store.base import TicketEvent
from actions.store.rows import from_ts, to_ts
from telecom import tickets
from telecom.tickets import TicketState

__all__ = [
    "STATUS_OF",
    "TICKET_SELECT",
    "backfill_lifecycle",
    "event_from_row",
    "insert_event",
    "lifecycle_values",
    "state_from_row",
    "write_lifecycle",
]

# The `status` a ticket had before its lifecycle (open | in_progress | resolved | closed |
# attached), kept in step with the state for what still reads it.
STATUS_OF = {
    "intake": "open",
    "assessing": "open",
    "handling": "in_progress",
    "feedback": "resolved",
    "closed": "closed",
    "attached": "attached",
}
_STATE_OF_STATUS = {
    "open": "intake", "in_progress": "handling", "resolved": "feedback", "closed": "closed"
}  # fmt: skip
# how many of responded_at, resolved_at and closed_at a state has reached
STATES_REACHED = {"handling": 1, "feedback": 2, "closed": 3}
_TIMES = (
    "respond_by", "resolve_by", "follow_up_by", "responded_at", "resolved_at", "followed_up_at",
    "closed_at", "reopened_at",
)  # fmt: skip

# A ticket row with the latest text sent to the customer (`last_reply`, the last respond step).
TICKET_SELECT = (
    "SELECT t.*, (SELECT e.text FROM ticket_events e WHERE e.ticket_id = t.id"
    " AND e.step = 'respond' ORDER BY e.seq DESC LIMIT 1) AS last_reply FROM tickets t"
)


def _time(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def state_from_row(row: sqlite3.Row) -> TicketState:
    """The lifecycle of a `tickets` row."""
    times = {name: _time(row[name]) for name in _TIMES}
    return TicketState(
        kind=row["kind"],
        opened_at=from_ts(row["created_at"]),
        severity=row["severity"],
        category=row["category"],
        state=row["state"],
        team=row["team"],
        assignee=row["assignee"],
        reopens=row["reopens"],
        escalated=bool(row["escalated"]),
        warned=tuple(w for w in row["warned"].split(",") if w),
        result=row["result"],
        remedy=row["remedy"],
        rating=row["rating"],
        **times,
    )


def lifecycle_values(state: TicketState) -> dict[str, Any]:
    """The lifecycle columns (and `status`) of `state`, as stored."""
    values: dict[str, Any] = {
        name: to_ts(moment) if (moment := getattr(state, name)) else None for name in _TIMES
    }
    values.update(
        state=state.state,
        status=STATUS_OF[state.state],
        team=state.team,
        assignee=state.assignee,
        reopens=state.reopens,
        escalated=int(state.escalated),
        warned=",".join(state.warned),
        result=state.result,
        remedy=state.remedy,
        rating=state.rating,
    )
    return values


def write_lifecycle(conn: sqlite3.Connection, ticket_id: str, state: TicketState) -> None:
    values = lifecycle_values(state)
    assignments = ", ".join(f"{name} = ?" for name in values)  # fixed names
    conn.execute(f"UPDATE tickets SET {assignments} WHERE id = ?", (*values.values(), ticket_id))


def insert_event(
    conn: sqlite3.Connection,
    ticket_id: str,
    step: str,
    actor: str,
    team: str,
    text: str | None,
    detail: dict[str, Any],
    now: datetime,
) -> int:
    """Record one step of the ticket (text and detail already escaped); returns its seq."""
    seq: int = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM ticket_events WHERE ticket_id = ?", (ticket_id,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO ticket_events (ticket_id, seq, step, actor, team, text, detail, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket_id, seq, step, actor, team, text, json.dumps(detail, ensure_ascii=False),
         to_ts(now)),
    )  # fmt: skip
    return seq


def event_from_row(row: sqlite3.Row) -> TicketEvent:
    return TicketEvent(
        ticket_id=row["ticket_id"],
        seq=row["seq"],
        step=row["step"],
        actor=row["actor"],
        team=row["team"],
        text=row["text"],
        detail=json.loads(row["detail"]),
        ts=from_ts(row["ts"]),
    )


def _legacy_state(row: sqlite3.Row) -> TicketState:
    """The lifecycle of a ticket stored before there was one: its state from its status, its
    deadlines from its `extra` (as the assistant stored them) or the rules. The time a later
    state was reached is not known: the opening stands in for it."""
    opened = from_ts(row["created_at"])
    if row["status"] == "attached":
        return tickets.attached_ticket(opened, row["category"])
    due = tickets.deadlines(row["kind"], row["severity"], row["category"], opened)
    state = tickets.new_ticket(due, row["severity"], row["category"])
    extra = json.loads(row["extra"] or "{}")
    changes: dict[str, Any] = {}
    for key in ("respond_by", "resolve_by"):
        try:
            moment = datetime.fromisoformat(extra[key]) if isinstance(extra.get(key), str) else None
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            changes[key] = moment
    name = _STATE_OF_STATUS.get(row["status"], "intake")
    reached = ("responded_at", "resolved_at", "closed_at")[: STATES_REACHED.get(name, 0)]
    changes.update({key: opened for key in reached}, state=name)
    return replace(state, **changes)


def backfill_lifecycle(conn: sqlite3.Connection) -> int:
    """Fill in the lifecycle columns of every ticket (inside migrate's transaction)."""
    rows = conn.execute("SELECT * FROM tickets").fetchall()
    for row in rows:
        write_lifecycle(conn, row["id"], _legacy_state(row))
    return len(rows)
