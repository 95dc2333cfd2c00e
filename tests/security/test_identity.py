"""Attacks on the assistant's identity and privacy rules, against the running product (`stack`).

Customer turns go through the router's customer API, as an attacker on the public widget would
send them; the database is read afterwards as someone who got a copy of the file would.
Demo subscribers are the README's (generated, not real people).

The tests share one client address (127.0.0.1) and so its verification budget (20 failures an
hour): together they make fewer than 10 failed ID checks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.security.conftest import Customer, Stack, open_conversation

# README's demo table
ZHANG = ("13800138000", "151238", "110105198806151238")  # 张伟, balance normal
SUN = ("13800138006", "010629", "320102195212010629")  # 孙秀英, password reset
CYCLED = ("13800138001", "13800138002", "13800138003", "13800138004", "13800138005")
UNKNOWN = "19999999999"  # well-formed, not a subscriber
WRONG_LAST6 = "000000"
OLD_PUBLIC_CONSTANT = "DEMO-ONLY-identity-secret-not-for-production"


def hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def login(phone: str, conversation_id: str, secret: str, *, old_format: bool = False) -> dict:
    """A signed login as the contract describes it; `old_format` signs only 'phone|ts' (what
    the code before the fix accepted, which ignored the nonce)."""
    ts, nonce = int(time.time()), secrets.token_urlsafe(18)
    message = f"{phone}|{ts}" if old_format else f"{phone}|{ts}|{conversation_id}|{nonce}"
    sig = hmac_hex(secret, message)
    return {"login": {"phone": phone, "ts": ts, "nonce": nonce, "sig": sig}}


def text_of(replies: list[str]) -> str:
    return "\n".join(replies)


def shows_the_account(replies: list[str]) -> bool:
    return "余额" in text_of(replies)


def asks_for_verification(replies: list[str]) -> bool:
    text = text_of(replies)
    return "手机号" in text or "身份证" in text


def db_rows(stack: Stack, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{stack.db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------------ signed logins


@pytest.mark.parametrize("old_format", [False, True], ids=["contract-format", "old-format"])
def test_a_login_forged_with_the_old_public_constant_is_refused(
    http: httpx.Client, old_format: bool
) -> None:
    customer = open_conversation(http)
    forged = login(ZHANG[0], customer.conversation_id, OLD_PUBLIC_CONSTANT, old_format=old_format)
    replies = customer.say("帮我查一下话费", metadata=forged)
    assert not shows_the_account(replies), replies
    assert asks_for_verification(replies), replies


def test_a_real_login_works_once_and_only_in_its_conversation(
    stack: Stack, http: httpx.Client
) -> None:
    secret = stack.secrets["ASSISTANT_IDENTITY_SECRET"]
    owner = open_conversation(http)
    captured = login(ZHANG[0], owner.conversation_id, secret)
    assert shows_the_account(owner.say("帮我查一下话费", metadata=captured))
    # replayed by someone else, in their own conversation
    attacker = open_conversation(http)
    replies = attacker.say("帮我查一下话费", metadata=captured)
    assert not shows_the_account(replies), replies
    assert asks_for_verification(replies), replies
    # re-signed for the attacker's conversation without the secret: nothing either
    resigned = dict(captured["login"], sig=hmac_hex("guess", "x"))
    assert not shows_the_account(attacker.say("帮我查一下话费", metadata={"login": resigned}))


def _action_call(conversation_id: str, metadata: dict) -> dict:
    """What Rasa posts to the action server for action_start_request on a fresh tracker."""
    latest = {
        "text": "查话费",
        "intent": {"name": "query_balance", "confidence": 0.99},
        "entities": [],
        "metadata": metadata,
    }
    return {
        "next_action": "action_start_request",
        "sender_id": conversation_id,
        "version": "3.6.0",
        "domain": {},
        "tracker": {
            "sender_id": conversation_id,
            "slots": {},
            "latest_message": latest,
            "events": [
                {"event": "user", "text": "查话费", "parse_data": latest, "metadata": metadata}
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_a_login_replayed_in_the_same_conversation_is_refused(stack: Stack) -> None:
    """The same login sent again in its own conversation (e.g. after the session was reset)
    is refused: its nonce was used. Posted to the action server as Rasa would, with its token,
    so that the second use meets a conversation without the verified slots."""
    conversation_id = "replay-" + secrets.token_urlsafe(16)
    captured = login(ZHANG[0], conversation_id, stack.secrets["ASSISTANT_IDENTITY_SECRET"])
    url = f"{stack.actions_url}/webhook"
    params = {"token": stack.secrets["ASSISTANT_ACTIONS_TOKEN"]}

    def identity_status() -> object:
        reply = httpx.post(url, params=params, json=_action_call(conversation_id, captured))
        reply.raise_for_status()
        events = reply.json()["events"]
        return next(e["value"] for e in events if e.get("name") == "identity_status")

    assert identity_status() == "verified"
    assert identity_status() == "needed"
    nonce = captured["login"]["nonce"]
    rows = db_rows(stack, "SELECT conversation FROM login_nonces WHERE nonce = ?", nonce)
    assert rows == [(conversation_id,)]


# ------------------------------------------------------------------------ verification


def _try_number(customer: Customer, phone: str, last6: str) -> tuple[list[str], list[str]]:
    """Start a balance request, give `phone`, then `last6`: (reply to the number, to the ID)."""
    customer.say("帮我查一下话费")
    to_phone = customer.say(phone)
    to_id = customer.say(last6)
    return to_phone, to_id


def test_cycling_numbers_in_one_conversation_is_locked(http: httpx.Client) -> None:
    """One wrong ID on each of five numbers: no number is locked (5 in a row each), but the
    conversation is, and it is offered a human agent."""
    customer = open_conversation(http)
    answers = []
    for phone in CYCLED:
        _, to_id = _try_number(customer, phone, WRONG_LAST6)
        answers.append(text_of(to_id))
        customer.say("算了")
    assert all("还可以尝试" in a for a in answers[:4]), answers
    assert "失败的次数过多" in answers[4], answers[4]
    last = customer.messages_after(None)
    assert any(b.get("payload") == "/request_human" for m in last for b in (m.get("buttons") or []))
    # a new request is refused before any ID is asked, whatever the number
    replies = customer.say("帮我查一下话费") + customer.say(ZHANG[0])
    assert "失败的次数过多" in text_of(replies), replies
    assert "身份证号码的最后6位" not in text_of(replies), replies
    assert not shows_the_account(customer.say(ZHANG[1]))


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def test_an_unknown_number_gets_the_same_answers_as_a_wrong_id(http: httpx.Client) -> None:
    """The replies do not tell an attacker which numbers are subscribers'."""
    turns: dict[str, tuple[str, str]] = {}
    for phone in (UNKNOWN, ZHANG[0]):
        customer = open_conversation(http)
        to_phone, to_id = _try_number(customer, phone, WRONG_LAST6)
        same = [text_of(r).replace(_masked(phone), "<phone>") for r in (to_phone, to_id)]
        turns[phone] = (same[0], same[1])
    assert turns[UNKNOWN] == turns[ZHANG[0]], turns
    assert "不是" not in turns[UNKNOWN][0] + turns[UNKNOWN][1]
    assert "身份证" in turns[UNKNOWN][0]  # the ID is asked for either way


