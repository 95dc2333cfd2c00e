"""The Rasa input channel the router's gateway posts customer turns to.

credentials.yml names it (`assistant.gateway_channel.GatewayInput`, token `${ASSISTANT_RASA_TOKEN}`,
interpolated by Rasa from the environment); it answers at

    POST /webhooks/gateway/webhook
    Authorization: Bearer <ASSISTANT_RASA_TOKEN>
    {"sender": conversation_id, "message": text, "metadata": {...}, "message_id": id}

with Rasa's replies as a JSON list, like Rasa's REST channel. Without the token: 401. A
missing, short or published token stops Rasa at start-up (telecom.secrets.check_secret) unless
ASSISTANT_DEMO_MODE is true.

`message_id` (optional, 8-64 of [A-Za-z0-9_-]) names the customer turn: the gateway makes one
per turn and sends it unchanged when it retries the turn, on this instance or another. The turn
runs under the conversation's lock, as Rasa's `Agent.handle_message` runs it; when the
conversation already holds a customer message with that id, the bot replies recorded after it
are sent again instead (`handle_once`): a retried turn is answered once, not run twice.

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
from rasa.core.lock_store import LockError
from rasa.shared.core.events import Event

from assistant.tracker_store import replies_after
from telecom.secrets import check_secret, problem

__all__ = [
    "GatewayInput",
    "Turn",
    "allowed_metadata",
    "bearer_token",
    "handle_once",
    "parse_turn",
    "recorded_replies",
]

logger = logging.getLogger(__name__)

_CHANNEL = re.compile(r"[a-z]{1,16}")
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the pseudonymous client key, a login's nonce
_SENDER = re.compile(r"[A-Za-z0-9_-]{8,128}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
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
    message_id: str | None = None


def parse_turn(body: Any) -> Turn | None:
    """The customer turn in a request body, or None when the body is not one (a message_id, when
    given, must be well formed)."""
    if not isinstance(body, Mapping):
        return None
    sender, text, message_id = body.get("sender"), body.get("message"), body.get("message_id")
    if not _matches(_SENDER, sender) or not isinstance(text, str):
        return None
    if message_id is not None and not _matches(_MESSAGE_ID, message_id):
        return None
    metadata = allowed_metadata(body.get("metadata"))
    return Turn(sender=sender, text=text, metadata=metadata, message_id=message_id)


FAILURES = {500: "internal error", 503: "conversation busy, retry"}


def failure_status(error: Exception) -> int:
    """503 when this instance could not take the conversation's lock in time (the gateway retries
    the turn, on this or another instance, with the same message_id); 500 when the turn itself
    failed (it would fail on every instance: the gateway does not retry it)."""
    return 503 if isinstance(error, LockError) else 500


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


async def recorded_replies(
    tracker_store: Any, sender_id: str, message_id: str
) -> list[dict[str, Any]] | None:
    """The bot events recorded after the customer message `message_id` of a conversation (None:
    no such message). Asks the assistant's stores (assistant.tracker_store), which look without
    building the tracker — and so leave its kept replays to the turn — else reads the tracker."""
    store = tracker_store
    while not hasattr(store, "recorded_replies") and hasattr(store, "_tracker_store"):
        store = store._tracker_store  # Rasa wraps the agent's store (FailSafeTrackerStore)
    if hasattr(store, "recorded_replies"):
        replies: list[dict[str, Any]] | None = await store.recorded_replies(sender_id, message_id)
        return replies
    tracker = await tracker_store.retrieve(sender_id)
    events = [] if tracker is None else [event.as_dict() for event in tracker.events]
    return replies_after(events, message_id)


async def handle_once(agent: Any, message: UserMessage) -> None:
    """Rasa's `Agent.handle_message` for a message with an id given by the gateway: under the
    conversation's lock (the agent's lock store, shared by the instances), a message already
    recorded gets the replies recorded after it, sent again; any other runs as a turn."""
    if not agent.is_ready():
        logger.info("assistant.gateway_channel.no_agent")
        return
    async with agent.lock_store.lock(message.sender_id):
        replies = await recorded_replies(agent.tracker_store, message.sender_id, message.message_id)
        if replies is None:
            await agent.processor.handle_message(message)
            return
        logger.info("assistant.gateway_channel.retried_turn replies=%d", len(replies))
        for reply in replies:
            bot = Event.from_parameters(reply)
            await message.output_channel.send_response(message.sender_id, bot.message())


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
            """Readiness: 200 once this instance's model is loaded, 503 before (the gateway
            sends a restarted instance no turn until then)."""
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "loading"}, status=503)
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Any) -> Any:
            if not token_matches(bearer_token(request.headers.get("Authorization")), self.token):
                return response.json(
                    {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            turn = parse_turn(request.json)
            if turn is None:
                return response.json(
                    {"error": "expected sender, message, metadata, message_id"}, status=400
                )
            collector = CollectingOutputChannel()
            message = UserMessage(
                turn.text,
                collector,
                turn.sender,
                input_channel=self.name(),
                message_id=turn.message_id,
                metadata=turn.metadata,
            )
            try:
                if turn.message_id is None:
                    await on_new_message(message)
                else:
                    await handle_once(request.app.ctx.agent, message)
            except Exception as error:  # the customer's text stays out of the log
                status = failure_status(error)
                logger.error("assistant.gateway_channel.turn_failed %s", type(error).__name__)
                return response.json({"error": FAILURES[status]}, status=status)
            return response.json(collector.messages)

        return webhook
