"""Signed app logins: the gateway passes the app's logged-in subscriber in message metadata.

    {"login": {"phone": "13800138000", "ts": 1763870000, "nonce": "<16-64 of A-Za-z0-9_->",
               "sig": "<64 hex>"}}

sig = hex HMAC-SHA256 over "phone|ts|conversation_id|nonce" with ASSISTANT_IDENTITY_SECRET. A
login is accepted once, only in the conversation it was signed for, for at most LOGIN_TTL after
ts (a ts from the future beyond CLOCK_SKEW is refused): its nonce is remembered by the store
until the login expires, and a repeat — in the same conversation or another — is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from telecom import mask

__all__ = [
    "CLOCK_SKEW",
    "LOGIN_TTL",
    "Login",
    "check_login",
    "login_metadata",
    "sign_login",
    "verify_login",
]

log = logging.getLogger(__name__)

LOGIN_TTL = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class NonceStore(Protocol):
    def claim_login_nonce(
        self, nonce: str, conversation: str, now: datetime, expires_at: datetime
    ) -> bool: ...


@dataclass(frozen=True)
class Login:
    phone: str
    nonce: str
    expires_at: datetime


def sign_login(phone: str, ts: int, conversation_id: str, nonce: str, secret: str) -> str:
    """Hex HMAC-SHA256 of 'phone|ts|conversation_id|nonce' (for the app, demos and tests)."""
    message = f"{phone}|{int(ts)}|{conversation_id}|{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def login_metadata(
    phone: str, ts: int, conversation_id: str, secret: str, nonce: str | None = None
) -> dict[str, Any]:
    """Message metadata with a login as the gateway passes it (a fresh nonce unless given)."""
    nonce = nonce or secrets.token_urlsafe(18)
    sig = sign_login(phone, ts, conversation_id, nonce, secret)
    return {"login": {"phone": phone, "ts": int(ts), "nonce": nonce, "sig": sig}}


def check_login(
    metadata: Mapping[str, Any] | None, secret: str, now: datetime, conversation_id: str
) -> Login | None:
    """The login in `metadata` when its shape, signature and age are right, else None (pure:
    whether its nonce was used before is `verify_login`'s part).

    `now` is an aware datetime. Only the reason and the masked number are logged.
    """
    login = metadata.get("login") if isinstance(metadata, Mapping) else None
    if not isinstance(login, Mapping) or not secret:  # no secret (demo mode): no logins
        return None
    phone, ts, nonce, sig = (login.get(k) for k in ("phone", "ts", "nonce", "sig"))
    if not isinstance(phone, str) or not _PHONE.match(phone):
        log.info("identity.login.rejected reason=bad_phone")
        return None
    masked = mask.phone(phone)
    if isinstance(ts, bool) or not isinstance(ts, (int, str)):
        log.info("identity.login.rejected reason=bad_ts phone=%s", masked)
        return None
    try:
        ts_int = int(ts)
    except ValueError:
        log.info("identity.login.rejected reason=bad_ts phone=%s", masked)
        return None
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        log.info("identity.login.rejected reason=bad_nonce phone=%s", masked)
        return None
    if not isinstance(sig, str) or not _HEX64.match(sig):
        log.info("identity.login.rejected reason=bad_sig phone=%s", masked)
        return None
    expected = sign_login(phone, ts_int, str(conversation_id), nonce, secret)
    if not hmac.compare_digest(expected, sig.lower()):
        log.warning("identity.login.rejected reason=wrong_sig phone=%s", masked)
        return None
    age = now.timestamp() - ts_int
    if age > LOGIN_TTL.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        log.info("identity.login.rejected reason=stale phone=%s", masked)
        return None
    expires_at = datetime.fromtimestamp(ts_int, timezone.utc) + LOGIN_TTL
    return Login(phone=phone, nonce=nonce, expires_at=expires_at)


def verify_login(
    metadata: Mapping[str, Any] | None,
    secret: str,
    now: datetime,
    conversation_id: str,
    nonces: NonceStore,
) -> str | None:
    """The phone number of a valid, fresh signed login for this conversation whose nonce has
    not been used before (it is used now), else None."""
    login = check_login(metadata, secret, now, conversation_id)
    if login is None:
        return None
    if not nonces.claim_login_nonce(login.nonce, str(conversation_id), now, login.expires_at):
        log.warning("identity.login.rejected reason=replayed phone=%s", mask.phone(login.phone))
        return None
    log.info("identity.login.accepted phone=%s", mask.phone(login.phone))
    return login.phone
