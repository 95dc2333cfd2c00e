"""The rows of the two sources the ticket metrics count (archive/metrics.py defines the metrics,
their words and their per-row expressions; this module only selects the rows):

- `ticket_steps`: one row per step of a ticket's lifecycle the router fed (table ticket_steps),
  by the step's time, with its ticket's conversation's channel and first intent;
- `ratings`: one row per satisfaction answer — a conversation's survey rating (by the
  conversation's start, as csat_agent and csat_bot count it) and a ticket's follow-up answer
  (by its time).

Filters: channel and intent are those of the ticket's conversation (a step whose conversation is
not archived has none, so it passes no channel or intent filter); queue, skill and agent: the
conversation has a handoff matching them, as for customer turns.

Kept apart from archive/metrics.py (which imports it) so that file stays readable; the handoff
filter comes in as a function for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from archive.schema import Conversation, TicketStep
from telecom.tickets import REOPEN_RATING

if TYPE_CHECKING:
    from archive.metrics import ReportQuery

__all__ = ["ALERTS", "rating_rows", "reopens", "step_rows"]

# what the router feeds besides the steps: the watcher's alerts (the `step` of their entries)
ALERTS = ("warning", "breach", "page")

HandoffMatch = Callable[["ReportQuery", Any], sa.ColumnElement[bool]]
_S, _C = TicketStep.__table__, Conversation.__table__


def _flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def reopens(s: Any) -> sa.ColumnElement[bool]:
    """A step that reopens its ticket: a reopen, or a follow-up answer rated REOPEN_RATING or
    lower (telecom.tickets: such an answer reopens the ticket)."""
    return sa.or_(
        s.step == "reopen", sa.and_(s.step == "follow_up_answer", s.rating <= REOPEN_RATING)
    )


def _filtered(
    rows: sa.Select[Any],
    q: ReportQuery,
    conversation: sa.FromClause,
    conversation_id: Any,
    handed_off_in: HandoffMatch,
) -> sa.Select[Any]:
    if q.channel is not None:
        rows = rows.where(conversation.c.channel == q.channel)
    if q.intent is not None:
        rows = rows.where(conversation.c.first_intent == q.intent)
    if q.queue is not None or q.skill is not None or q.agent_id is not None:
        rows = rows.where(handed_off_in(q, conversation_id))
    return rows


def step_rows(q: ReportQuery, handed_off_in: HandoffMatch) -> sa.Subquery:
    """Ticket steps in the window; `reopened`: a resolve its ticket was reopened after (at any
    time later: the flag looks past the window, like first-contact resolution)."""
    s = _S.c
    conversation = _C.alias("step_conversation")
    later = _S.alias("later")
    reopened = sa.exists().where(
        later.c.ticket_id == s.ticket_id,
        later.c.ts_ms >= s.ts_ms,
        later.c.id != s.id,
        reopens(later.c),
    )
    rows = (
        sa.select(
            s.conversation_id,
            s.ts_ms,
            conversation.c.channel,
            conversation.c.first_intent.label("intent"),
            s.ticket_id,
            s.step,
            s.actor_role,
            s.window,
            s.rating,
            _flag(sa.and_(s.step == "resolve", reopened)).label("reopened"),
        )
        .select_from(_S)
        .outerjoin(conversation, conversation.c.id == s.conversation_id)
        .where(s.ts_ms >= q.start_ms, s.ts_ms < q.end_ms)
    )
    return _filtered(rows, q, conversation, s.conversation_id, handed_off_in).subquery(
        "ticket_step_rows"
    )


def rating_rows(q: ReportQuery, handed_off_in: HandoffMatch) -> sa.Subquery:
    """Every rating in the window: conversations' (follow_up 0, by the conversation's start)
    and tickets' follow-up answers (follow_up 1, by the answer's time)."""
    c, s = _C.c, _S.c
    surveys = sa.select(
        c.id.label("conversation_id"),
        c.started_ms.label("ts_ms"),
        c.channel,
        c.first_intent.label("intent"),
        sa.literal_column("0").label("follow_up"),
        c.rating,
    ).where(c.rating.is_not(None), c.started_ms >= q.start_ms, c.started_ms < q.end_ms)
    surveys = _filtered(surveys, q, _C, c.id, handed_off_in)
    conversation = _C.alias("rated_conversation")
    answers = (
        sa.select(
            s.conversation_id,
            s.ts_ms,
            conversation.c.channel,
            conversation.c.first_intent.label("intent"),
            sa.literal_column("1").label("follow_up"),
            s.rating,
        )
        .select_from(_S)
        .outerjoin(conversation, conversation.c.id == s.conversation_id)
        .where(
            s.step == "follow_up_answer",
            s.rating.is_not(None),
            s.ts_ms >= q.start_ms,
            s.ts_ms < q.end_ms,
        )
    )
    answers = _filtered(answers, q, conversation, s.conversation_id, handed_off_in)
    return sa.union_all(surveys, answers).subquery("rating_rows")
