"""The Rasa input channel the router's gateway posts customer turns to.

credentials.yml names it (`assistant.gateway_channel.GatewayInput`, token `${ASSISTANT_RASA_TOKEN}`,
interpolated by Rasa from the environment); it answers at

    POST /webhooks/gateway/webhook
    Authorization: Bearer <ASSISTANT_RASA_TOKEN>
    {"sender": conversation_id, "message": text, "metadata": {...}}

with Rasa's replies as a JSON list, like Rasa's REST channel. Without the token: 401. A
missing, short or published token stops Rasa at start-up (telecom.secrets.check_secret) unless
ASSISTANT_DEMO_MODE is true.

Only the metadata shape of the gateway contract reaches the dialogue (`allowed_metadata`):
`channel`, `client` and a well-formed signed `login`; anything else is dropped. The gateway
builds that shape itself; this is the second line, for anything that reaches Rasa otherwise.

The route is written here instead of reusing RestInput's: Rasa's logs the customer's text when
a turn fails and lets the caller pick the input channel's name.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput

from telecom.secrets import check_secret, problem

__all__ = ["GatewayInput", "Turn", "allowed_metadata", "bearer_token", "parse_turn"]

logger = logging.getLogger(__name__)

_CHANNEL = re.compile(r"[a-z]{1,16}")
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the pseudonymous client key, a login's nonce
_SENDER = re.compile(r"[A-Za-z0-9_-]{8,128}")
_PHONE = re.compile(r"1[0-9]{10}")
_SIG = re.compile(r"[0-9a-fA-F]{64}")


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _login(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    phone, ts, nonce, sig = (value.get(k) for k in ("phone", "ts", "nonce", "sig"))
    if not (_matches(_PHONE, phone) and _matches(_KEY, nonce) and _matches(_SIG, sig)):
        return None
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        return None
    return {"phone": phone, "ts": ts, "nonce": nonce, "sig": sig}


def allowed_metadata(metadata: Any) -> dict[str, Any]:
    """The part of `metadata` the gateway contract allows: channel ("web", "app", "voice", …),
    client (16-64 of [A-Za-z0-9_-]) and login ({phone, ts, nonce, sig}), each only when well
    formed; every other key, and every extra key inside login, is dropped."""
    if not isinstance(metadata, Mapping):
        return {}
    allowed: dict[str, Any] = {}
    if _matches(_CHANNEL, metadata.get("channel")):
        allowed["channel"] = metadata["channel"]
    if _matches(_KEY, metadata.get("client")):
        allowed["client"] = metadata["client"]
    login = _login(metadata.get("login"))
    if login is not None:
        allowed["login"] = login
    return allowed


@dataclass(frozen=True)
class Turn:
    sender: str
    text: str
    metadata: dict[str, Any]


def parse_turn(body: Any) -> Turn | None:
    """The customer turn in a request body, or None when the body is not one."""
    if not isinstance(body, Mapping):
        return None
    sender, text = body.get("sender"), body.get("message")
    if not _matches(_SENDER, sender) or not isinstance(text, str):
        return None
    return Turn(sender=sender, text=text, metadata=allowed_metadata(body.get("metadata")))


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def token_matches(provided: str | None, token: str) -> bool:
    """Constant-time comparison; an empty server token matches nothing."""
    return (
        bool(token)
        and provided is not None
        and hmac.compare_digest(provided.encode(), token.encode())
    )


def _demo_mode() -> bool:
    value = os.environ.get("ASSISTANT_DEMO_MODE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


class GatewayInput(RestInput):
    """POST /webhooks/gateway/webhook, for the gateway only (see the module's docstring)."""

    def __init__(self, token: str) -> None:
        self.token = token

    @classmethod
    def name(cls) -> str:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GatewayInput:
        token = (credentials or {}).get("token")
        token = token if isinstance(token, str) else None
        check_secret("ASSISTANT_RASA_TOKEN", token, demo_mode=_demo_mode())  # raises when bad
        reason = problem(token)
        if reason is not None:
            logger.warning("assistant.gateway_channel.demo_mode ASSISTANT_RASA_TOKEN is %s", reason)
        return cls(token or "")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Any:
        from sanic import Blueprint, response

        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Any) -> Any:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Any) -> Any:
            if not token_matches(bearer_token(request.headers.get("Authorization")), self.token):
                return response.json(
                    {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            turn = parse_turn(request.json)
            if turn is None:
                return response.json({"error": "expected sender, message, metadata"}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(
                turn.text,
                collector,
                turn.sender,
                input_channel=self.name(),
                metadata=turn.metadata,
            )
            try:
                await on_new_message(message)
            except Exception as error:  # the customer's text stays out of the log
                logger.error("assistant.gateway_channel.turn_failed %s", type(error).__name__)
                return response.json({"error": "internal error"}, status=500)
            return response.json(collector.messages)

        return webhook
