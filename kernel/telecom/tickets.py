"""The ticket lifecycle, defined once: states, the steps that move a ticket and who may take them,
and the deadlines of ../shared/domain.md. Pure: everything takes `now` (a clock the caller and the
tests drive); nothing reads the time, opens a database or logs. The store applies steps with
`apply` inside its transaction; the assistant, the agent console and a deadline watcher read
`deadlines`, `due_warnings`, `breached` and `next_due`. Labels: telecom.labels (TEAMS,
TICKET_STATES, TICKET_STEPS).

States:
  intake     opened; nobody has claimed it
  assessing  claimed by a team member
  handling   responded to the customer at least once (a reopen comes back here)
  feedback   resolved with a result, waiting for the customer's satisfaction answer
  closed     done; only a reopen within REOPEN_WINDOW of closing moves it again
  attached   a fault report attached to a known outage, until the outage closes

Steps (`Step.name`), each with its rule; a refusal raises TicketRuleError(code):
  claim      agent|supervisor. intake → assessing; a ticket left unassigned by a reassign is
             claimed in its state. attached: `attached`; claimed already: `already_claimed`.
  respond    agent (the assignee) | supervisor; text. assessing|handling → handling.
  note       agent|supervisor|system; text. Any state; the ticket does not change.
  reassign   agent (the assignee, or unassigned) | supervisor; another team of TEAMS.
             intake|assessing → intake, handling stays; the assignee is cleared.
  escalate   to the team's supervisor. system: `window`, due a warning (`due_warnings`): once
             per window. agent|supervisor: text (the reason); `window` optional. Not attached.
  resolve    agent (the assignee) | supervisor: handling → feedback (never before a respond:
             `not_responded`); system: attached → feedback (the outage closed). `result`
             required; `remedy` too when the severity is major.
  reopen     customer|agent|supervisor; text (the reason). feedback, or closed within
             REOPEN_WINDOW of closing → handling, with a new resolve window.
  follow_up_answer  customer; feedback; rating 1..5 and an optional comment (text). A rating
             of REOPEN_RATING or less reopens the ticket, any other closes it.
  close      agent (the assignee, or unassigned) | supervisor | system: feedback → closed.
Every step but reopen is refused on a closed ticket (`closed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from telecom.labels import TEAMS

__all__ = [
    "ERRORS",
    "FOLLOW_UP_ASK_AFTER",
    "KINDS",
    "OPEN_STATES",
    "ROLES",
    "STATES",
    "STEPS",
    "TEAMS",
    "WINDOWS",
    "Deadlines",
    "DueWarning",
    "Step",
    "TicketRuleError",
    "TicketState",
    "Window",
    "actor_role",
    "apply",
    "attached_ticket",
    "breached",
    "deadlines",
    "due_warnings",
    "initial_team",
    "new_ticket",
    "next_due",
    "windows",
]

KINDS = ("complaint", "fault", "callback")
STATES = ("intake", "assessing", "handling", "feedback", "closed", "attached")
OPEN_STATES = ("intake", "assessing", "handling", "feedback")  # watched for deadlines
STEPS = (
    "claim", "respond", "note", "reassign", "escalate", "resolve", "reopen", "follow_up_answer",
    "close",
)  # fmt: skip
ROLES = ("agent", "supervisor", "system", "customer")
WINDOWS = ("respond", "resolve", "follow_up")
ERRORS = (
    "unknown_step", "bad_actor", "not_allowed", "before_opened", "closed", "attached",
    "wrong_state", "already_claimed", "not_assignee", "text_required", "unknown_team",
    "same_team", "window_required", "unknown_window", "already_warned", "not_due",
    "not_responded", "result_required", "remedy_required", "reopen_expired", "bad_rating",
)  # fmt: skip

# domain.md
COMPLAINT_RESPOND = timedelta(hours=24)
COMPLAINT_RESOLVE = timedelta(hours=48)
COMPLAINT_RESULT = timedelta(hours=48)
FOLLOW_UP = timedelta(days=7)  # satisfaction asked within 7 days of the resolution
NETWORK_FAULT_RESPOND = timedelta(minutes=45)
NETWORK_FAULT_TARGET = timedelta(minutes=30)
# not in domain.md — our assumptions, kept in one place
OTHER_FAULT_RESPOND = timedelta(hours=24)
CALLBACK_RESPOND = timedelta(hours=24)
# "at once" for a person: a major or critical complaint is paged at opening and must be answered
# by a person within this window (the assistant's own answer counts for a minor one only)
AT_ONCE_RESPOND = timedelta(minutes=30)
REOPEN_WINDOW = timedelta(days=7)  # a closed ticket may be reopened this long after closing
WARN_AT_PERCENT = 80  # a window's supervisor is warned once this share of it has passed
REOPEN_RATING = 2  # a satisfaction rating this low or lower reopens the ticket
# the satisfaction question goes out this long after the resolution (well inside FOLLOW_UP)
FOLLOW_UP_ASK_AFTER = timedelta(days=1)

ROLES_FOR = {
    "claim": ("agent", "supervisor"),
    "respond": ("agent", "supervisor"),
    "note": ("agent", "supervisor", "system"),
    "reassign": ("agent", "supervisor"),
    "escalate": ("agent", "supervisor", "system"),
    "resolve": ("agent", "supervisor", "system"),
    "reopen": ("agent", "supervisor", "customer"),
    "follow_up_answer": ("customer",),
    "close": ("agent", "supervisor", "system"),
}
_ACTOR = re.compile(r"(agent|supervisor):[A-Za-z0-9_.-]{1,64}|system|customer")


class TicketRuleError(ValueError):
    """A step the rules refuse; `code` is one of ERRORS (stable, for mapping to HTTP). The
    message names the step and the state, never the ticket's text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------------ deadlines


