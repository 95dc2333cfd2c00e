"""Complaints, fault reports and callback requests (tickets), and ticket status."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies, ticket_triage, triage
from actions.flows import common, digits, repair
from actions.flows.repair import RepairingValidation
from actions.store.base import NoSuchOutage, Ticket
from components import triage_rules
from telecom import mask, tickets
from telecom.numbers import parse_phone

log = logging.getLogger(__name__)

# request_human goes to action_handoff; it starts a callback ticket when no agent answers.
# complain / report_fault: a complaint or a fault report, by what it says
# (components.triage_rules.report_kinds).

REPEAT_MESSAGE = (
    "您在24小时内已经就同一问题联系过我们（工单号 {ticket_id}），"
    "这次不再重复登记，直接为您转接人工客服优先处理。"
)


def escalate(
    tracker: Tracker,
    kind: str,
    text: str,
    phone: str | None,
    severity: str | None,
    category: str | None = None,
) -> tuple[str | None, Ticket | None]:
    """(reason, earlier ticket) when this complaint or fault goes to a human at once: critical
    urgency, a major complaint, or the same issue from the same number within 24 h."""
    repeat: Ticket | None = None
    if phone and kind in ("complaint", "fault") and triage_rules.is_substantive(text):
        category = category or triage.ticket_category(kind, tracker.latest_message, text)
        repeat = triage.repeat_ticket(
            common.store().get_tickets(phone), kind, category, common.now()
        )
    reason = triage.escalation(
        urgency=triage.text_urgency(tracker.latest_message),
        intent="complain" if kind == "complaint" else kind,
        severity=severity,
        repeat=repeat is not None,
    )
    return reason, repeat


def handoff_events(reason: str | None) -> list[EventType]:
    if reason is None:
        return []
    log.info("flows.ticket.escalated reason=%s", reason)
    return [SlotSet("handoff_now", True), SlotSet("handoff_reason", reason)]


def report_message(tracker: Tracker, kind: str) -> dict[str, Any]:
    """The parse result that carries this complaint's or fault's triage (`complaint` / `fault`
    key): the latest user message that has it (the form may have asked more since), else the
    latest message."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            parsed = event.get("parse_data") or {}
            if isinstance(parsed.get(kind), dict):
                found: dict[str, Any] = parsed
                return found
    return tracker.latest_message or {}


def where_from(tracker: Tracker) -> dict[str, Any]:
    """Where the customer was, for the ticket's `extra`: `conversation` (the sender id: the
    router's conversation id) and `channel` (the latest message's metadata: web, app, voice …),
    when known, so that the ticket service can tell them in their conversation while it is
    open."""
    channel = common.metadata(tracker).get("channel")
    where = {"conversation": str(tracker.sender_id or "")}
    if isinstance(channel, str) and re.fullmatch(r"[a-z_]{1,32}", channel):
        where["channel"] = channel
    return {key: value for key, value in where.items() if value}


def _entity(message: dict[str, Any], name: str) -> str | None:
    for entity in message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"]).strip()
    return None


def fault_area(
    tracker: Tracker, parsed: dict[str, Any], phone: str | None
) -> tuple[str | None, str | None]:
    """(city, district) of a fault: the parse result's `fault.area` or an `area` entity (city
    unknown unless it is the subscriber's district), else the verified or given subscriber's."""
    fault = parsed.get("fault")
    if not isinstance(fault, dict):
        fault = {}
    area = (
        (str(fault.get("area")).strip() if fault.get("area") else None)
        or _entity(parsed, "area")
        or _entity(tracker.latest_message or {}, "area")
    )
    subscriber = common.subscriber_of(phone)
    if area:
        if subscriber and (subscriber.district in area or area in subscriber.district):
            return subscriber.city, subscriber.district
        return None, area
    if subscriber:
        return subscriber.city, subscriber.district
    return None, None


