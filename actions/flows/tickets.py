"""Complaints, fault reports and callback requests (tickets), and ticket status."""

from __future__ import annotations

import logging

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions import replies, ticket_triage
from actions.flows import common
from telecom import mask
from telecom.numbers import parse_phone

log = logging.getLogger(__name__)

KIND_FOR_INTENT = {"complain": "complaint", "report_fault": "fault", "request_human": "callback"}

NO_AGENT = (
    "抱歉，当前版本的在线客服还无法直接为您接通人工坐席。"
    "我可以为您登记人工回电，客服人员会尽快打电话给您。"
)


class ActionStartTicket(Action):
    """Note which ticket this is and take the description from the request if it has one."""

    def name(self) -> str:
        return "action_start_ticket"

    async def run(self, dispatcher, tracker, domain):
        kind = KIND_FOR_INTENT.get(common.latest_intent(tracker), "callback")
        events = [SlotSet("ticket_kind", kind), SlotSet("ticket_description", None)]
        text = common.latest_text(tracker)
        if kind == "callback":
            dispatcher.utter_message(text=NO_AGENT)
        elif ticket_triage.is_substantive(text):
            events[1] = SlotSet("ticket_description", ticket_triage.clean_description(text))
        phone = common.verified_phone(tracker) or parse_phone(
            str(tracker.get_slot("phone_number") or "")
        )
        events.append(SlotSet("phone_number", phone))
        return events


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        if tracker.get_slot("ticket_kind") == "callback":
            return ["phone_number"]
        return ["ticket_description", "phone_number"]

    def validate_ticket_description(self, value, dispatcher, tracker, domain):
        text = ticket_triage.clean_description(str(value or ""))
        if len(text) < 2:
            dispatcher.utter_message(text="抱歉，没能看清您的描述，请用文字简单说明遇到的问题。")
            return {"ticket_description": None}
        return {"ticket_description": text}

    def validate_phone_number(self, value, dispatcher, tracker, domain):
        phone = parse_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(
                text="抱歉，没能识别出手机号码，请输入11位手机号，例如 138 0013 8000。"
            )
            return {"phone_number": None}
        return {"phone_number": phone}


class ActionCreateTicket(Action):
    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher, tracker, domain):
        kind = tracker.get_slot("ticket_kind") or "callback"
        description = tracker.get_slot("ticket_description") or ""
        phone = parse_phone(str(tracker.get_slot("phone_number") or ""))
        severity, extra = None, {}
        if kind == "complaint":
            category = ticket_triage.complaint_category(description)
            severity = ticket_triage.complaint_severity(description)
        elif kind == "fault":
            category = ticket_triage.fault_category(description)
            extra = {
                "service": ticket_triage.fault_service(description, tracker.get_slot("service"))
            }
        else:
            category, description = "callback", description or "客户请求人工客服回电"
        ticket = common.store().create_ticket(
            kind, category, description, phone, common.now(), severity=severity, extra=extra or None
        )
        log.info("flows.ticket.created id=%s kind=%s phone=%s", ticket.id, kind, mask.phone(phone))
        dispatcher.utter_message(text=ticket_triage.next_steps(kind, severity, ticket.id, phone))
        # A contact number is not a verified one: the next account request asks again.
        return [
            SlotSet("ticket_description", None),
            SlotSet("ticket_kind", None),
            SlotSet("phone_number", common.verified_phone(tracker)),
        ]


class ActionListTickets(common.VerifiedAction):
    def name(self) -> str:
        return "action_list_tickets"

    def answer(self, dispatcher, tracker, phone):
        tickets = common.store().get_tickets(phone)
        dispatcher.utter_message(text=replies.tickets_reply(phone, tickets))
        return []