@dataclass(frozen=True)
class Deadlines:
    """What a new ticket must meet. `resolve_by` / `result_by`: complaints only (resolved and
    the result sent); `respond_target`: network (or critical) faults' 30-minute target."""

    kind: str
    opened_at: datetime
    respond_by: datetime
    respond_target: datetime | None = None
    resolve_by: datetime | None = None
    result_by: datetime | None = None
    escalate_now: bool = False  # to management at once: a major complaint, a critical fault


def deadlines(
    kind: str,
    severity: str | None,
    category: str | None,
    opened_at: datetime,
    *,
    urgency: str | None = None,
) -> Deadlines:
    """complaint: minor → answered at once by the assistant (a zero-length window, met at
    opening: `new_ticket`); major or critical urgency → a person within AT_ONCE_RESPOND; else
    within 24 h; resolved and the result sent within 48 h; major → escalate now.
    fault: network (or critical urgency) → respond within 45 min, target 30, critical →
    escalate now; other faults 24 h (assumption).
    callback: respond within 24 h (assumption). ValueError for an unknown kind."""
    if kind == "complaint":
        major = severity == "major"
        if severity == "minor":
            respond = timedelta(0)
        elif major or urgency == "critical":
            respond = AT_ONCE_RESPOND
        else:
            respond = COMPLAINT_RESPOND
        return Deadlines(
            kind=kind,
            opened_at=opened_at,
            respond_by=opened_at + respond,
            resolve_by=opened_at + COMPLAINT_RESOLVE,
            result_by=opened_at + COMPLAINT_RESULT,
            escalate_now=major,
        )
    if kind == "fault":
        fast = category == "network" or urgency == "critical"
        return Deadlines(
            kind=kind,
            opened_at=opened_at,
            respond_by=opened_at + (NETWORK_FAULT_RESPOND if fast else OTHER_FAULT_RESPOND),
            respond_target=opened_at + NETWORK_FAULT_TARGET if fast else None,
            escalate_now=urgency == "critical",
        )
    if kind == "callback":
        return Deadlines(kind=kind, opened_at=opened_at, respond_by=opened_at + CALLBACK_RESPOND)
    raise ValueError(f"unknown ticket kind: {kind!r}")


def _resolve_due(due: Deadlines) -> datetime | None:
    """The resolve window's end: resolved and the result sent, whichever is due first."""
    ends = [d for d in (due.resolve_by, due.result_by) if d is not None]
    return min(ends) if ends else None


