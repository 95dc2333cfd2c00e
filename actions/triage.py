"""The dialogue's triage decisions: pure functions (no Rasa import, no I/O).

The NLU component gives each message an urgency from its text (`latest_message["urgency"]`) and,
for a complaint or a fault, a category and severity; the keyword rules for what the parse result
does not carry are in components/triage_rules.py (the one triage module). Here:

- what the parse result says (`text_urgency`, `complaint_severity`, `ticket_category`);
- whether a complaint or fault goes to a human at once (`escalation`, `repeat_ticket`), and to
  which skill whatever was asked (`escalation_skill`);
- the final urgency of a handoff and the ticket SLAs, below.

What the text cannot show comes from the conversation and the store; `final_urgency` combines them:

    text urgency  +1 step for each of: platinum or gold tier, another contact within 24 h,
                  a verified outage in the customer's area, repeated failed turns in this
                  conversation, a rising negative tone across the customer's turns.

Context can lift a message to `high` at most; `critical` is reserved for what the customer
says (fraud in progress, a business down, an emergency, a vulnerable person cut off), so the
critical queue keeps meaning "act now". Context never lowers the text's urgency.

`ticket_sla` gives the deadlines of ../shared/domain.md as `telecom.tickets.deadlines` computes
them (the one place of those rules): complaints respond within 24 h (minor: answer at once),
resolve and send the result within 48 h, ask for satisfaction within 7 days; major complaints go
at once to the `complaints_supervisor` skill; network faults are responded to within 45 minutes
(target 30).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from components import triage_rules as rules
from components.triage_rules import SEVERITY_LEVELS
from telecom import tickets
from telecom.urgency import LEVELS as URGENCY_LEVELS
from telecom.urgency import known, rank

__all__ = [
    "SEVERITY_LEVELS",
    "SUPERVISOR_SKILL",
    "URGENCY_LEVELS",
    "TicketSla",
    "UrgencyDecision",
    "complaint_severity",
    "escalation",
    "escalation_skill",
    "final_urgency",
    "raise_level",
    "repeat_contact",
    "repeat_ticket",
    "sla_from",
    "sla_state",
    "text_urgency",
    "ticket_category",
    "ticket_sla",
    "tone_rising",
]

RAISING_TIERS = frozenset({"platinum", "gold"})
CONTEXT_CAP = "high"  # context alone never makes a message critical
REPEAT_WINDOW = timedelta(hours=24)
FAILED_TURNS_THRESHOLD = 2
SUPERVISOR_SKILL = "complaints_supervisor"
# Handoff reasons that decide the skill whatever the customer asked (domain.md: a major complaint
# is escalated to management at once; a locked verification is account security's).
ESCALATION_SKILLS = {"major_complaint": SUPERVISOR_SKILL, "verification_locked": "account_security"}


def raise_level(level: str, steps: int = 1, cap: str = CONTEXT_CAP) -> str:
    """`level` raised by `steps`, not beyond `cap`; a level already above the cap stays."""
    i, cap_i = rank(known(level)), rank(cap)
    if i >= cap_i:
        return URGENCY_LEVELS[i]
    return URGENCY_LEVELS[min(i + steps, cap_i)]


# ---------------------------------------------------------------------------------------------
# What the parse result says, and escalation
# ---------------------------------------------------------------------------------------------


def text_urgency(latest_message: Mapping[str, Any] | None) -> str:
    """The NLU component's urgency of the message; absent or unknown → normal."""
    urgency = (latest_message or {}).get("urgency")
    name = urgency.get("name") if isinstance(urgency, Mapping) else None
    return known(name)


def complaint_severity(latest_message: Mapping[str, Any] | None, text: str) -> str:
    """Severity from the parse result when the component gave one, else the ticket check's.

    Either one saying major is enough: a major complaint must never wait in the normal queue.
    """
    complaint = (latest_message or {}).get("complaint")
    parsed = complaint.get("severity") if isinstance(complaint, Mapping) else None
    own = rules.ticket_complaint_severity(text)
    return "major" if "major" in (parsed, own) else (parsed or own)


def ticket_category(kind: str, latest_message: Mapping[str, Any] | None, text: str) -> str:
    """Category of a complaint or fault: the parse result's, else the ticket check's."""
    parsed = (latest_message or {}).get(kind)
    category = parsed.get("category") if isinstance(parsed, Mapping) else None
    if category:
        return str(category)
    if kind == "complaint":
        return rules.ticket_complaint_category(text)
    return rules.ticket_fault_category(text)


def repeat_ticket(tickets: Iterable[Any], kind: str, category: str, now: datetime) -> Any:
    """The newest ticket of the same kind and category created in the 24 h before `now`."""
    for ticket in tickets:
        recent = timedelta(0) <= now - ticket.created_at <= REPEAT_WINDOW
        if recent and ticket.kind == kind and ticket.category == category:
            return ticket
    return None


def escalation(*, urgency: str, intent: str, severity: str | None, repeat: bool) -> str | None:
    """Why this message goes to a human at once, or None: critical urgency first, then a major
    complaint, then the same issue again within 24 h."""
    if urgency == "critical":
        return "critical_urgency"
    if intent == "complain" and severity == "major":
        return "major_complaint"
    if repeat:
        return "repeat_contact"
    return None


def escalation_skill(reason: str | None) -> str | None:
    """The one skill a handoff for `reason` goes to whatever the customer asked, or None (the
    skill follows the request)."""
    return ESCALATION_SKILLS.get(reason or "")


