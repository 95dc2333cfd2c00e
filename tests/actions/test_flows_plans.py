"""The plan change form: recommendations, validation, confirmation, applying the change."""

from __future__ import annotations

from datetime import date, datetime, timezone

from actions.flows import common
from actions.flows.plans import (
    ActionAnswerPlan,
    ActionAskPlanConfirmed,
    ActionAskTargetPlan,
    ActionChangePlan,
    ValidatePlanChangeForm,
)
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.flows_support import flows_fixture, run, slot, snapshot, texts, verified  # noqa: F401

DEMO = DEMO_SUBSCRIBERS[0]  # 4G_STANDARD_39
FORM = "plan_change_form"


def _form(extracted, requested="target_plan", **slots):
    return snapshot(
        slots={**verified(DEMO.phone), "requested_slot": requested, **slots},
        extracted=extracted,
        active_loop=FORM,
    )


def test_recommendations_come_as_buttons(flows):
    events, messages = run(ActionAskTargetPlan(), snapshot(slots=verified(DEMO.phone)))
    assert events == []
    buttons = messages[0]["buttons"]
    assert 2 <= len(buttons) <= 3
    assert all(b["payload"].startswith('/inform{"plan_name":"') for b in buttons)
    assert "4G_STANDARD_39" not in "".join(b["payload"] for b in buttons)
    assert messages[0]["text"].startswith("您当前是4G畅享39元套餐（月费 39.00元）")


def test_plan_by_alias_is_accepted_and_asks_confirmation_again(flows):
    events, messages = run(ValidatePlanChangeForm(), _form({"target_plan": "流量王"}))
    assert events == [slot("target_plan", "5G_DATA_99"), slot("plan_confirmed", None)]
    assert messages == []  # Rasa's form asks the next slot (the domain order)


def test_the_current_plan_is_refused(flows):
    events, messages = run(ValidatePlanChangeForm(), _form({"target_plan": "39元套餐"}))
    assert events == [slot("target_plan", None)]
    assert "您现在用的就是4G畅享39元套餐" in texts(messages)


def test_the_plan_already_booked_is_refused_with_its_date(flows):
    state = snapshot(slots=verified(DEMO.phone, target_plan="5G_PLUS_129", plan_confirmed=True))
    run(ActionChangePlan(), state)
    events, messages = run(ValidatePlanChangeForm(), _form({"target_plan": "129元套餐"}))
    assert events == [slot("target_plan", None)]
    assert "您已预约变更为5G畅享129元套餐，2026年12月1日起生效，不需要重复办理" in texts(messages)


def test_unknown_plan_is_refused(flows):
    events, messages = run(ValidatePlanChangeForm(), _form({"target_plan": "<b>999元超级套餐</b>"}))
    assert events == [slot("target_plan", None)]
    assert "没有找到这个套餐" in texts(messages)


def test_confirmation_shows_difference_and_effective_date(flows):
    _, messages = run(
        ActionAskPlanConfirmed(), snapshot(slots=verified(DEMO.phone, target_plan="5G_PLUS_129"))
    )
    text = messages[0]["text"]
    assert "费用变化：每月多 90.00元" in text
    assert "生效时间：2026年12月1日（下月1日）" in text
    assert messages[0]["buttons"] == [
        {"title": "确认办理", "payload": "/affirm"},
        {"title": "取消", "payload": "/deny"},
    ]


def test_confirmed_change_is_applied(flows):
    state = snapshot(slots=verified(DEMO.phone, target_plan="5G_PLUS_129", plan_confirmed=True))
    events, messages = run(ActionChangePlan(), state)
    assert events == [slot("target_plan", None), slot("plan_confirmed", None)]
    assert texts(messages).startswith(
        "已为 138****8000 办理成功：5G畅享129元套餐 将于 2026年12月1日 生效"
    )
    sub = flows.get_subscriber(DEMO.phone)
    assert (sub.plan_code, sub.pending_plan_code, sub.pending_effective) == (
        "4G_STANDARD_39",
        "5G_PLUS_129",
        date(2026, 12, 1),
    )


def test_unconfirmed_change_is_not_applied(flows):
    state = snapshot(slots=verified(DEMO.phone, target_plan="5G_PLUS_129", plan_confirmed=None))
    events, messages = run(ActionChangePlan(), state)
    assert events == [slot("target_plan", None), slot("plan_confirmed", None)]
    assert texts(messages) == "好的，本次没有变更套餐。"
    assert flows.get_subscriber(DEMO.phone).pending_plan_code is None


def test_on_its_effective_date_the_change_is_the_current_plan(flows):
    state = snapshot(slots=verified(DEMO.phone, target_plan="5G_PLUS_129", plan_confirmed=True))
    run(ActionChangePlan(), state)
    _, messages = run(ActionAnswerPlan(), snapshot(slots=verified(DEMO.phone)))
    assert "当前套餐是4G畅享39元套餐" in texts(messages)
    assert "您已预约变更为5G畅享129元套餐，2026年12月1日起生效" in texts(messages)

    # 00:30 on 1 December in China is still 30 November in UTC
    common.use_clock(lambda: datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc))
    _, messages = run(ActionAnswerPlan(), snapshot(slots=verified(DEMO.phone)))
    assert "当前套餐是5G畅享129元套餐" in texts(messages)
    assert "预约" not in texts(messages)
    assert flows.outbox(DEMO.phone)[0].body.startswith(
        "【客服通知】您的套餐已于2026年12月01日变更为"
    )
