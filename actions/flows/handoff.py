"""Handoff to a human agent: why, the call to the router, the queue reply, and cancelling.

Triggers (the rules in bot/data/handoff.yml run `action_handoff`):
- request_human (also the 转人工 button);
- affirm after `utter_offer_human` (second misunderstanding in a row) → reason `fallback`;
- affirm right after verification locked the number → reason `verification_locked`;
- `handoff_now` set by `action_start_ticket` / `action_create_ticket` / `action_fallback_stage`
  with `handoff_reason` major_complaint, critical_urgency or repeat_contact
  (`actions.triage.escalation`).

When the router cannot be reached the customer is told so and a callback ticket is recorded
(`handoff_status` callback), or, without a known phone number, the action follows up with the
ticket form, which asks for one before `action_create_ticket` records the callback.

The action classes only read slots, call the pure decisions (actions/handoff.py,
actions/triage.py), call the router (actions/router_client.py) and shape the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import handoff, ticket_triage, triage
from actions.flows import common
from actions.router_client import HandoffError, RouterClient
from actions.store.base import OUTAGE_SERVICES, StoreError, Subscriber
from components.triage_rules import negative_tone
from telecom import mask
from telecom.numbers import parse_phone

log = logging.getLogger(__name__)

CHANNELS = ("web", "app", "voice")
NO_AGENT = "抱歉，现在暂时无法接通人工客服。"


def _customer_phone(tracker: Tracker) -> tuple[str | None, list[EventType]]:
    """The customer's number, and the slots that keep a signed login accepted just now (a
    login is accepted once, so what it proved is kept for the next requests)."""
    phone = common.verified_phone(tracker) or parse_phone(
        str(tracker.get_slot("phone_number") or "")
    )
    if phone:
        return phone, []
    phone = common.login_phone(tracker)
    if phone:
        return phone, [SlotSet("verified_phone", phone), SlotSet("verified_level", "basic")]
    return None, []


def _channel(tracker: Tracker) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel") if isinstance(metadata, Mapping) else None
    return channel if channel in CHANNELS else "web"


def _router() -> RouterClient | None:
    settings = common.settings()
    if not settings.router_url:
        return None
    return RouterClient(settings.router_url, settings.service_token)


def _reset() -> list[EventType]:
    return [SlotSet("handoff_now", None), SlotSet("handoff_reason", None)]


def _in_open_outage(subscriber: Subscriber | None, now: datetime) -> bool:
    """Whether a known outage (any service) covers the customer's district."""
    if subscriber is None:
        return False
    store = common.store()
    return any(
        store.open_outage(subscriber.city, subscriber.district, service, now) is not None
        for service in OUTAGE_SERVICES
    )


class ActionHandoff(Action):
    """Queue the conversation for a human agent, or record a callback when none can be reached."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = list(tracker.events)
        identity_status = tracker.get_slot("identity_status")
        reason = handoff.handoff_reason(
            intent=common.latest_intent(tracker),
            slot_reason=tracker.get_slot("handoff_reason"),
            previous=handoff.previous_action(events),
            identity_status=identity_status,
        )
        phone, login_events = _customer_phone(tracker)
        subscriber = common.subscriber_of(phone)
        tier = subscriber.tier if subscriber else None
        tickets = common.store().get_tickets(phone) if phone else []
        now = common.now()
        urgency = triage.final_urgency(
            triage.text_urgency(tracker.latest_message),
            tier=tier,
            now=now,
            previous_contacts=[t.created_at for t in tickets],
            verified_outage=_in_open_outage(subscriber, now),
            failed_turns=handoff.failed_turns(events),
            tone_history=[
                negative_tone(e.get("text") or "") for e in events if e.get("event") == "user"
            ],
        ).level
        done = handoff.bot_actions(events, identity_status)
        verified = common.verified_phone(tracker) is not None
        payload = handoff.build_handoff(
            tracker.sender_id,
            intent=common.latest_intent(tracker),
            reason=reason,
            urgency=urgency,
            events=events,
            phone=phone,
            tier=tier,
            verified_level=tracker.get_slot("verified_level") if verified else None,
            secret=common.settings().identity_secret,
            channel=_channel(tracker),
            bot_actions=done,
        )
        router = _router()
        try:
            if router is None:
                raise HandoffError("no router configured")
            created = await router.create_handoff(payload)
        except HandoffError as exc:
            log.warning(
                "flows.handoff.failed reason=%s status=%s phone=%s",
                reason,
                exc.status,
                mask.phone(phone),
            )
            return (
                _reset()
                + login_events
                + self._callback(dispatcher, tracker, phone, payload["summary"])
            )
        again = created["handoff_id"] == tracker.get_slot("handoff_id")
        log.info(
            "flows.handoff.queued id=%s reason=%s urgency=%s skills=%s position=%s",
            created["handoff_id"],
            reason,
            payload["urgency"],
            ",".join(payload["skills"]),
            created.get("queue_position"),
        )
        dispatcher.utter_message(text=handoff.queued_message(created, again=again))
        return [
            *_reset(),
            *login_events,
            SlotSet("handoff_id", created["handoff_id"]),
            SlotSet("handoff_status", "queued"),
            SlotSet("ticket_kind", None),
            SlotSet("ticket_description", None),
        ]

    @staticmethod
    def _callback(
        dispatcher: CollectingDispatcher, tracker: Tracker, phone: str | None, summary: str
    ) -> list[EventType]:
        description = summary.replace("\n", "；")
        if phone is None:
            dispatcher.utter_message(
                text=NO_AGENT + "我可以为您登记人工回电，客服人员会尽快打电话给您。"
            )
            # The ticket form asks for a number, then action_create_ticket records the callback.
            return [
                SlotSet("handoff_status", None),
                SlotSet("ticket_kind", "callback"),
                SlotSet("ticket_description", description),
                FollowupAction("ticket_form"),
            ]
        try:
            ticket = common.store().create_ticket(
                "callback", "callback", description, phone, common.now()
            )
        except StoreError as exc:
            log.error("flows.handoff.callback_failed error=%s", type(exc).__name__)
            dispatcher.utter_message(
                text=NO_AGENT + "回电登记也暂时没有成功，请稍后再试，或拨打客服热线10000。"
            )
            return [SlotSet("handoff_status", None)]
        log.info("flows.handoff.callback id=%s phone=%s", ticket.id, mask.phone(phone))
        dispatcher.utter_message(
            text=NO_AGENT + ticket_triage.next_steps("callback", None, ticket.id, phone)
        )
        return [
            SlotSet("handoff_status", "callback"),
            SlotSet("handoff_id", None),
            SlotSet("ticket_kind", None),
            SlotSet("ticket_description", None),
        ]


class ActionCancelHandoff(Action):
    """不用转了 / 问题解决了 while queued: withdraw the handoff from the router."""

    def name(self) -> str:
        return "action_cancel_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        handoff_id = tracker.get_slot("handoff_id")
        router = _router()
        if handoff_id and router is not None:
            try:
                await router.cancel_handoff(handoff_id)
            except HandoffError as exc:
                log.warning("flows.handoff.cancel_failed id=%s status=%s", handoff_id, exc.status)
                dispatcher.utter_message(
                    text="抱歉，暂时没能取消转人工，请稍后再说一次“不用转了”；"
                    "如果客服先接入了，直接告诉客服不需要了就好。"
                )
                return []
            log.info("flows.handoff.cancelled id=%s", handoff_id)
        dispatcher.utter_message(text="好的，已为您取消转人工。还有什么可以帮您的吗？")
        return [SlotSet("handoff_id", None), SlotSet("handoff_status", None)]