def initial_team(kind: str, severity: str | None, category: str | None) -> str:
    """A major complaint goes to the complaints supervisors (management) at once, a fee
    complaint to billing, a network fault to network operations, the rest to the front line."""
    if kind == "complaint" and severity == "major":
        return "complaints_supervisors"
    if kind == "complaint" and category == "fee":
        return "billing"
    if kind == "fault" and category == "network":
        return "network_ops"
    return "frontline"


# -------------------------------------------------------------------------------------- tickets


@dataclass(frozen=True)
class TicketState:
    """Where one ticket stands. Times are aware; `assignee` and actors are `actor_role` strings."""

    kind: str
    opened_at: datetime
    severity: str | None = None
    category: str = "other"
    state: str = "intake"
    team: str = "frontline"
    assignee: str | None = None
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    follow_up_by: datetime | None = None  # set when resolved
    responded_at: datetime | None = None  # the first respond
    resolved_at: datetime | None = None
    followed_up_at: datetime | None = None  # the follow-up answered, or the ticket closed
    closed_at: datetime | None = None
    reopened_at: datetime | None = None
    reopens: int = 0
    escalated: bool = False
    warned: tuple[str, ...] = ()  # windows already escalated for (once per window)
    result: str | None = None
    remedy: str | None = None
    rating: int | None = None


def new_ticket(due: Deadlines, severity: str | None, category: str) -> TicketState:
    """A ticket just opened with `due` (from `deadlines`): in intake with its first team; one to
    escalate now (`due.escalate_now`) is escalated already, for its respond window. A minor
    complaint counts as responded at opening: the assistant answered it at once (domain.md)."""
    minor = due.kind == "complaint" and severity == "minor"
    return TicketState(
        kind=due.kind,
        opened_at=due.opened_at,
        severity=severity,
        category=category,
        team=initial_team(due.kind, severity, category),
        respond_by=due.respond_by,
        resolve_by=_resolve_due(due),
        responded_at=due.opened_at if minor else None,
        escalated=due.escalate_now,
        warned=("respond",) if due.escalate_now else (),  # escalated at once: no second warning
    )


def attached_ticket(opened_at: datetime, category: str = "network") -> TicketState:
    """A fault report attached to a known outage: network operations', no deadlines of its own
    (the outage's restoration is the promise), resolved by the system when the outage closes."""
    return TicketState(
        kind="fault", opened_at=opened_at, category=category, state="attached", team="network_ops"
    )


@dataclass(frozen=True)
class Step:
    """One step. `text`: respond and note the message, reopen and a manual escalate the reason,
    follow_up_answer the comment. `team`: reassign. `result`, `remedy`: resolve. `rating`:
    follow_up_answer. `window`: escalate (required of the system)."""

    name: str
    actor: str  # agent:<id> | supervisor:<id> | system | customer
    text: str | None = None
    team: str | None = None
    result: str | None = None
    remedy: str | None = None
    rating: int | None = None
    window: str | None = None


def actor_role(actor: str) -> str:
    """'agent:a17' → 'agent', 'supervisor:s1' → 'supervisor', 'system', 'customer'."""
    if not isinstance(actor, str) or not _ACTOR.fullmatch(actor):
        raise TicketRuleError(
            "bad_actor", "an actor is agent:<id>, supervisor:<id>, system or customer"
        )
    return actor.split(":", 1)[0]


def _refuse(code: str, step: Step, ticket: TicketState, why: str) -> TicketRuleError:
    return TicketRuleError(code, f"{step.name} refused in {ticket.state}: {why}")


def _blank(value: str | None) -> bool:
    return value is None or not str(value).strip()


