"""The deadline watcher's decisions, pure: for one open ticket at `now`, what to do that was not
done before. The store (actions/store/alerts.py) gathers what was done and carries each decision
out in a transaction; running it twice at the same time decides nothing the second time.

  warn    a window at 80 % of its time not escalated yet (telecom.tickets.due_warnings): the
          system escalates it (an `escalate` step with the window) → a "warning" alert
  breach  a window missed (telecom.tickets.breached) with no breach alert yet → a "breach" alert
  page    a ticket escalated at opening (a major complaint, a critical fault) not paged yet →
          a "page" alert to the complaints supervisors
  ask     a ticket in `feedback` resolved FOLLOW_UP_ASK_AFTER ago or more, whose satisfaction
          question was not queued yet → a "follow_up" notice

A reopen starts a new round (`TicketState.reopens`): the resolve and follow-up windows are new,
so their breaches and the follow-up question count again; the respond window and the page once
per ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telecom import tickets
from telecom.tickets import FOLLOW_UP_ASK_AFTER, OPEN_STATES, TicketState

__all__ = ["ACTIONS", "Decision", "Watched", "alert_round", "decide"]

ACTIONS = ("warn", "breach", "page", "ask")


@dataclass(frozen=True)
class Watched:
    """One open ticket and what the watcher did for it before."""

    ticket_id: str
    lifecycle: TicketState
    escalated_at_opening: bool = False
    alerted: frozenset[tuple[str, str, int]] = frozenset()  # (kind, window or "", round)
    asked: frozenset[int] = frozenset()  # rounds whose follow-up question was queued


@dataclass(frozen=True)
class Decision:
    action: str  # one of ACTIONS
    ticket_id: str
    window: str | None  # warn, breach; None for page and ask
    due: datetime | None  # the window's due time (warn, breach)
    round: int


def alert_round(window: str | None, ticket: TicketState) -> int:
    """The round an alert belongs to: the respond window and a page once per ticket (0), the
    resolve and follow-up windows once per reopen."""
    return ticket.reopens if window in ("resolve", "follow_up") else 0


def decide(watched: Watched, now: datetime) -> list[Decision]:
    """What the watcher does for this ticket at `now`, in the order to do it."""
    ticket, ticket_id = watched.lifecycle, watched.ticket_id
    if ticket.state not in OPEN_STATES:
        return []
    out = [
        Decision("warn", ticket_id, w.window, w.due, alert_round(w.window, ticket))
        for w in tickets.due_warnings(ticket, now)
    ]
    due_of = {w.name: w.due for w in tickets.windows(ticket)}
    for window in tickets.breached(ticket, now):
        round_ = alert_round(window, ticket)
        if ("breach", window, round_) not in watched.alerted:
            out.append(Decision("breach", ticket_id, window, due_of[window], round_))
    if watched.escalated_at_opening and ("page", "", 0) not in watched.alerted:
        out.append(Decision("page", ticket_id, None, None, 0))
    if (
        ticket.state == "feedback"
        and ticket.resolved_at is not None
        and ticket.resolved_at + FOLLOW_UP_ASK_AFTER <= now
        and ticket.reopens not in watched.asked
    ):
        out.append(Decision("ask", ticket_id, None, None, ticket.reopens))
    return out
