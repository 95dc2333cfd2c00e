"""The deadline watcher in the SQLite store: one run at `now` carries out the decisions of
actions/service_loop/watch.py (escalate a window due a warning, record a breach, page the
complaints supervisors, queue the satisfaction question), each in its own transaction, and
records what it did so that a second run at the same time does nothing; supervisors read the
alerts after an id and a summary per team.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from actions.service_loop import notices, watch
from actions.service_loop.watch import Decision, Watched
from actions.store.connection import SQLiteBase
from actions.store.lifecycle import TICKET_SELECT, state_from_row
from actions.store.rows import from_ts, to_ts
from actions.store.ticket_notices import insert_notice
from actions.store.ticket_steps import step_in
from actions.store.tickets import ticket_from_row
from telecom import tickets
from telecom.dates import CHINA_TZ
from telecom.tickets import OPEN_STATES, TEAMS, TicketRuleError

__all__ = ["Alert", "TicketAlertMethods", "WatchRun", "alert_from_row"]

_OPEN = ", ".join(f"'{state}'" for state in OPEN_STATES)
# a ticket escalated at opening: its second step is the system's escalate, at the opening time
_ESCALATED_AT_OPENING = (
    "EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND e.seq = 2"
    " AND e.step = 'escalate' AND e.actor = 'system' AND e.ts = t.created_at)"
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    id: int  # increasing
    kind: str  # warning | breach | page
    ticket_id: str
    window: str | None  # respond | resolve | follow_up; None for a page
    team: str
    severity: str | None
    due: datetime | None
    at: datetime
    text: str  # Chinese, for supervisors


@dataclass(frozen=True)
class WatchRun:
    alerts: list[Alert]
    notices: int  # follow-up questions queued


def alert_from_row(row: sqlite3.Row) -> Alert:
    return Alert(
        id=row["id"],
        kind=row["kind"],
        ticket_id=row["ticket_id"],
        window=row["window_name"] or None,
        team=row["team"],
        severity=row["severity"],
        due=from_ts(row["due"]) if row["due"] else None,
        at=from_ts(row["at"]),
        text=row["text"],
    )


class TicketAlertMethods(SQLiteBase):
    """The deadline watcher's runs, and the alerts they raised."""

    def _watched(self) -> list[tuple[Watched, str]]:
        """Every open ticket with what was done for it before, and its kind."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                f"SELECT t.*, {_ESCALATED_AT_OPENING} AS at_opening FROM tickets t"
                f" WHERE t.state IN ({_OPEN}) ORDER BY t.seq"
            ).fetchall()
            alerted: dict[str, set[tuple[str, str, int]]] = {}
            for a in conn.execute(
                "SELECT a.ticket_id, a.kind, a.window_name, a.round FROM ticket_alerts a"
                f" JOIN tickets t ON t.id = a.ticket_id WHERE t.state IN ({_OPEN})"
            ):
                alerted.setdefault(a[0], set()).add((a[1], a[2], a[3]))
            asked: dict[str, set[int]] = {}
            for n in conn.execute(
                "SELECT ticket_id, round FROM ticket_notices WHERE kind = 'follow_up'"
            ):
                asked.setdefault(n[0], set()).add(n[1])
        return [
            (
                Watched(
                    ticket_id=row["id"],
                    lifecycle=state_from_row(row),
                    escalated_at_opening=bool(row["at_opening"]),
                    alerted=frozenset(alerted.get(row["id"], ())),
                    asked=frozenset(asked.get(row["id"], ())),
                ),
                row["kind"],
            )
            for row in rows
        ]

    def watch_tickets(self, now: datetime, token_for: Callable[[str], str]) -> WatchRun:
        """One watcher run at `now` (service_loop/watch.py says what it does); `token_for(
        ticket_id)` gives a follow-up's feedback token. Returns the alerts raised and how many
        follow-up questions were queued."""
        alerts: list[Alert] = []
        asked = 0
        for watched, kind in self._watched():
            for decision in watch.decide(watched, now):
                if decision.action == "ask":
                    asked += self._ask(decision, now, token_for(decision.ticket_id))
                    continue
                alert = self._raise(decision, kind, now)
                if alert is not None:
                    alerts.append(alert)
        if alerts or asked:
            log.info("store.watch alerts=%d follow_ups=%d", len(alerts), asked)
        return WatchRun(alerts=alerts, notices=asked)

    def _raise(self, decision: Decision, kind: str, now: datetime) -> Alert | None:
        """Carry out a warn, breach or page decision; None when another run did it first."""
        alert_kind = {"warn": "warning", "breach": "breach", "page": "page"}[decision.action]
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM tickets WHERE id = ?", (decision.ticket_id,)
            ).fetchone()
            if row is None:
                return None
            if decision.action == "warn":
                try:
                    step_in(conn, decision.ticket_id, "escalate", "system", now,
                            {"window": decision.window})  # fmt: skip
                except TicketRuleError:  # warned meanwhile, or no longer due
                    return None
            text = notices.alert_text(
                alert_kind, decision.ticket_id, decision.window, decision.due, row["team"],
                ticket_kind=kind, now=now,
            )  # fmt: skip
            cur = conn.execute(
                "INSERT OR IGNORE INTO ticket_alerts (kind, ticket_id, window_name, round, team,"
                " severity, due, at, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (alert_kind, decision.ticket_id, decision.window or "", decision.round,
                 row["team"], row["severity"], to_ts(decision.due) if decision.due else None,
                 to_ts(now), text),
            )  # fmt: skip
            if cur.rowcount != 1:
                return None
            saved = conn.execute(
                "SELECT * FROM ticket_alerts WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        log.info(
            "store.alert id=%d kind=%s ticket=%s window=%s",
            saved["id"], alert_kind, decision.ticket_id, decision.window,
        )  # fmt: skip
        return alert_from_row(saved)

    def _ask(self, decision: Decision, now: datetime, token: str) -> int:
        """Queue the satisfaction question of the decision's round (1), unless the ticket left
        `feedback` or the question was queued meanwhile (0)."""
        with self._tx() as conn:
            row = conn.execute(f"{TICKET_SELECT} WHERE t.id = ?", (decision.ticket_id,)).fetchone()
            if row is None or row["state"] != "feedback" or row["reopens"] != decision.round:
                return 0
            queued = insert_notice(
                conn, ticket_from_row(row), "follow_up", notices.follow_up_text(row["id"]), now,
                round_=decision.round, feedback_token=token, ignore_repeat=True,
            )  # fmt: skip
        return 1 if queued else 0

    def ticket_alerts(self, since: int = 0, limit: int = 100) -> list[Alert]:
        """Alerts with an id above `since`, oldest first, at most `limit`."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM ticket_alerts WHERE id > ? ORDER BY id LIMIT ?",
                (int(since), max(int(limit), 0)),
            ).fetchall()
        return [alert_from_row(r) for r in rows]

    def tickets_summary(self, now: datetime) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Per team, its open tickets (intake to feedback), those escalated to its supervisor
        (a warning, at opening or by hand) and those past a deadline at `now`; and the alerts
        raised today (China time) per kind."""
        teams = {team: {"open": 0, "warned": 0, "breached": 0} for team in TEAMS}
        start = datetime.combine(now.astimezone(CHINA_TZ).date(), time(0), CHINA_TZ)
        with self._tx(write=False) as conn:
            rows = conn.execute(f"SELECT * FROM tickets WHERE state IN ({_OPEN})").fetchall()
            counted = conn.execute(
                "SELECT kind, COUNT(*) FROM ticket_alerts WHERE at >= ? AND at < ? GROUP BY kind",
                (to_ts(start), to_ts(start + timedelta(days=1))),
            ).fetchall()
        for row in rows:
            ticket = state_from_row(row)
            counts = teams.setdefault(row["team"], {"open": 0, "warned": 0, "breached": 0})
            counts["open"] += 1
            counts["warned"] += int(ticket.escalated)
            counts["breached"] += int(bool(tickets.breached(ticket, now)))
        today = {kind: 0 for kind in notices.ALERT_KINDS}
        today.update({kind: count for kind, count in counted})
        return teams, today
