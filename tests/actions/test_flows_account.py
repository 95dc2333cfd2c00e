"""Balance, bills, data usage, current plan and password reset against a temporary store."""

from __future__ import annotations

from actions.flows.billing import ActionAnswerBalance
from actions.flows.data_usage import ActionAnswerDataUsage
from actions.flows.password import ActionResetPassword
from actions.flows.plans import ActionAnswerPlan
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.flows_support import flows_fixture, run, slot, snapshot, texts, verified  # noqa: F401

NORMAL, ARREARS, NEAR_LIMIT = DEMO_SUBSCRIBERS[0], DEMO_SUBSCRIBERS[1], DEMO_SUBSCRIBERS[2]


def test_sensitive_answers_need_verification(flows):
    for action in (
        ActionAnswerBalance(),
        ActionAnswerDataUsage(),
        ActionAnswerPlan(),
        ActionResetPassword(),
    ):
        events, messages = run(
            action, snapshot(slots={"verified_phone": NORMAL.phone, "identity_status": "needed"})
        )
        assert events == []
        assert "需要先核实身份" in texts(messages)


def test_balance_and_month_to_date(flows, today):
    events, messages = run(ActionAnswerBalance(), snapshot(slots=verified(NORMAL.phone)))
    assert events == []
    text = texts(messages)
    sub = flows.get_subscriber(NORMAL.phone)
    assert text.startswith("138****8000 的账户情况：")
    assert f"当前余额 {sub.balance // 100}.{sub.balance % 100:02d}元" in text
    assert f"本月（{today:%Y-%m}）截至目前已产生费用" in text
    assert NORMAL.phone not in text


def test_arrears_are_said_clearly(flows):
    _, messages = run(ActionAnswerBalance(), snapshot(slots=verified(ARREARS.phone)))
    assert "当前欠费 56.30元" in texts(messages)
    assert "请尽快充值" in texts(messages)


def test_last_months_bill_with_items(flows):
    state = snapshot(slots=verified(NORMAL.phone, month="上个月"))
    events, messages = run(ActionAnswerBalance(), state)
    assert events == [slot("month", None)]
    bill = flows.get_bill(NORMAL.phone, "2026-10")
    text = texts(messages)
    assert text.startswith(
        f"138****8000 2026-10 账单合计 {bill.total // 100}.{bill.total % 100:02d}元"
    )
    assert all(item.name in text for item in bill.items)


def test_a_month_without_bill(flows):
    _, messages = run(
        ActionAnswerBalance(), snapshot(slots=verified(NORMAL.phone, month="2019年3月"))
    )
    assert "没有查到" in texts(messages)


def test_data_usage_per_package(flows, today):
    events, messages = run(ActionAnswerDataUsage(), snapshot(slots=verified(NORMAL.phone)))
    assert events == []
    assert len(messages) == 1  # not near the limit: no offer
    for package in flows.get_usage(NORMAL.phone, today):
        assert package.name in messages[0]["text"]
    assert "重置" in messages[0]["text"]


def test_near_exhaustion_offers_a_data_pack(flows):
    _, messages = run(ActionAnswerDataUsage(), snapshot(slots=verified(NEAR_LIMIT.phone)))
    assert len(messages) == 2
    assert "流量包" in messages[1]["text"]
    assert [b["title"] for b in messages[1]["buttons"]] == ["怎么加流量包", "换大流量套餐"]


def test_current_plan(flows):
    _, messages = run(ActionAnswerPlan(), snapshot(slots=verified(NORMAL.phone)))
    assert texts(messages) == (
        "138****8000 当前套餐是4G畅享39元套餐：月费 39.00元，"
        "含国内通用流量 15.00GB、国内通话 200 分钟、短信100条。"
    )


def test_password_reset_needs_full_level(flows):
    events, messages = run(ActionResetPassword(), snapshot(slots=verified(NORMAL.phone, "basic")))
    assert events == [] and flows.outbox(NORMAL.phone) == []
    events, messages = run(ActionResetPassword(), snapshot(slots=verified(NORMAL.phone, "full")))
    assert events == []
    sms = flows.outbox(NORMAL.phone)
    assert len(sms) == 1 and sms[0].kind == "password_reset"
    text = texts(messages)
    assert "短信发送到 138****8000" in text and "尽快修改密码" in text
    assert not any(
        word in text for word in sms[0].body.split() if word.isdigit() and len(word) >= 6
    )
