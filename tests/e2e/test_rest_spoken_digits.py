"""Whole conversations with numbers said, not typed: a spoken phone number, then the ID digits
spoken (幺, 两, 拐, 洞, 勾, an X at the end said as 叉 or 艾克斯), in Traditional characters and
speech-style with fillers, through the balance, data, plan change and password reset flows.

The trained NLU takes spoken ID digits for a phone_number entity; these conversations prove
that verification still goes through and that a refusal asks for what was asked.
"""

from __future__ import annotations

import pathlib
import sqlite3
from datetime import datetime

import pytest

from actions.store.generate import DEMO_SUBSCRIBERS, generate
from bench.repair import spoken
from telecom.catalog import load_catalog
from telecom.dates import CHINA_TZ
from tests.e2e.test_rest_flows import Chat

pytestmark = pytest.mark.slow

DEMO = DEMO_SUBSCRIBERS[0]  # 13800138000, ID …151238
PLAN_CHANGER = DEMO_SUBSCRIBERS[3]  # 13800138003 on 5G_PLUS_129, ID …025131
FULL = DEMO_SUBSCRIBERS[6]  # 13800138006, ID 320102195212010629


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


@pytest.fixture
def chat(assistant):
    rasa = assistant["rasa"]
    return lambda metadata=None: Chat(rasa.url, rasa.token, metadata)


@pytest.fixture
def x_subscriber(assistant):
    """(phone, ID) of an active subscriber of the assistant's store whose ID ends in X: the
    store is the generator's output for today, so the generator says which one."""
    catalog = load_catalog(pathlib.Path(__file__).resolve().parents[2])
    today = datetime.now(CHINA_TZ).date()
    record = next(
        r
        for r in generate(catalog.plans, today, count=60)
        if r.id_number.endswith("X") and r.status == "active" and not r.phone.startswith("138")
    )
    with sqlite3.connect(assistant["db"]) as db:
        found = db.execute("SELECT COUNT(*) FROM subscribers WHERE phone = ?", (record.phone,))
        assert found.fetchone()[0] == 1
    return record.phone, record.id_number


def _assert_nothing_personal(customer: Chat, *secrets: str) -> None:
    every_reply = "\n".join(customer.transcript)
    assert not [s for s in secrets if s in every_reply]


def test_balance_with_a_spoken_phone_then_spoken_id_digits(chat):
    customer = chat()
    customer.say("帮我查一下话费")
    assert "身份证" in customer.say("一三八 零零幺三 八零零零")
    reply = customer.say("幺五幺两三八")
    assert "身份核验通过" in reply and "余额" in reply and masked(DEMO.phone) in reply
    _assert_nothing_personal(customer, DEMO.phone, DEMO.id_last6)


def test_balance_with_spoken_id_digits_ending_in_x(chat, x_subscriber):
    phone, id_number = x_subscriber
    customer = chat()
    customer.say("查话费")
    assert "身份证" in customer.say(spoken(phone))
    reply = customer.say(spoken(id_number[-6:], groups=(6,)))  # …叉
    assert "身份核验通过" in reply and "余额" in reply and masked(phone) in reply
    _assert_nothing_personal(customer, phone, id_number[-6:])


def test_data_usage_with_x_said_as_aikesi_in_groups(chat, x_subscriber):
    phone, id_number = x_subscriber
    customer = chat()
    customer.say("我的流量还剩多少")
    customer.say(spoken(phone, zero="零"))
    last6 = spoken(id_number[-6:-1], groups=(3, 2)) + " 艾克斯"
    reply = customer.say(last6)
    assert "身份核验通过" in reply and "本月用量" in reply and masked(phone) in reply


def test_traditional_spoken_digits(chat):
    customer = chat()
    customer.say("幫我查一下話費")
    assert "身份证" in customer.say("我的號碼是幺三八 零零幺三 八零零零")
    reply = customer.say("身份證後六位是幺五幺兩三八")
    assert "身份核验通过" in reply and "余额" in reply


def test_speech_style_with_fillers_for_the_data_flow(chat):
    customer = chat()
    customer.say("嗯 那个 我想查一下流量")
    assert "身份证" in customer.say("嗯，幺三八 洞洞幺三 八洞洞洞")
    reply = customer.say("呃，就是，幺五幺，两三八")
    assert "身份核验通过" in reply and "本月用量" in reply


def test_malformed_spoken_id_is_refused_for_the_id_and_verification_goes_on(chat):
    customer = chat()
    customer.say("查一下余额")
    customer.say("幺三八 零零幺三 八零零零")
    refusal = customer.say("幺两拐")
    assert "身份证号码的最后6位" in refusal
    assert "手机号" not in refusal  # not asked for the number again: verification goes on
    reply = customer.say("幺五幺 两三八")
    assert "身份核验通过" in reply and "余额" in reply and masked(DEMO.phone) in reply


def test_plan_change_with_spoken_digits_and_a_spoken_fee(chat):
    customer = chat()
    customer.say("我想换个套餐")
    customer.say(spoken(PLAN_CHANGER.phone))
    verified = customer.say(spoken(PLAN_CHANGER.id_last6, groups=(6,)))
    assert "身份核验通过" in verified and "推荐" in verified
    question = customer.say("换成一百九十九的那个")
    assert "5G尊享199元套餐" in question and "生效" in question
    done = customer.say("确认办理")
    assert "办理成功" in done and "5G尊享199元套餐" in done and masked(PLAN_CHANGER.phone) in done


def test_password_reset_with_the_full_id_spoken_in_groups(chat, assistant):
    customer = chat()
    customer.say("我的服务密码忘了，帮我重置一下")
    assert "18位身份证号码" in customer.say(spoken(FULL.phone))
    reply = customer.say(spoken(FULL.id_number, groups=(6, 8, 4)))
    assert "短信" in reply and "身份核验通过" in reply
    with sqlite3.connect(assistant["db"]) as db:
        sent = db.execute("SELECT COUNT(*) FROM sms_outbox WHERE phone = ?", (FULL.phone,))
        assert sent.fetchone()[0] >= 1
    _assert_nothing_personal(customer, FULL.phone, FULL.id_number)


def test_a_correction_of_the_number_while_the_id_is_asked(chat):
    customer = chat()
    customer.say("查话费")
    customer.say("幺三八 零零幺三 八零零八")  # not the customer's number
    asked = customer.say("不对，是幺三八 零零幺三 八零零零")
    assert "138****8000" in asked and "身份证" in asked
    reply = customer.say("幺五幺两三八")
    assert "身份核验通过（138****8000）" in reply and "余额" in reply