# ------------------------------------------------------------------------ privacy


def test_the_temporary_password_is_nowhere_in_the_database(
    stack: Stack, customer: Customer
) -> None:
    customer.say("我的服务密码忘了，帮我重置一下")
    customer.say(SUN[0])
    replies = customer.say(SUN[2])
    assert "短信" in text_of(replies), replies
    sql = "SELECT COUNT(*) FROM sms_outbox WHERE phone = ? AND kind = 'password_reset'"
    sent = db_rows(stack, sql, SUN[0])
    assert sent[0][0] >= 1
    plain = re.compile("临时密码为".encode() + rb"\s*\d{6}")
    files = [Path(p) for p in (f"{stack.db_path}", f"{stack.db_path}-wal") if Path(p).exists()]
    assert files
    for path in files:
        assert not plain.search(path.read_bytes()), f"a readable temporary password in {path}"
    hashes = db_rows(stack, "SELECT password_hash FROM subscribers WHERE phone = ?", SUN[0])
    assert str(hashes[0][0]).startswith("scrypt$")


def test_consent_is_recorded_after_the_notice(stack: Stack, customer: Customer) -> None:
    notice = text_of(customer.say("帮我查一下话费"))
    assert "只用于本次身份核验" in notice and "删除" in notice and "同意" in notice, notice
    customer.say(ZHANG[0])
    rows = db_rows(
        stack,
        "SELECT notice_version, purpose, at FROM consents WHERE conversation = ?",
        customer.conversation_id,
    )
    assert len(rows) == 1, rows
    version, purpose, at = rows[0]
    assert purpose == "verification" and str(version).startswith("2-basic-") and at


def test_id_numbers_are_not_in_the_database(stack: Stack) -> None:
    paths = [Path(f"{stack.db_path}{suffix}") for suffix in ("", "-wal")]
    raw = b"".join(p.read_bytes() for p in paths if p.exists())
    for _, _, id_number in (ZHANG, SUN):
        assert id_number.encode() not in raw
    hashes = db_rows(stack, "SELECT id6_hash FROM subscribers WHERE phone = ?", ZHANG[0])
    assert str(hashes[0][0]).startswith("scrypt-pepper"), "ID hashes need the pepper"
