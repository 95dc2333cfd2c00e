"""Whole conversations through Rasa's gateway channel, with the real action server and store.

These are the paths a customer takes; the conversation stories in tests/conversations/ check
the dialogue predictions, these check what the customer actually reads and what is stored.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request
import uuid

import pytest

from actions.identity import login_metadata
from actions.store.generate import DEMO_SUBSCRIBERS

pytestmark = pytest.mark.slow

DEMO = DEMO_SUBSCRIBERS[0]  # a subscriber with a normal balance


def demo(**wanted):
    return next(d for d in DEMO_SUBSCRIBERS if all(getattr(d, k) == v for k, v in wanted.items()))


class Chat:
    """One customer conversation over the gateway channel (assistant/gateway_channel.py)."""

    def __init__(self, rasa_url: str, token: str, metadata=None):
        """`metadata`: a dict, or a function of the sender id (a login is signed for it)."""
        self.url = f"{rasa_url}/webhooks/gateway/webhook"
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        self.sender = f"e2e-{uuid.uuid4().hex[:12]}"
        self.metadata = (metadata(self.sender) if callable(metadata) else metadata) or {}
        self.transcript: list[str] = []

    def say(self, text: str) -> str:
        body = json.dumps({"sender": self.sender, "message": text, "metadata": self.metadata})
        request = urllib.request.Request(self.url, body.encode(), self.headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            replies = json.loads(response.read())
        # every reply the customer reads (the last element is the assistant's reading of the
        # turn, for the gateway and the archive: no text)
        reply = "\n".join(r["text"] for r in replies if "text" in r)
        self.transcript.append(reply)
        return reply


@pytest.fixture
def chat(assistant):
    rasa = assistant["rasa"]
    return lambda metadata=None: Chat(rasa.url, rasa.token, metadata)


def test_balance_after_verification_masks_the_number(chat):
    customer = chat()
    first = customer.say("帮我查一下话费")
    assert "手机" in first  # says why and asks for the number
    assert "身份证" in customer.say(DEMO.phone)
    reply = customer.say(DEMO.id_number[-6:])
    assert "余额" in reply and "元" in reply
    assert f"{DEMO.phone[:3]}****{DEMO.phone[-4:]}" in reply
    every_reply = "\n".join(customer.transcript)
    assert DEMO.phone not in every_reply and DEMO.id_number[-6:] not in every_reply


def test_signed_app_login_skips_verification(chat, assistant):
    secret = assistant["env"]["ASSISTANT_IDENTITY_SECRET"]
    customer = chat(lambda sender: login_metadata(DEMO.phone, int(time.time()), sender, secret))
    reply = customer.say("我的话费还剩多少")
    assert "余额" in reply and "身份证" not in reply


def test_forged_login_is_not_trusted(chat):
    customer = chat(
        lambda sender: login_metadata(DEMO.phone, int(time.time()), sender, "not-the-secret")
    )
    reply = customer.say("查一下余额")
    # the login is ignored: the customer is asked for the number, nothing of the account is shown
    assert reply.split("\n")[-1] == "请告诉我需要办理业务的手机号码。"
    assert f"{DEMO.phone[:3]}****{DEMO.phone[-4:]}" not in reply and "元" not in reply


def test_traditional_input_gets_the_same_answer(chat):
    customer = chat()
    customer.say("幫我查一下話費")
    customer.say(DEMO.phone)
    assert "余额" in customer.say(DEMO.id_number[-6:])


def test_wrong_id_digits_are_refused_then_locked_after_five(chat):
    target = demo(phone=DEMO_SUBSCRIBERS[1].phone)
    customer = chat()
    customer.say("查话费")
    customer.say(target.phone)
    wrong = "000000" if target.id_number[-6:] != "000000" else "111111"
    replies = [customer.say(wrong) for _ in range(5)]
    assert all("余额" not in r for r in replies)
    masked = f"{target.phone[:3]}****{target.phone[-4:]}"
    locked = f"抱歉，号码 {masked} 的身份核验连续失败次数过多，为保护您的账户安全，已暂停核验30分钟"
    assert [r.startswith(locked) for r in replies] == [False] * 4 + [True]
    # Locked for the number, even with the right digits in a new conversation: the number is
    # refused as soon as it is given, and the right digits then show nothing of the account.
    again = chat()
    again.say("查话费")
    assert again.say(target.phone).startswith(locked)
    after = again.say(target.id_number[-6:])
    assert "余额" not in after and "身份核验通过" not in after


def test_password_reset_sends_sms_and_never_shows_the_password(chat, assistant):
    target = demo(phone=DEMO_SUBSCRIBERS[6].phone)
    customer = chat()
    customer.say("我的服务密码忘了，帮我重置一下")
    customer.say(target.phone)
    reply = customer.say(target.id_number)
    assert "短信" in reply
    with sqlite3.connect(assistant["db"]) as db:
        bodies = [
            row[0]
            for row in db.execute("SELECT body FROM sms_outbox WHERE phone = ?", (target.phone,))
        ]
    assert bodies, "no SMS in the outbox"
    # the outbox keeps the SMS with the temporary password redacted (never stored readable)
    reset = [body for body in bodies if "密码" in body]  # not the notices of other tests' tickets
    assert reset and all("******" in body for body in reset)
    assert not [code for body in reset for code in re.findall(r"(?<!\d)\d{6}(?!\d)", body)]
    assert not re.search(r"临时密码为\s*\d", "\n".join(customer.transcript))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "话费" * 5000,
        "😀😀😀🙏",
        "\x00\x01\x1b[31m查话费\x7f",
        "'; DROP TABLE subscribers; --",
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">我要投诉',
    ],
    ids=["empty", "10k-chars", "emoji", "control", "sql", "script", "html"],
)
def test_bad_input_gets_a_clear_answer(chat, text):
    reply = chat().say(text)
    assert reply.strip(), "no answer"
    assert "<script" not in reply and "onerror" not in reply


def test_complaint_with_markup_is_stored_escaped(chat, assistant):
    customer = chat()
    customer.say("我要投诉，你们的客服态度太差了 <b>onmouseover=alert(1)</b>")
    for text in [
        "我要投诉你们的客服态度太差了",
        DEMO.phone,
        DEMO.id_number[-6:],
        "就是客服挂我电话",
    ]:
        if "T20" in "\n".join(customer.transcript):
            break
        customer.say(text)
    with sqlite3.connect(assistant["db"]) as db:
        rows = [r[0] for r in db.execute("SELECT description FROM tickets")]
    assert rows, "no ticket recorded"
    assert all("<b>" not in row and "<script" not in row for row in rows)