class ActionStartTicket(Action):
    """Note which ticket this is and take the description from the request if it has one."""

    def name(self) -> str:
        return "action_start_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = common.latest_text(tracker)
        kind, complaint_too = triage_rules.report_kinds(common.latest_intent(tracker), text)
        events = [SlotSet("ticket_kind", kind), SlotSet("ticket_description", None)]
        if triage_rules.is_substantive(text):
            events[1] = SlotSet("ticket_description", ticket_triage.clean_description(text))
        phone = common.verified_phone(tracker) or parse_phone(
            str(tracker.get_slot("phone_number") or "")
        )
        events.append(SlotSet("phone_number", phone))
        if complaint_too:  # a complaint about us besides: recorded with the fault
            events.append(SlotSet("ticket_complaint_too", True))
        also = repair.asked_requests(text)  # "宽带断了，顺便查下话费": after the ticket
        if also:
            dispatcher.utter_message(text=repair.order_message(kind, also))
            events.append(SlotSet("queued_requests", also))
        severity = triage.complaint_severity(tracker.latest_message, text)
        reason, repeat = escalate(
            tracker, kind, text, phone, severity if kind == "complaint" else None
        )
        if repeat is not None:
            dispatcher.utter_message(text=REPEAT_MESSAGE.format(ticket_id=repeat.id))
        return events + handoff_events(reason)


