"""Handoff to a human agent: why, the call to the router, the queue reply, and cancelling.

Triggers (the rules in bot/data/handoff.yml run `action_handoff`):
- request_human (also the 转人工 button);
- affirm after `utter_offer_human` (second misunderstanding in a row) → reason `fallback`;
- affirm right after verification locked the number → reason `verification_locked`;
- `handoff_now` set by `action_start_ticket` / `action_create_ticket` / `action_fallback_stage`
  with `handoff_reason` major_complaint, critical_urgency or repeat_contact (see `escalation`).

When the router cannot be reached the customer is told so and a callback ticket is recorded
(`handoff_status` callback), or, without a known phone number, the action follows up with the
ticket form, which asks for one before `action_create_ticket` records the callback.

The pure decisions are module functions; the action classes only read slots, call them, call the
router through actions/handoff.py off the event loop, and shape the reply.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from actions import handoff as router_api
from actions import ticket_triage, triage
from actions.flows import common
from actions.store.base import OUTAGE_SERVICES, StoreError
from telecom import mask
from telecom.numbers import parse_phone

log = logging.getLogger(__name__)

REPEAT_WINDOW = timedelta(hours=24)
ESCALATIONS = ("critical_urgency", "major_complaint", "repeat_contact")
CHANNELS = ("web", "app", "voice")

# What the bot already did, for the agent's summary (action name → Chinese).
ACTION_LABELS = {
    "action_answer_balance": "已答复话费余额/账单",
    "action_answer_data_usage": "已答复剩余流量",
    "action_answer_plan": "已答复当前套餐",
    "action_change_plan": "已处理套餐变更",
    "action_roaming_submit": "已处理国际漫游",
    "action_reset_password": "已处理密码重置",
    "action_create_ticket": "已登记工单",
    "action_list_tickets": "已答复工单进度",
    "utter_ask_rephrase": "曾请客户换个说法",
}


# ------------------------------------------------------------------------------ pure decisions


def text_urgency(latest_message: Mapping[str, Any] | None) -> str:
    """The NLU component's urgency of the message; absent or unknown → normal."""
    urgency = (latest_message or {}).get("urgency")
    name = urgency.get("name") if isinstance(urgency, Mapping) else None
    return name if name in triage.URGENCY_LEVELS else "normal"


def complaint_severity(latest_message: Mapping[str, Any] | None, text: str) -> str:
    """Severity from the parse result when the component gave one, else our keyword check.

    Either one saying major is enough: a major complaint must never wait in the normal queue.
    """
    complaint = (latest_message or {}).get("complaint")
    parsed = complaint.get("severity") if isinstance(complaint, Mapping) else None
    own = ticket_triage.complaint_severity(text)
    return "major" if "major" in (parsed, own) else (parsed or own)


def ticket_category(kind: str, latest_message: Mapping[str, Any] | None, text: str) -> str:
    """Category of a complaint or fault: the parse result's, else the keyword check's."""
    parsed = (latest_message or {}).get(kind)
    category = parsed.get("category") if isinstance(parsed, Mapping) else None
    if category:
        return str(category)
    if kind == "complaint":
        return ticket_triage.complaint_category(text)
    return ticket_triage.fault_category(text)


def repeat_ticket(tickets: Iterable[Any], kind: str, category: str, now: datetime):
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