def apply(ticket: TicketState, step: Step, now: datetime) -> TicketState:
    """The ticket after `step` at `now`, or TicketRuleError when the rules refuse it (the module
    docstring has the rule of each step)."""
    if step.name not in STEPS:
        raise TicketRuleError("unknown_step", f"unknown step {step.name!r}")
    role = actor_role(step.actor)
    if role not in ROLES_FOR[step.name]:
        raise _refuse("not_allowed", step, ticket, f"not a step for {role}")
    if now < ticket.opened_at:
        raise _refuse("before_opened", step, ticket, "earlier than the ticket was opened")
    if ticket.state == "closed" and step.name != "reopen":
        raise _refuse("closed", step, ticket, "the ticket is closed")
    if ticket.state == "attached" and step.name not in ("note", "resolve"):
        raise _refuse("attached", step, ticket, "attached to an outage until it closes")
    return _STEP_RULES[step.name](ticket, step, role, now)


def _need_state(ticket: TicketState, step: Step, *states: str) -> None:
    if ticket.state not in states:
        raise _refuse("wrong_state", step, ticket, f"needs {' or '.join(states)}")


def _need_assignee(ticket: TicketState, step: Step, role: str, *, or_unassigned: bool) -> None:
    if role != "agent" or ticket.assignee == step.actor:
        return
    if not (or_unassigned and ticket.assignee is None):
        raise _refuse("not_assignee", step, ticket, "not the agent the ticket is assigned to")


