"""Signed app logins: the app widget passes the logged-in subscriber in message metadata.

    {"login": {"phone": "13800138000", "ts": 1763870000, "sig": "<hex>"}}

sig = hex HMAC-SHA256 over "phone|ts" with ASSISTANT_IDENTITY_SECRET. A login is trusted for
LOGIN_TTL after ts; a ts from the future beyond CLOCK_SKEW is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from telecom import mask

__all__ = ["CLOCK_SKEW", "LOGIN_TTL", "login_metadata", "sign_login", "verify_login"]

log = logging.getLogger(__name__)

LOGIN_TTL = timedelta(minutes=10)
CLOCK_SKEW = timedelta(seconds=30)
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def sign_login(phone: str, ts: int, secret: str) -> str:
    """Hex HMAC-SHA256 of 'phone|ts' (for the app, demos and tests)."""
    message = f"{phone}|{int(ts)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def login_metadata(phone: str, ts: int, secret: str) -> dict:
    """Message metadata as the app sends it."""
    return {"login": {"phone": phone, "ts": int(ts), "sig": sign_login(phone, ts, secret)}}


def verify_login(metadata: Mapping | None, secret: str, now: datetime) -> str | None:
    """The phone number of a valid, fresh signed login in `metadata`, else None.

    `now` is an aware datetime. Bad shapes, wrong signatures and stale logins all give None;
    only the reason and the masked number are logged.
    """
    login = metadata.get("login") if isinstance(metadata, Mapping) else None
    if not isinstance(login, Mapping):
        return None
    phone, ts, sig = login.get("phone"), login.get("ts"), login.get("sig")
    if not isinstance(phone, str) or not _PHONE.match(phone):
        log.info("identity.login.rejected reason=bad_phone")
        return None
    if isinstance(ts, bool) or not isinstance(ts, (int, float, str)):
        log.info("identity.login.rejected reason=bad_ts phone=%s", mask.phone(phone))
        return None
    try:
        ts_int = int(ts)
    except ValueError:
        log.info("identity.login.rejected reason=bad_ts phone=%s", mask.phone(phone))
        return None
    if not isinstance(sig, str) or not _HEX64.match(sig):
        log.info("identity.login.rejected reason=bad_sig phone=%s", mask.phone(phone))
        return None
    expected = sign_login(phone, ts_int, secret)
    if not hmac.compare_digest(expected, sig.lower()):
        log.warning("identity.login.rejected reason=wrong_sig phone=%s", mask.phone(phone))
        return None
    age = now.timestamp() - ts_int
    if age > LOGIN_TTL.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        log.info("identity.login.rejected reason=stale phone=%s", mask.phone(phone))
        return None
    return phone
