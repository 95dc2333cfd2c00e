"""Current plan, and the plan change form: target plan → difference and date → confirm → apply."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.flows import common
from actions.flows.repair import RepairingValidation
from actions.plans import UsageProfile, effective_date, price_difference, recommend_plans
from actions.store.base import StoreError
from telecom import mask
from telecom.catalog import Plan, load_catalog
from telecom.money import yuan
from telecom.speech import normalise

log = logging.getLogger(__name__)

CONFIRM_BUTTONS = [
    {"title": "确认办理", "payload": "/affirm"},
    {"title": "取消", "payload": "/deny"},
]


def find_plan(text: str | None) -> Plan | None:
    """A plan by code, name or alias."""
    if not text:
        return None
    catalog = load_catalog(common.settings().catalog_root)
    return catalog.plan(str(text)) or catalog.find_plan(str(text))


# A whole number of yuan as customers name a plan by its fee ('79的那个', '129块的'); not a
# data volume or a network generation (30G, 5G), not part of a decimal.
_FEE = re.compile(r"(?<![\d.])(\d{1,4})(?![\d.]|\s*(?:[GgMm]|兆|个G))")


def plan_by_fee(text: str | None) -> Plan | None:
    """The plan whose monthly fee `text` names, typed or spoken ('换成一百二十九的', '七十九块
    的那个', '幺二九的套餐'); None when it names no fee or the fees of several plans."""
    if not text:
        return None
    fees = {int(n) * 100 for n in _FEE.findall(normalise(str(text), "amount"))}
    catalog = load_catalog(common.settings().catalog_root)
    found = [plan for plan in catalog.plans if plan.monthly_fee in fees]
    return found[0] if len(found) == 1 else None


class ActionAnswerPlan(common.VerifiedAction):
    def name(self) -> str:
        return "action_answer_plan"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str
    ) -> list[EventType]:
        store = common.store()
        sub = store.get_subscriber(phone, common.today())
        assert sub is not None, "a verified phone has a subscriber"
        plan = store.get_plan(sub.plan_code)
        assert plan is not None, "a subscriber's plan is in the catalogue"
        pending = store.get_plan(sub.pending_plan_code) if sub.pending_plan_code else None
        dispatcher.utter_message(
            text=replies.current_plan_reply(phone, plan, pending, sub.pending_effective)
        )
        return []


class ValidatePlanChangeForm(RepairingValidation):
    form = "plan_change_form"

    def name(self) -> str:
        return "validate_plan_change_form"

    async def extract_target_plan(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A plan named by its fee in a message the NLU took for a new request to change the
        plan ('换成一百九十九的那个': no plan_name entity, and from_text skips that intent)."""
        asked = tracker.get_slot("requested_slot")
        if asked not in ("target_plan", "plan_confirmed") or "target_plan" in (
            tracker.slots_to_validate()
        ):
            return {}
        text = common.latest_text(tracker)
        return {"target_plan": text} if plan_by_fee(text) else {}

    def validate_target_plan(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        plan = (
            find_plan(value)
            or plan_by_fee(common.latest_text(tracker))
            or plan_by_fee(str(value or ""))
        )
        if plan is None:
            dispatcher.utter_message(
                text="抱歉，没有找到这个套餐。请从下面的推荐里选一个，或说出套餐名称，例如“5G畅享129元套餐”。"
            )
            return {"target_plan": None}
        _, sub = common.verified_subscriber(tracker)
        if sub is not None and sub.plan_code == plan.code:
            dispatcher.utter_message(
                text=f"您现在用的就是{plan.name}，不需要变更。想换成其他套餐吗？"
            )
            return {"target_plan": None}
        if sub is not None and sub.pending_plan_code == plan.code and sub.pending_effective:
            dispatcher.utter_message(
                text=f"您已预约变更为{plan.name}，{sub.pending_effective:%Y年%-m月%-d日}起生效，"
                "不需要重复办理。想换成其他套餐吗？"
            )
            return {"target_plan": None}
        # A new choice (also while being asked to confirm) needs a fresh confirmation.
        return {"target_plan": plan.code, "plan_confirmed": None}

    def validate_plan_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"plan_confirmed": True if value else None}


class ActionAskTargetPlan(Action):
    """Recommend two or three plans that fit the customer's usage, as buttons."""

    def name(self) -> str:
        return "action_ask_target_plan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        phone, sub = common.verified_subscriber(tracker)
        store = common.store()
        current = store.get_plan(sub.plan_code) if sub else None
        if phone is None or current is None:  # no phone, no subscriber: no current plan
            dispatcher.utter_message(text="请问您想换成哪个套餐？")
            return []
        usage = UsageProfile.from_history(store.usage_history(phone))
        recs = recommend_plans(current, usage, store.list_plans(), limit=3)
        lines = [
            f"您当前是{current.name}（月费 {yuan(current.monthly_fee)}）。"
            "根据您近几个月的用量，推荐这几款："
        ]
        buttons: list[dict[str, str]] = []
        for i, rec in enumerate(recs, 1):
            lines.append(
                f"{i}. {rec.plan.name}（{replies.difference_text(rec.monthly_difference)}）："
                f"{rec.reason}"
            )
            buttons.append(
                {"title": rec.plan.name, "payload": f'/inform{{"plan_name":"{rec.plan.code}"}}'}
            )
        lines.append("请选择一个，或直接告诉我想要的套餐名称。")
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return []


class ActionAskPlanConfirmed(Action):
    def name(self) -> str:
        return "action_ask_plan_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        phone, sub = common.verified_subscriber(tracker)
        store = common.store()
        target = store.get_plan(tracker.get_slot("target_plan") or "")
        if sub is None or target is None:
            dispatcher.utter_message(text="请问您想换成哪个套餐？")
            return []
        current = store.get_plan(sub.plan_code)
        assert phone is not None, "a subscriber was found by the verified phone"
        assert current is not None, "a subscriber's plan is in the catalogue"
        text = replies.plan_change_question(
            phone,
            current,
            target,
            price_difference(current, target),
            effective_date(common.today()),
        )
        dispatcher.utter_message(text=text, buttons=CONFIRM_BUTTONS)
        return []


class ActionChangePlan(Action):
    """Apply the confirmed change (one store transaction) and report the result."""

    def name(self) -> str:
        return "action_change_plan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [
            SlotSet("target_plan", None),
            SlotSet("plan_confirmed", None),
            *common.queue_followup(tracker),
        ]
        phone = common.verified_phone(tracker)
        code = tracker.get_slot("target_plan")
        if phone is None or not code or not tracker.get_slot("plan_confirmed"):
            dispatcher.utter_message(text="好的，本次没有变更套餐。")
            return reset
        store = common.store()
        effective = effective_date(common.today())
        try:
            store.change_plan(phone, code, effective, common.now())
        except StoreError as error:
            log.warning(
                "flows.plan_change.failed phone=%s error=%s",
                mask.phone(phone),
                type(error).__name__,
            )
            dispatcher.utter_message(
                text="抱歉，套餐变更没有成功，您的套餐保持不变。请稍后再试，或转人工办理。"
            )
            return reset
        log.info("flows.plan_change.done phone=%s plan=%s", mask.phone(phone), code)
        target = store.get_plan(code)
        assert target is not None, "the store changed to a plan it has"
        dispatcher.utter_message(text=replies.plan_changed_reply(phone, target, effective))
        return reset
