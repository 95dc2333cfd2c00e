"""Roaming form: destinations and groups, quotes, status, activation and deactivation."""

from __future__ import annotations

import sqlite3

from actions.flows.roaming import (
    ActionAskRoamingConfirmed,
    ActionRoamingSubmit,
    ValidateRoamingForm,
)
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.flows_support import flows_fixture, run, slot, snapshot, texts, verified  # noqa: F401

INACTIVE, ACTIVE = DEMO_SUBSCRIBERS[0], DEMO_SUBSCRIBERS[3]
FORM = "roaming_form"


def _form(extracted, phone=INACTIVE.phone, **slots):
    return snapshot(
        slots={**verified(phone), "requested_slot": "destination", **slots},
        extracted=extracted,
        active_loop=FORM,
    )


def test_known_destination_is_accepted(flows):
    events, messages = run(ValidateRoamingForm(), _form({"destination": "日本"}))
    assert events == [slot("destination", "日本"), slot("requested_slot", None)]
    assert messages == []


def test_unknown_destination_gets_a_clear_answer(flows):
    events, messages = run(ValidateRoamingForm(), _form({"destination": "火星<script>"}))
    assert events == [slot("destination", None), slot("requested_slot", "destination")]
    assert texts(messages).startswith("抱歉，没有查到“火星script”的国际漫游资费")
    assert "<" not in texts(messages)


def test_activation_asks_destination_then_confirmation(flows):
    events, _ = run(
        ValidateRoamingForm(), _form({"destination": "日本"}, roaming_action="activate")
    )
    assert events == [slot("destination", "日本")]  # all domain slots: Rasa asks roaming_confirmed


def test_quote_with_status_and_activation_button(flows):
    state = snapshot(slots=verified(INACTIVE.phone, destination="日本", duration="7天"))
    events, messages = run(ActionRoamingSubmit(), state)
    assert events == [slot("roaming_action", None), slot("roaming_confirmed", None)]
    quote, status = messages[0]["text"], messages[1]
    assert quote.startswith("日本（日韩及东南亚热门地区资费）：")
    assert "15.00元/天" in quote and "7天3GB 68.00元" in quote
    assert "按您停留 7 天计算" in quote
    assert status["text"] == "138****8000 目前未开通国际漫游，出境前需要先开通。"
    assert status["buttons"][0]["payload"] == '/roaming{"roaming_action":"activate"}'


def test_group_is_quoted_per_zone(flows):
    _, messages = run(
        ActionRoamingSubmit(), snapshot(slots=verified(INACTIVE.phone, destination="新马泰"))
    )
    assert messages[0]["text"].startswith("新加坡、马来西亚、泰国（")


def test_confirmed_activation_and_deactivation(flows):
    state = snapshot(
        slots=verified(
            INACTIVE.phone, destination="日本", roaming_action="activate", roaming_confirmed=True
        )
    )
    _, messages = run(ActionRoamingSubmit(), state)
    assert texts(messages).startswith("已为 138****8000 开通国际漫游")
    assert flows.get_subscriber(INACTIVE.phone).roaming_active is True
    state = snapshot(
        slots=verified(ACTIVE.phone, roaming_action="deactivate", roaming_confirmed=True)
    )
    _, messages = run(ActionRoamingSubmit(), state)
    assert texts(messages) == "已为 138****8003 关闭国际漫游。需要时随时可以再开通。"
    assert flows.get_subscriber(ACTIVE.phone).roaming_active is False


def test_deactivation_when_not_active_needs_no_confirmation(flows):
    state = snapshot(
        slots={**verified(INACTIVE.phone), "roaming_action": "deactivate"}, active_loop=FORM
    )
    events, _ = run(ValidateRoamingForm(), state)
    assert events == [slot("requested_slot", None)]


def test_confirmation_question_for_activation(flows):
    state = snapshot(slots=verified(INACTIVE.phone, destination="香港", roaming_action="activate"))
    _, messages = run(ActionAskRoamingConfirmed(), state)
    assert messages[0]["text"].endswith(
        "目前未开通国际漫游。确认现在为您开通吗？开通免费，按实际使用计费。"
    )
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


def _suspend(store, phone: str) -> None:
    """Mark a line suspended (欠费停机) in the store, as the operator's BSS would."""
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("UPDATE subscribers SET status = 'suspended' WHERE phone = ?", (phone,))
    conn.close()


def test_suspended_line_cannot_activate(flows):
    # A line in credit, so only its suspension (not its balance) can be what refuses it.
    _suspend(flows, INACTIVE.phone)
    line = flows.get_subscriber(INACTIVE.phone)
    assert (line.status, line.balance > 0, line.roaming_active) == ("suspended", True, False)
    state = snapshot(
        slots=verified(
            INACTIVE.phone, destination="日本", roaming_action="activate", roaming_confirmed=True
        )
    )
    events, messages = run(ActionRoamingSubmit(), state)
    assert events == [slot("roaming_action", None), slot("roaming_confirmed", None)]
    assert texts(messages) == (
        "抱歉，138****8000 目前处于欠费停机状态，暂时无法开通国际漫游。"
        "充值缴清欠费、号码恢复后即可开通。"
    )
    assert flows.get_subscriber(INACTIVE.phone).roaming_active is False
    assert [s.kind for s in flows.outbox(INACTIVE.phone)] == []