class ValidateTicketForm(RepairingValidation):
    form = "ticket_form"

    def name(self) -> str:
        return "validate_ticket_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("ticket_kind") == "callback":
            return ["phone_number"]
        return ["ticket_description", "phone_number"]

    def validate_ticket_description(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is None:  # cleared when the ticket started: asked next, nothing to say yet
            return {"ticket_description": None}
        text = ticket_triage.clean_description(str(value or ""))
        if len(text) < 2:
            dispatcher.utter_message(text="抱歉，没能看清您的描述，请用文字简单说明遇到的问题。")
            return {"ticket_description": None}
        return {"ticket_description": text}

    def validate_phone_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is None:  # cleared when the ticket started: asked next, nothing to say yet
            return {"phone_number": None}
        phone = digits.read("phone_number", value, tracker)
        if phone is None:
            dispatcher.utter_message(text=common.PHONE_AGAIN)
        return {"phone_number": phone}


class ActionCreateTicket(Action):
    def name(self) -> str:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        kind = tracker.get_slot("ticket_kind") or "callback"
        description = tracker.get_slot("ticket_description") or ""
        phone = parse_phone(str(tracker.get_slot("phone_number") or ""))
        parsed = report_message(tracker, kind) if kind != "callback" else {}
        now = common.now()
        severity: str | None = None
        extra: dict[str, Any] = where_from(tracker)
        sla_category: str | None = None
        if kind == "complaint":
            category = triage_rules.ticket_complaint_category(description)
            severity = triage.complaint_severity(None, description)
        elif kind == "fault":
            category = triage_rules.ticket_fault_category(description)
            parsed_fault = parsed.get("fault")
            if not isinstance(parsed_fault, dict):
                parsed_fault = {}
            extra["service"] = triage_rules.ticket_fault_service(
                description, tracker.get_slot("service") or parsed_fault.get("service")
            )
        else:
            category, description = "callback", description or "客户请求人工客服回电"
        if kind != "callback":
            # SLA: the parse result's category when the component gave one (stored category and
            # escalation stay on the keyword check, so the returned events do not change)
            sla_category = triage.ticket_category(kind, parsed, description)
        # The contact number is not a verified one, but the next account request need not ask
        # for it again: it is the candidate the verification form asks the ID digits for.
        reset = [
            SlotSet("ticket_description", None),
            SlotSet("ticket_kind", None),
            SlotSet("phone_number", common.verified_phone(tracker) or phone),
        ]
        complaint_too = bool(tracker.get_slot("ticket_complaint_too"))
        if complaint_too:
            reset.append(SlotSet("ticket_complaint_too", None))
        reason, repeat = (None, None)
        if kind != "callback":
            reason, repeat = escalate(tracker, kind, description, phone, severity, category)
        if repeat is not None:  # the same issue again: no duplicate ticket, a human at once
            dispatcher.utter_message(text=REPEAT_MESSAGE.format(ticket_id=repeat.id))
            return reset + handoff_events(reason)
        if kind == "fault" and complaint_too:
            self._record_complaint(dispatcher, tracker, description, phone, now)
        if kind == "fault":
            attached = self._attach_to_outage(
                dispatcher, tracker, parsed, phone, description, category, extra, now
            )
            if attached:
                return reset + (handoff_events(reason) or common.queue_followup(tracker))
        sla = due = None
        if kind in ("complaint", "fault"):
            urgency = max(
                (triage.text_urgency(parsed), triage.text_urgency(tracker.latest_message)),
                key=triage.URGENCY_LEVELS.index,
            )
            due = tickets.deadlines(kind, severity, sla_category, now, urgency=urgency)
            sla = triage.sla_from(due)
            extra = {**extra, **replies.sla_extra(sla)}
        ticket = common.store().create_ticket(
            kind, category, description, phone, now, severity=severity, extra=extra or None, due=due
        )
        log.info("flows.ticket.created id=%s kind=%s phone=%s", ticket.id, kind, mask.phone(phone))
        if sla is None:
            text = ticket_triage.next_steps(kind, severity, ticket.id, phone)
        else:
            text = replies.ticket_created_reply(kind, severity, ticket.id, phone, sla)
        dispatcher.utter_message(text=text)
        return reset + (handoff_events(reason) or common.queue_followup(tracker))

    @staticmethod
    def _record_complaint(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        description: str,
        phone: str | None,
        now: datetime,
    ) -> None:
        """The complaint a fault report also makes (about how we handled it), recorded beside
        the fault with its own deadlines."""
        category = triage_rules.ticket_complaint_category(description)
        severity = triage.complaint_severity(None, description)
        due = tickets.deadlines("complaint", severity, category, now)
        extra = {**where_from(tracker), **replies.sla_extra(triage.sla_from(due))}
        ticket = common.store().create_ticket(
            "complaint", category, description, phone, now, severity=severity, extra=extra, due=due
        )
        log.info("flows.ticket.created id=%s kind=complaint (with a fault)", ticket.id)
        dispatcher.utter_message(
            text=f"您对我们处理方式的不满已单独登记为投诉，工单号 {ticket.id}，"
            "会有专人跟进。下面先处理故障。"
        )

    @staticmethod
    def _attach_to_outage(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        parsed: dict[str, Any],
        phone: str | None,
        description: str,
        category: str,
        extra: dict[str, Any],
        now: datetime,
    ) -> bool:
        """A known open outage covers the customer's area: attach the report to it (no new case)
        and say so with the expected restoration time. True when attached."""
        city, district = fault_area(tracker, parsed, phone)
        if not district:
            return False
        store = common.store()
        outage = store.open_outage(city, district, extra.get("service", "mobile"), now)
        if outage is None:
            return False
        try:
            ticket = store.attach_outage_report(
                outage.id, description, phone, now, category=category, extra=where_from(tracker)
            )
        except NoSuchOutage:  # restored in the meantime: an ordinary ticket
            return False
        log.info(
            "flows.ticket.outage id=%s outage=%s phone=%s", ticket.id, outage.id, mask.phone(phone)
        )
        dispatcher.utter_message(text=replies.outage_reply(outage, ticket.id, phone))
        return True


class ActionListTickets(common.VerifiedAction):
    def name(self) -> str:
        return "action_list_tickets"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str
    ) -> list[EventType]:
        found = common.store().get_tickets(phone)
        dispatcher.utter_message(text=replies.tickets_reply(phone, found, common.now()))
        return []
