from __future__ import annotations

from datetime import timedelta

import pytest

from actions.identity import login_metadata, sign_login, verify_login

SECRET = "test-secret"
PHONE = "13800138000"


@pytest.fixture
def make_login(now):
    """create(phone=PHONE, age=timedelta(0), secret=SECRET) → message metadata."""

    def create(phone: str = PHONE, age: timedelta = timedelta(0), secret: str = SECRET) -> dict:
        return login_metadata(phone, int((now - age).timestamp()), secret)

    return create


def test_valid_login(make_login, now):
    assert verify_login(make_login(), SECRET, now) == PHONE
    assert verify_login(make_login(age=timedelta(minutes=9, seconds=59)), SECRET, now) == PHONE


def test_signature_is_hmac_sha256_hex_of_phone_and_ts():
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"13800138000|1763870000", hashlib.sha256).hexdigest()
    assert sign_login("13800138000", 1763870000, "k") == expected


def test_wrong_secret(make_login, now):
    assert verify_login(make_login(secret="other"), SECRET, now) is None


def test_tampered_phone(make_login, now):
    metadata = make_login()
    metadata["login"]["phone"] = "13900139000"
    assert verify_login(metadata, SECRET, now) is None


def test_tampered_signature(make_login, now):
    metadata = make_login()
    sig = metadata["login"]["sig"]
    metadata["login"]["sig"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert verify_login(metadata, SECRET, now) is None


def test_stale_login(make_login, now):
    assert verify_login(make_login(age=timedelta(minutes=10, seconds=1)), SECRET, now) is None


def test_login_from_the_future(make_login, now):
    assert verify_login(make_login(age=-timedelta(minutes=5)), SECRET, now) is None


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {},
        {"login": "13800138000"},
        {"login": {"phone": PHONE}},
        {"login": {"phone": PHONE, "ts": "abc", "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": True, "sig": "0" * 64}},
        {"login": {"phone": "1380013800", "ts": 1, "sig": "0" * 64}},
        {"login": {"phone": PHONE, "ts": 1, "sig": "not-hex"}},
        {"login": {"phone": PHONE, "ts": 1, "sig": None}},
    ],
)
def test_malformed_metadata(metadata, now):
    assert verify_login(metadata, SECRET, now) is None


def test_rejection_log_masks_the_number(make_login, now, caplog):
    caplog.set_level("DEBUG")
    verify_login(make_login(secret="other"), SECRET, now)
    assert PHONE not in caplog.text and "138****8000" in caplog.text