# ---------------------------------------------------------------------------------------------
# Tone
# ---------------------------------------------------------------------------------------------


def tone_rising(
    scores: Sequence[float], *, min_turns: int = 3, min_rise: float = 0.3, min_last: float = 0.4
) -> bool:
    """True when the last `min_turns` tone scores (oldest first) never fall, rise by at least
    `min_rise` overall, and end at `min_last` or more."""
    if len(scores) < min_turns:
        return False
    tail = list(scores)[-min_turns:]
    never_falls = all(b >= a for a, b in itertools.pairwise(tail))
    return never_falls and tail[-1] - tail[0] >= min_rise and tail[-1] >= min_last


# ---------------------------------------------------------------------------------------------
# Final urgency
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrgencyDecision:
    level: str  # low | normal | high | critical
    text_level: str  # what the NLU component read from the text
    reasons: tuple[str, ...] = field(default_factory=tuple)  # context signals that raised it

    @property
    def priority(self) -> int:
        """0 (low) … 3 (critical), e.g. for the router's queue."""
        return rank(self.level)

    @property
    def raised(self) -> bool:
        return self.level != self.text_level


def repeat_contact(
    previous_contacts: Iterable[datetime], now: datetime, window: timedelta = REPEAT_WINDOW
) -> bool:
    """Another contact (ticket, conversation) within `window` before `now`."""
    return any(timedelta(0) <= now - t <= window for t in previous_contacts)


def final_urgency(
    text_urgency: str | None,
    *,
    tier: str | None = None,
    now: datetime | None = None,
    previous_contacts: Iterable[datetime] = (),
    verified_outage: bool = False,
    failed_turns: int = 0,
    tone_history: Sequence[float] = (),
) -> UrgencyDecision:
    """Combine the text's urgency with what the text cannot show.

    text_urgency       `latest_message["urgency"]["name"]` (None/unknown → normal)
    tier               subscriber tier: regular | silver | gold | platinum
    now, previous_contacts   aware datetimes; a contact in the 24 h before `now` counts as repeat
    verified_outage    an open outage covers the customer's area
    failed_turns       fallbacks / failed validations in this conversation so far
    tone_history       `triage_rules.negative_tone` of the customer's turns, oldest first
    """
    text_level = known(text_urgency)
    reasons = []
    tier_name = (tier or "").lower()
    if tier_name in RAISING_TIERS:
        reasons.append(f"tier_{tier_name}")
    if now is not None and repeat_contact(previous_contacts, now):
        reasons.append("repeat_contact_24h")
    if verified_outage:
        reasons.append("verified_outage")
    if failed_turns >= FAILED_TURNS_THRESHOLD:
        reasons.append("failed_turns")
    if tone_rising(tone_history):
        reasons.append("rising_negative_tone")
    level = raise_level(text_level, len(reasons)) if reasons else text_level
    if level == text_level:
        reasons = []  # nothing changed (already at or above the cap)
    return UrgencyDecision(level, text_level, tuple(reasons))


# ---------------------------------------------------------------------------------------------
# Ticket SLAs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketSla:
    kind: str  # complaint | fault | callback
    created_at: datetime
    respond_by: datetime
    resolve_by: datetime | None = None
    result_by: datetime | None = None  # complaints: the result is sent to the customer
    satisfaction_by: datetime | None = None  # complaints: satisfaction asked
    respond_target: datetime | None = None  # network faults: the 30-minute target
    handoff_skill: str | None = None  # major complaints: complaints_supervisor at once
    escalate_now: bool = False

    def as_dict(self) -> dict[str, Any]:
        """ISO strings, for ticket `extra` and slots."""
        out = {}
        for key, value in self.__dict__.items():
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


def ticket_sla(
    kind: str,
    created_at: datetime,
    *,
    category: str | None = None,
    severity: str | None = None,
    urgency: str | None = None,
) -> TicketSla:
    """Deadlines for a new ticket: `sla_from` of `telecom.tickets.deadlines`."""
    return sla_from(tickets.deadlines(kind, severity, category, created_at, urgency=urgency))


def sla_from(due: tickets.Deadlines) -> TicketSla:
    """The assistant's view of a new ticket's deadlines (`telecom.tickets.Deadlines`): a major
    complaint also goes to the `complaints_supervisor` skill at once. `satisfaction_by` (kept in
    the ticket's `extra` as before) counts the 7 days from the opening; the store watches the
    follow-up from the real resolution (`telecom.tickets.windows`)."""
    major = due.kind == "complaint" and due.escalate_now
    return TicketSla(
        kind=due.kind,
        created_at=due.opened_at,
        respond_by=due.respond_by,
        resolve_by=due.resolve_by,
        result_by=due.result_by,
        satisfaction_by=due.opened_at + tickets.FOLLOW_UP if due.kind == "complaint" else None,
        respond_target=due.respond_target,
        handoff_skill=escalation_skill("major_complaint") if major else None,
        escalate_now=due.escalate_now,
    )


def sla_state(
    sla: TicketSla, now: datetime, *, responded: bool = False, resolved: bool = False
) -> str:
    """Where a ticket stands against its deadlines, for "我的投诉处理得怎么样了":
    resolved | respond_overdue | resolve_overdue | awaiting_response | in_progress."""
    if resolved:
        return "resolved"
    if not responded:
        return "respond_overdue" if now > sla.respond_by else "awaiting_response"
    if sla.resolve_by is not None and now > sla.resolve_by:
        return "resolve_overdue"
    return "in_progress"
