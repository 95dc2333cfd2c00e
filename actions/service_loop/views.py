"""The ticket service's JSON, pure: TicketView, TicketEvent, Alert, Notice and OutageView as
docs/contracts.md "The ticket service" defines them. Times are ISO 8601 UTC with the offset;
text is as the store keeps it (escaped already: pages show it as it is, with textContent).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from actions.replies import KIND_NAMES, SERVICE_NAMES
from actions.store.base import Ticket, TicketEvent
from actions.store.outage_work import OutageInfo
from actions.store.ticket_alerts import Alert
from actions.store.ticket_notices import Notice
from telecom import tickets
from telecom.labels import TEAMS, TICKET_STATES, TICKET_STEPS

__all__ = [
    "alert_view",
    "event_view",
    "feedback_view",
    "iso",
    "notice_view",
    "outage_view",
    "ticket_view",
]


def iso(moment: datetime | None) -> str | None:
    """'2026-11-23T04:00:00+00:00' (UTC), or None."""
    return moment.astimezone(timezone.utc).isoformat() if moment is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def ticket_view(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """A TicketView at `now` (which windows are breached depends on it)."""
    life = ticket.lifecycle
    return {
        "id": ticket.id,
        "kind": ticket.kind,
        "category": ticket.category,
        "severity": ticket.severity,
        "description": ticket.description,
        "customer": ticket.customer,
        "state": life.state,
        "state_label": TICKET_STATES.get(life.state, life.state),
        "team": life.team,
        "team_label": TEAMS.get(life.team, life.team),
        "assignee": life.assignee,
        "created_at": iso(ticket.created_at),
        "respond_by": iso(life.respond_by),
        "resolve_by": iso(life.resolve_by),
        "follow_up_by": iso(life.follow_up_by),
        "responded_at": iso(life.responded_at),
        "resolved_at": iso(life.resolved_at),
        "closed_at": iso(life.closed_at),
        "next_due": iso(tickets.next_due(life)),
        "breached": list(tickets.breached(life, now)),
        "escalated": life.escalated,
        "warned": list(life.warned),
        "result": life.result,
        "remedy": life.remedy,
        "rating": life.rating,
        "reopens": life.reopens,
        "last_reply": ticket.last_reply,
        "outage_id": _text(ticket.extra.get("outage_id")),
        "channel": _text(ticket.extra.get("channel")),
        "conversation_id": _text(ticket.extra.get("conversation")),
    }


def event_view(event: TicketEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "step": event.step,
        "step_label": TICKET_STEPS.get(event.step, event.step),
        "actor": event.actor,
        "team": event.team,
        "team_label": TEAMS.get(event.team, event.team),
        "text": event.text,
        "detail": event.detail,
        "ts": iso(event.ts),
    }


def alert_view(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "ticket_id": alert.ticket_id,
        "window": alert.window,
        "team": alert.team,
        "team_label": TEAMS.get(alert.team, alert.team),
        "severity": alert.severity,
        "due": iso(alert.due),
        "at": iso(alert.at),
        "text": alert.text,
    }


def notice_view(notice: Notice) -> dict[str, Any]:
    """A Notice: never the phone number (a notice does not hold it)."""
    return {
        "id": notice.id,
        "ticket_id": notice.ticket_id,
        "kind": notice.kind,
        "conversation_id": notice.conversation_id,
        "channel": notice.channel,
        "text": notice.text,
        "feedback_token": notice.feedback_token,
        "created_at": iso(notice.created_at),
    }


def outage_view(outage: OutageInfo) -> dict[str, Any]:
    return {
        "id": outage.id,
        "city": outage.city,
        "district": outage.district,
        "service": outage.service,
        "service_label": SERVICE_NAMES.get(outage.service, outage.service),
        "description": outage.description,
        "started_at": iso(outage.started_at),
        "expected_restore_at": iso(outage.expected_restore_at),
        "status": outage.status,
        "closed_at": iso(outage.closed_at),
        "attached": outage.attached,
    }


def feedback_view(ticket: Ticket) -> dict[str, Any]:
    """What the feedback page shows its token's holder: the result, nothing personal."""
    life = ticket.lifecycle
    return {
        "ticket_id": ticket.id,
        "kind": ticket.kind,
        "kind_label": KIND_NAMES.get(ticket.kind, ticket.kind),
        "result": life.result,
        "remedy": life.remedy,
        "answered": life.state != "feedback",
    }
