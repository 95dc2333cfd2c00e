from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from datetime import timedelta

import pytest

from actions.identity import (
    CLOCK_SKEW,
    LOGIN_TTL,
    check_login,
    login_metadata,
    sign_login,
    verify_login,
)
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.secrets_support import IDENTITY_SECRET as SECRET

PHONE = "13800138000"
CONVERSATION = "c0nversation-one"
OLD_PUBLIC_CONSTANT = "DEMO-ONLY-identity-secret-not-for-production"


class Nonces:
    """The store's nonce memory, in a dict."""

    def __init__(self) -> None:
        self.used: dict[str, tuple[str, object]] = {}

    def claim_login_nonce(self, nonce, conversation, now, expires_at) -> bool:
        if nonce in self.used:
            return False
        self.used[nonce] = (conversation, expires_at)
        return True


@pytest.fixture
def nonces() -> Nonces:
    return Nonces()


@pytest.fixture
def make_login(now):
    """create(phone, age, secret, conversation) → message metadata as the gateway passes it."""

    def create(
        phone: str = PHONE,
        age: timedelta = timedelta(0),
        secret: str = SECRET,
        conversation: str = CONVERSATION,
    ) -> dict:
        return login_metadata(phone, int((now - age).timestamp()), conversation, secret)

    return create


def test_valid_login(make_login, now, nonces):
    assert verify_login(make_login(), SECRET, now, CONVERSATION, nonces) == PHONE
    almost_stale = make_login(age=LOGIN_TTL - timedelta(seconds=1))
    assert verify_login(almost_stale, SECRET, now, CONVERSATION, nonces) == PHONE


def test_signature_is_hmac_sha256_hex_of_phone_ts_conversation_and_nonce():
    message = b"13800138000|1763870000|conv-1|n0nce-n0nce-n0nce"
    expected = hmac.new(b"k", message, hashlib.sha256).hexdigest()
    assert sign_login("13800138000", 1763870000, "conv-1", "n0nce-n0nce-n0nce", "k") == expected


def test_a_login_is_accepted_once_in_the_same_conversation(make_login, now, nonces):
    metadata = make_login()
    assert verify_login(metadata, SECRET, now, CONVERSATION, nonces) == PHONE
    later = now + timedelta(seconds=5)
    assert verify_login(metadata, SECRET, later, CONVERSATION, nonces) is None


def test_a_login_is_only_valid_in_its_conversation(make_login, now, nonces):
    metadata = make_login(conversation="the-customers-one")
    assert verify_login(metadata, SECRET, now, "the-attackers-one", nonces) is None
    assert nonces.used == {}  # a login that does not verify uses up nothing
    assert verify_login(metadata, SECRET, now, "the-customers-one", nonces) == PHONE


def test_the_nonce_is_remembered_until_the_login_expires(make_login, now, nonces):
    metadata = make_login(age=timedelta(minutes=1))
    verify_login(metadata, SECRET, now, CONVERSATION, nonces)
    [(_, expires_at)] = nonces.used.values()
    assert expires_at == now - timedelta(minutes=1) + LOGIN_TTL


def test_the_old_public_constant_forges_nothing(make_login, now, nonces):
    forged = make_login(secret=OLD_PUBLIC_CONSTANT)
    assert verify_login(forged, SECRET, now, CONVERSATION, nonces) is None


def test_no_secret_accepts_no_login(make_login, now, nonces):
    """Demo mode without ASSISTANT_IDENTITY_SECRET: an empty HMAC key would be public."""
    metadata = make_login(secret="")
    assert verify_login(metadata, "", now, CONVERSATION, nonces) is None


def test_wrong_secret(make_login, now, nonces):
    assert verify_login(make_login(secret="other"), SECRET, now, CONVERSATION, nonces) is None


def test_tampered_phone_or_nonce(make_login, now, nonces):
    for key, value in (("phone", "13900139000"), ("nonce", "another-nonce-1234")):
        metadata = make_login()
        metadata["login"][key] = value
        assert verify_login(metadata, SECRET, now, CONVERSATION, nonces) is None


def test_tampered_signature(make_login, now, nonces):
    metadata = make_login()
    sig = metadata["login"]["sig"]
    metadata["login"]["sig"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert verify_login(metadata, SECRET, now, CONVERSATION, nonces) is None


def test_stale_login(make_login, now, nonces):
    stale = make_login(age=LOGIN_TTL + timedelta(seconds=1))
    assert verify_login(stale, SECRET, now, CONVERSATION, nonces) is None


def test_login_from_the_future(make_login, now, nonces):
    future = make_login(age=-timedelta(minutes=5))
    assert verify_login(future, SECRET, now, CONVERSATION, nonces) is None


NONCE = "abcdefghijklmnop"


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {},
        {"login": "13800138000"},
        {"login": {"phone": PHONE}},
        {"login": {"phone": PHONE, "ts": "abc", "nonce": NONCE, "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": True, "nonce": NONCE, "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": 1.5, "nonce": NONCE, "sig": "0" * 64}},
        {"login": {"phone": "1380013800", "ts": 1, "nonce": NONCE, "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": 1, "nonce": NONCE, "sig": "not-hex"}},
        {"login": {"phone": PHONE, "ts": 1, "nonce": NONCE, "sig": None}},
        {"login": {"phone": PHONE, "ts": 1, "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": 1, "nonce": "short", "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": 1, "nonce": "with space 123456", "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": 1, "nonce": ["list"], "sig": "0" * 64}},
    ],
)
def test_malformed_metadata(metadata, now, nonces):
    assert check_login(metadata, SECRET, now, CONVERSATION) is None
    assert verify_login(metadata, SECRET, now, CONVERSATION, nonces) is None