def previous_action(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The last action (not action_listen) before the latest user message."""
    seen_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user" and not seen_user:
            seen_user = True
        elif kind == "action" and seen_user and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


def handoff_reason(
    *, intent: str, slot_reason: str | None, previous: str | None, identity_status: str | None
) -> str:
    """The router reason for this handoff (keys of actions.handoff.REASONS)."""
    if slot_reason in ESCALATIONS and intent not in ("request_human", "affirm"):
        return slot_reason
    if previous == "utter_offer_human":
        return "fallback"
    if previous == "verification_form" and identity_status == "failed":
        return "verification_locked"
    return "request_human"


def bot_actions(events: Iterable[Mapping[str, Any]], identity_status: str | None) -> list[str]:
    """What the bot did in this conversation, in Chinese, oldest first, without repeats."""
    done: list[str] = []
    for event in events:
        if event.get("event") != "action":
            continue
        label = ACTION_LABELS.get(str(event.get("name")))
        if label and label not in done:
            done.append(label)
    if identity_status == "verified":
        done.insert(0, "已完成身份核验")
    elif identity_status == "failed":
        done.insert(0, "身份核验失败次数过多，已锁定")
    return done


def failed_turns(events: Iterable[Mapping[str, Any]]) -> int:
    return sum(
        1
        for e in events
        if e.get("event") == "user"
        and ((e.get("parse_data") or {}).get("intent") or {}).get("name") == "nlu_fallback"
    )


def wait_text(estimated_wait_s: Any) -> str:
    seconds = estimated_wait_s if isinstance(estimated_wait_s, (int, float)) else 0
    if seconds < 60:
        return "预计等待不到1分钟"
    return f"预计等待约{math.ceil(seconds / 60)}分钟"


def queued_message(created: Mapping[str, Any], *, again: bool) -> str:
    """The customer's place in the queue and the expected wait, in Chinese."""
    status = created.get("status")
    position = created.get("queue_position")
    head = "您的转人工请求正在排队中" if again else "已为您转接人工客服"
    if status in ("offered", "assigned") or not isinstance(position, int):
        where = "客服马上就来，请稍候"
    else:
        ahead = max(position - 1, 0)
        where = "您已排在最前面" if ahead == 0 else f"您前面还有{ahead}位"
        where += f"，{wait_text(created.get('estimated_wait_s'))}"
    return f"{head}，{where}；等待期间您也可以继续问我问题，说“不用转了”可以取消。"


NO_AGENT = "抱歉，现在暂时无法接通人工客服。"


# ------------------------------------------------------------------------------ actions


def _customer_phone(tracker: Tracker) -> tuple[str | None, list]:
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


def _reset() -> list:
    return [SlotSet("handoff_now", None), SlotSet("handoff_reason", None)]


def _in_open_outage(subscriber, now) -> bool:
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

    async def run(self, dispatcher, tracker, domain):
        events = list(tracker.events)
        identity_status = tracker.get_slot("identity_status")
        reason = handoff_reason(
            intent=common.latest_intent(tracker),
            slot_reason=tracker.get_slot("handoff_reason"),
            previous=previous_action(events),
            identity_status=identity_status,
        )
        phone, login_events = _customer_phone(tracker)
        subscriber = common.store().get_subscriber(phone, common.today()) if phone else None
        tier = subscriber.tier if subscriber else None
        tickets = common.store().get_tickets(phone) if phone else []
        now = common.now()
        urgency = triage.final_urgency(
            text_urgency(tracker.latest_message),
            tier=tier,
            now=now,
            previous_contacts=[t.created_at for t in tickets],
            verified_outage=_in_open_outage(subscriber, now),
            failed_turns=failed_turns(events),
            tone_history=[
                triage.negative_tone(e.get("text") or "")
                for e in events
                if e.get("event") == "user"
            ],
        ).level
        done = bot_actions(events, identity_status)
        verified = common.verified_phone(tracker) is not None
        payload = router_api.build_handoff(
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
        if reason == "major_complaint":
            payload["skills"] = [triage.SUPERVISOR_SKILL]
        settings = common.settings()
        try:
            if not settings.router_url:
                raise router_api.HandoffError("no router configured")
            created = await asyncio.to_thread(
                router_api.create_handoff, settings.router_url, settings.service_token, payload
            )
        except router_api.HandoffError as exc:
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
        dispatcher.utter_message(text=queued_message(created, again=again))
        return [
            *_reset(),
            *login_events,
            SlotSet("handoff_id", created["handoff_id"]),
            SlotSet("handoff_status", "queued"),
            SlotSet("ticket_kind", None),
            SlotSet("ticket_description", None),
        ]

    @staticmethod
    def _callback(dispatcher, tracker, phone: str | None, summary: str) -> list:
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

    async def run(self, dispatcher, tracker, domain):
        handoff_id = tracker.get_slot("handoff_id")
        settings = common.settings()
        if handoff_id and settings.router_url:
            try:
                await asyncio.to_thread(
                    router_api.cancel_handoff,
                    settings.router_url,
                    settings.service_token,
                    handoff_id,
                )
            except router_api.HandoffError as exc:
                log.warning("flows.handoff.cancel_failed id=%s status=%s", handoff_id, exc.status)
                dispatcher.utter_message(
                    text="抱歉，暂时没能取消转人工，请稍后再说一次“不用转了”；"
                    "如果客服先接入了，直接告诉客服不需要了就好。"
                )
                return []
            log.info("flows.handoff.cancelled id=%s", handoff_id)
        dispatcher.utter_message(text="好的，已为您取消转人工。还有什么可以帮您的吗？")
        return [SlotSet("handoff_id", None), SlotSet("handoff_status", None)]
