"""Feedback tokens: the key of a ticket's satisfaction page, sent in its follow-up question.

A token is "<ticket_id>.<first 22 characters of the urlsafe base64 HMAC-SHA256 of
'ticket-feedback:' + ticket_id under ASSISTANT_IDENTITY_SECRET>": whoever holds it may read the
ticket's result and answer the question, nothing else. Pure; compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["MAC_LENGTH", "feedback_token", "ticket_of_token"]

MAC_LENGTH = 22
_PURPOSE = "ticket-feedback:"
_TOKEN = re.compile(r"(T\d{8}-\d{6})\.([A-Za-z0-9_-]{22})")


def _mac(secret: str, ticket_id: str) -> str:
    digest = hmac.new(secret.encode(), (_PURPOSE + ticket_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_LENGTH]


def feedback_token(secret: str, ticket_id: str) -> str:
    """The token of `ticket_id`'s feedback page."""
    if not secret:
        raise ValueError("the identity secret is missing")
    return f"{ticket_id}.{_mac(secret, ticket_id)}"


def ticket_of_token(secret: str, token: object) -> str | None:
    """The ticket id `token` was made for, or None when it is not a token of `secret`."""
    if not secret or not isinstance(token, str):
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    ticket_id, mac = match.groups()
    return ticket_id if hmac.compare_digest(mac, _mac(secret, ticket_id)) else None
