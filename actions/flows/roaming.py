"""International roaming: destination (and stay) → quote and status → activate/deactivate."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import roaming_quote
from actions.flows import common
from actions.flows.repair import RepairingValidation
from actions.store.base import StoreError
from telecom import mask
from telecom.catalog import Destination
from telecom.numbers import parse_days

log = logging.getLogger(__name__)

CONFIRM_BUTTONS = [
    {"title": "确认", "payload": "/affirm"},
    {"title": "取消", "payload": "/deny"},
]
ACTIVATE_BUTTON = [{"title": "开通国际漫游", "payload": '/roaming{"roaming_action":"activate"}'}]


def resolve_destinations(text: str | None) -> list[Destination]:
    """The destinations a name or group names ([] when unknown)."""
    if not text:
        return []
    store = common.store()
    group = store.expand_group(str(text))
    if group:
        return group
    dest = store.find_destination(str(text))
    return [dest] if dest else []


def quote_for(place: str | None, duration: str | None) -> str:
    """The tariff quote of a destination or group ('' when unknown or without a tariff)."""
    dests = resolve_destinations(place)
    if not dests:
        return ""
    store = common.store()
    try:
        tariffs = {d.code: store.roaming_offers(d.code) for d in dests}
    except StoreError:  # NoSuchDestination: no tariff on record
        return ""
    return roaming_quote.quote(dests, tariffs, parse_days(duration))


def _quote(tracker: Tracker) -> str:
    return quote_for(tracker.get_slot("destination"), tracker.get_slot("duration"))


class ValidateRoamingForm(RepairingValidation):
    form = "roaming_form"

    def name(self) -> str:
        return "validate_roaming_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        action = tracker.get_slot("roaming_action")
        _, sub = common.verified_subscriber(tracker)
        active = bool(sub and sub.roaming_active)
        if action == "deactivate":
            return ["roaming_confirmed"] if active else []
        if action == "activate" and not active:
            return ["destination", "roaming_confirmed"]
        if action == "status":
            return []
        return ["destination"]

    def validate_destination(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        dests = resolve_destinations(value)
        if not dests:
            dispatcher.utter_message(text=roaming_quote.unknown_destination(str(value or "")))
            return {"destination": None}
        name = dests[0].name if len(dests) == 1 else str(value)
        group = common.store().expand_group(str(value))
        return {"destination": str(value) if group else name}

    def validate_roaming_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"roaming_confirmed": True if value else None}


class ActionAskRoamingConfirmed(Action):
    def name(self) -> str:
        return "action_ask_roaming_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        phone, _ = common.verified_subscriber(tracker)
        if tracker.get_slot("roaming_action") == "deactivate":
            text = f"确认关闭 {mask.phone(phone)} 的国际漫游吗？关闭后在境外将无法使用通话和上网。"
        else:
            quote = _quote(tracker)
            text = (quote + "\n" if quote else "") + (
                f"{mask.phone(phone)} 目前未开通国际漫游。"
                "确认现在为您开通吗？开通免费，按实际使用计费。"
            )
        dispatcher.utter_message(text=text, buttons=CONFIRM_BUTTONS)
        return []


class ActionRoamingSubmit(Action):
    """Quote and status; or apply a confirmed activation/deactivation."""

    def name(self) -> str:
        return "action_roaming_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [
            SlotSet("roaming_action", None),
            SlotSet("roaming_confirmed", None),
            *common.queue_followup(tracker),
        ]
        phone, sub = common.verified_subscriber(tracker)
        if phone is None or sub is None:  # a subscriber only for a verified phone
            dispatcher.utter_message(text=common.NOT_VERIFIED)
            return reset
        action = tracker.get_slot("roaming_action")
        confirmed = bool(tracker.get_slot("roaming_confirmed"))
        store = common.store()
        if action == "activate" and confirmed and not sub.roaming_active:
            try:
                store.set_roaming(phone, True, common.now())
            except StoreError as error:  # AccountSuspended: arrears first
                log.info(
                    "flows.roaming.refused phone=%s error=%s",
                    mask.phone(phone),
                    type(error).__name__,
                )
                dispatcher.utter_message(
                    text=f"抱歉，{mask.phone(phone)} 目前处于欠费停机状态，暂时无法开通国际漫游。"
                    "充值缴清欠费、号码恢复后即可开通。"
                )
                return reset
            log.info("flows.roaming.activated phone=%s", mask.phone(phone))
            dispatcher.utter_message(
                text=f"已为 {mask.phone(phone)} 开通国际漫游，出境后开机即可使用。"
                "建议出发前按需订购流量包，到达后留意短信提醒。祝您旅途愉快！"
            )
        elif action == "deactivate" and confirmed and sub.roaming_active:
            store.set_roaming(phone, False, common.now())
            log.info("flows.roaming.deactivated phone=%s", mask.phone(phone))
            dispatcher.utter_message(
                text=f"已为 {mask.phone(phone)} 关闭国际漫游。需要时随时可以再开通。"
            )
        elif action == "deactivate":
            dispatcher.utter_message(text=f"{mask.phone(phone)} 目前没有开通国际漫游，无需关闭。")
        else:
            quote = _quote(tracker)
            if quote:
                dispatcher.utter_message(text=quote)
            buttons = [] if sub.roaming_active else ACTIVATE_BUTTON
            dispatcher.utter_message(
                text=roaming_quote.status_line(phone, sub.roaming_active), buttons=buttons
            )
        return reset