def test_logs_mask_the_number(make_login, now, nonces, caplog):
    caplog.set_level("DEBUG")
    verify_login(make_login(secret="other"), SECRET, now, CONVERSATION, nonces)
    metadata = make_login()
    verify_login(metadata, SECRET, now, CONVERSATION, nonces)
    verify_login(metadata, SECRET, now, CONVERSATION, nonces)  # replayed
    assert PHONE not in caplog.text and "138****8000" in caplog.text
    assert "reason=replayed" in caplog.text


def test_the_store_refuses_a_repeated_nonce_atomically(store, now):
    """The nonce table's primary key refuses a repeat, from any conversation."""
    phone = DEMO_SUBSCRIBERS[0].phone
    metadata = login_metadata(phone, int(now.timestamp()), CONVERSATION, SECRET)
    assert verify_login(metadata, SECRET, now, CONVERSATION, store) == phone
    assert verify_login(metadata, SECRET, now, CONVERSATION, store) is None
    nonce = metadata["login"]["nonce"]
    expires = now + LOGIN_TTL
    assert not store.claim_login_nonce(nonce, "another-conversation", now, expires)


# -- every boundary, and the log line each refusal writes (stable event names, masked number) --
def test_ttl_and_clock_skew_edges(make_login, now):
    assert (timedelta(minutes=5), timedelta(seconds=30)) == (LOGIN_TTL, CLOCK_SKEW)
    assert check_login(make_login(age=LOGIN_TTL), SECRET, now, CONVERSATION) is not None
    assert check_login(make_login(age=-CLOCK_SKEW), SECRET, now, CONVERSATION) is not None
    ahead = -CLOCK_SKEW - timedelta(seconds=1)
    assert check_login(make_login(age=ahead), SECRET, now, CONVERSATION) is None
    login = check_login(make_login(age=timedelta(minutes=1)), SECRET, now, CONVERSATION)
    assert login.expires_at == now + timedelta(minutes=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        login.phone = "13900139000"


def test_a_fresh_nonce_is_24_url_safe_characters(now):
    nonce = login_metadata(PHONE, int(now.timestamp()), CONVERSATION, SECRET)["login"]["nonce"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", nonce)


def _reasons(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "actions.identity"]


@pytest.mark.parametrize(
    ("login", "message"),
    [
        ({"phone": "12345678901"}, "identity.login.rejected reason=bad_phone"),
        ({"ts": "soon"}, "identity.login.rejected reason=bad_ts phone=138****8000"),
        ({"ts": 1.5}, "identity.login.rejected reason=bad_ts phone=138****8000"),
        ({"nonce": "short"}, "identity.login.rejected reason=bad_nonce phone=138****8000"),
        ({"sig": "zz"}, "identity.login.rejected reason=bad_sig phone=138****8000"),
        ({"sig": "0" * 64}, "identity.login.rejected reason=wrong_sig phone=138****8000"),
        ({"ts": 1}, "identity.login.rejected reason=wrong_sig phone=138****8000"),
    ],
)
def test_each_refusal_logs_its_reason(login, message, make_login, now, caplog):
    caplog.set_level("INFO", logger="actions.identity")
    metadata = make_login()
    metadata["login"].update(login)
    assert check_login(metadata, SECRET, now, CONVERSATION) is None
    assert _reasons(caplog) == [message]


def test_a_well_signed_login_for_a_bad_number_is_refused(now, caplog):
    caplog.set_level("INFO", logger="actions.identity")
    metadata = login_metadata("12345", int(now.timestamp()), CONVERSATION, SECRET)
    assert check_login(metadata, SECRET, now, CONVERSATION) is None
    assert _reasons(caplog) == ["identity.login.rejected reason=bad_phone"]


def test_stale_accepted_and_replayed_log_lines(make_login, now, nonces, caplog):
    caplog.set_level("INFO", logger="actions.identity")
    stale = make_login(age=LOGIN_TTL + timedelta(seconds=1))
    assert check_login(stale, SECRET, now, CONVERSATION) is None
    metadata = make_login()
    assert verify_login(metadata, SECRET, now, CONVERSATION, nonces) == PHONE
    assert verify_login(metadata, SECRET, now, CONVERSATION, nonces) is None
    assert _reasons(caplog) == [
        "identity.login.rejected reason=stale phone=138****8000",
        "identity.login.accepted phone=138****8000",
        "identity.login.rejected reason=replayed phone=138****8000",
    ]