def _claim(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    _need_state(ticket, step, "intake", "assessing", "handling")
    if ticket.assignee is not None:
        raise _refuse("already_claimed", step, ticket, "claimed already")
    state = "assessing" if ticket.state == "intake" else ticket.state
    return replace(ticket, state=state, assignee=step.actor)


def _respond(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    if _blank(step.text):
        raise _refuse("text_required", step, ticket, "a response needs its text")
    _need_state(ticket, step, "assessing", "handling")
    _need_assignee(ticket, step, role, or_unassigned=False)
    return replace(ticket, state="handling", responded_at=ticket.responded_at or now)


def _note(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    if _blank(step.text):
        raise _refuse("text_required", step, ticket, "a note needs its text")
    return ticket


def _reassign(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    if step.team not in TEAMS:
        raise _refuse("unknown_team", step, ticket, "unknown team")
    if step.team == ticket.team:
        raise _refuse("same_team", step, ticket, "the ticket is with that team already")
    _need_state(ticket, step, "intake", "assessing", "handling")
    _need_assignee(ticket, step, role, or_unassigned=True)
    state = "intake" if ticket.state == "assessing" else ticket.state
    return replace(ticket, state=state, team=step.team, assignee=None)


def _escalate(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    _need_state(ticket, step, *OPEN_STATES)
    if step.window is not None and step.window not in WINDOWS:
        raise _refuse("unknown_window", step, ticket, "unknown window")
    if role == "system":
        if step.window is None:
            raise _refuse(
                "window_required", step, ticket, "an automatic escalation names its window"
            )
        if step.window in ticket.warned:
            raise _refuse("already_warned", step, ticket, f"{step.window} escalated already")
        if step.window not in {w.window for w in due_warnings(ticket, now)}:
            raise _refuse("not_due", step, ticket, f"{step.window} is not due a warning")
    elif _blank(step.text):
        raise _refuse("text_required", step, ticket, "a manual escalation needs its reason")
    warned = ticket.warned
    if step.window is not None and step.window not in warned:
        warned = (*warned, step.window)
    return replace(ticket, escalated=True, warned=warned)


def _resolve(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    if ticket.state in ("intake", "assessing"):
        raise _refuse("not_responded", step, ticket, "respond to the customer first")
    if role == "system":
        _need_state(ticket, step, "attached")
    else:
        _need_state(ticket, step, "handling")
        _need_assignee(ticket, step, role, or_unassigned=False)
    if _blank(step.result):
        raise _refuse("result_required", step, ticket, "a resolution needs its result")
    if ticket.severity == "major" and _blank(step.remedy):
        raise _refuse("remedy_required", step, ticket, "a major complaint needs a remedy")
    return replace(
        ticket,
        state="feedback",
        resolved_at=now,
        follow_up_by=now + FOLLOW_UP,
        followed_up_at=None,
        result=step.result,
        remedy=step.remedy,
    )


def _reopened(ticket: TicketState, now: datetime, rating: int | None) -> TicketState:
    due = deadlines(ticket.kind, ticket.severity, ticket.category, now)
    return replace(
        ticket,
        state="handling",
        reopens=ticket.reopens + 1,
        reopened_at=now,
        resolved_at=None,
        resolve_by=_resolve_due(due),
        follow_up_by=None,
        followed_up_at=None,
        closed_at=None,
        rating=rating,
        warned=tuple(w for w in ticket.warned if w == "respond"),
    )


def _reopen(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    if _blank(step.text):
        raise _refuse("text_required", step, ticket, "a reopen needs its reason")
    _need_state(ticket, step, "feedback", "closed")
    if ticket.closed_at is not None and now - ticket.closed_at > REOPEN_WINDOW:
        raise _refuse("reopen_expired", step, ticket, "closed more than 7 days ago")
    return _reopened(ticket, now, ticket.rating)


def _follow_up_answer(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    _need_state(ticket, step, "feedback")
    rating = step.rating
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _refuse("bad_rating", step, ticket, "a rating is 1 to 5")
    if rating <= REOPEN_RATING:
        return _reopened(ticket, now, rating)
    return replace(ticket, state="closed", closed_at=now, followed_up_at=now, rating=rating)


def _close(ticket: TicketState, step: Step, role: str, now: datetime) -> TicketState:
    _need_state(ticket, step, "feedback")
    _need_assignee(ticket, step, role, or_unassigned=True)
    return replace(ticket, state="closed", closed_at=now, followed_up_at=now)


_STEP_RULES = {
    "claim": _claim,
    "respond": _respond,
    "note": _note,
    "reassign": _reassign,
    "escalate": _escalate,
    "resolve": _resolve,
    "reopen": _reopen,
    "follow_up_answer": _follow_up_answer,
    "close": _close,
}


# ------------------------------------------------------------------------------------- watching


@dataclass(frozen=True)
class Window:
    name: str  # respond | resolve | follow_up
    start: datetime
    due: datetime
    met_at: datetime | None  # when it was met; None while it is open

    @property
    def warn_at(self) -> datetime:
        """WARN_AT_PERCENT of the way from start to due (a zero-length window: at once)."""
        return self.start + (self.due - self.start) * WARN_AT_PERCENT // 100


@dataclass(frozen=True)
class DueWarning:
    """Escalate `window` to the supervisor of `team` (apply an escalate step with it)."""

    window: str
    due: datetime
    team: str


def windows(ticket: TicketState) -> list[Window]:
    """The ticket's current windows: respond (from opening to the first respond), resolve (from
    opening or the last reopen to the result), follow-up (from the resolution to the answer or
    the close). An attached ticket has none."""
    out = []
    if ticket.respond_by is not None:
        out.append(Window("respond", ticket.opened_at, ticket.respond_by, ticket.responded_at))
    if ticket.resolve_by is not None:
        start = ticket.reopened_at or ticket.opened_at
        out.append(Window("resolve", start, ticket.resolve_by, ticket.resolved_at))
    if ticket.follow_up_by is not None and ticket.resolved_at is not None:
        out.append(
            Window("follow_up", ticket.resolved_at, ticket.follow_up_by, ticket.followed_up_at)
        )
    return out


def due_warnings(ticket: TicketState, now: datetime) -> list[DueWarning]:
    """The open windows at or past WARN_AT_PERCENT (also past due) not escalated before."""
    if ticket.state not in OPEN_STATES:
        return []
    return [
        DueWarning(w.name, w.due, ticket.team)
        for w in windows(ticket)
        if w.met_at is None and w.name not in ticket.warned and now >= w.warn_at
    ]


def breached(ticket: TicketState, now: datetime) -> tuple[str, ...]:
    """The windows missed: still open past their due time, or met after it."""
    return tuple(w.name for w in windows(ticket) if (w.met_at or now) > w.due)


def next_due(ticket: TicketState) -> datetime | None:
    """The nearest due time of an open window (a team's queue is ordered by it)."""
    if ticket.state not in OPEN_STATES:
        return None
    return min((w.due for w in windows(ticket) if w.met_at is None), default=None)
