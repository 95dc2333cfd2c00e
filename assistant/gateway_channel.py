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

After the replies comes one more element, `{"recipient_id", "custom": {"reading": {...}}}`: the
assistant's reading of the turn for the archive (`turn_reading`: intent, confidence, margin to
the second intent, urgency, entity names, fallback, the last action, the ticket the turn opened,
the number verified in the turn, and `requested_slot`, the slot it now asks for, by which the
gateway's voice channel knows which number to expect). The gateway strips it
(router/gateway/bot.py) and passes it on; it never reaches the customer.
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
    "requested_slot",
    "turn_reading",
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


# -- the reading of a turn (for the archive) -------------------------------------------------
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_clarify"})
_NOT_ACTIONS = frozenset({"action_listen", "action_session_start"})
# what the ticket actions tell the customer when they open one (actions/replies.py,
# actions/ticket_triage.py): "…登记…，工单号 T20261204-000123", or a fault report attached to a
# known outage, "…参考编号 T…"; a repeated issue names its earlier ticket ("联系过我们（工单号")
_TICKET_OPENED = re.compile(r"登记[^。（]{0,12}，工单号\s*(T\d{8}-\d{6})")
_TICKET_ATTACHED = re.compile(r"关联到这次故障[^。]*参考编号\s*(T\d{8}-\d{6})")


def _opened_ticket(texts: list[str]) -> dict[str, Any] | None:
    for text in texts:
        found = _TICKET_OPENED.search(text)
        if found:
            kind = "fault" if "故障" in text else "callback" if "回电" in text else "complaint"
            severity = "major" if "重大问题" in text else None
            return {"id": found.group(1), "kind": kind, "severity": severity}
        found = _TICKET_ATTACHED.search(text)
        if found:
            return {"id": found.group(1), "kind": "fault", "severity": None}
    return None


def turn_reading(events: list[dict[str, Any]], message_id: str | None) -> dict[str, Any] | None:
    """The assistant's reading of a customer turn from the conversation's events (as dicts): the
    last user event (the one with `message_id` when given) and what followed it. Names and
    numbers only (entity names, never values), except `customer`: the number verified in this
    turn, which the archive turns into a keyed pseudonym. None when there is no such turn."""
    start = None
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if event.get("event") == "user" and (
            message_id is None or event.get("message_id") == message_id
        ):
            start = i
            break
    if start is None:
        return None
    parse = events[start].get("parse_data") or {}
    intent = (parse.get("intent") or {}).get("name")
    ranking = [r.get("confidence") or 0.0 for r in parse.get("intent_ranking") or []]
    confidence = (parse.get("intent") or {}).get("confidence")
    confidence = float(confidence) if isinstance(confidence, int | float) else None
    margin = None
    if confidence is not None:
        margin = confidence - (float(ranking[1]) if len(ranking) > 1 else 0.0)
    urgency = parse.get("urgency")
    entities = sorted(
        {e["entity"] for e in parse.get("entities") or [] if isinstance(e.get("entity"), str)}
    )
    actions: list[str] = []
    texts: list[str] = []
    customer = None
    end = len(events)
    for offset, event in enumerate(events[start + 1 :], start=start + 1):
        kind = event.get("event")
        if kind == "user":  # the next turn
            end = offset
            break
        if kind == "action" and event.get("name") not in _NOT_ACTIONS:
            actions.append(str(event.get("name")))
        elif kind == "bot" and isinstance(event.get("text"), str):
            texts.append(event["text"])
        elif kind == "slot" and event.get("name") == "verified_phone" and event.get("value"):
            customer = str(event["value"])
    return {
        "intent": intent,
        "confidence": confidence,
        "margin": margin,
        "urgency": urgency.get("name") if isinstance(urgency, dict) else None,
        "entities": entities,
        "fallback": intent == "nlu_fallback" or any(a in FALLBACK_ACTIONS for a in actions),
        "action": actions[-1] if actions else None,
        "ticket": _opened_ticket(texts) if "action_create_ticket" in actions else None,
        "customer": customer,
        "requested_slot": requested_slot(events[:end]),
    }


def requested_slot(events: list[dict[str, Any]]) -> str | None:
    """The slot the assistant asks for after these events: the last `requested_slot` slot
    event, unless a form ended after it (an active_loop event without a name)."""
    slot = None
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            value = event.get("value")
            slot = value if isinstance(value, str) and value else None
        elif kind == "active_loop" and not event.get("name"):
            slot = None
    return slot


async def read_turn(agent: Any, sender_id: str, message_id: str | None) -> dict[str, Any] | None:
    """`turn_reading` of the conversation as the tracker store now has it (None when it has
    no such turn, or the store cannot be read: the reading is for analytics, the turn stands)."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    try:
        tracker = await store.retrieve(sender_id)
    except Exception as error:  # the customer's turn has been answered: keep the answer
        logger.warning("assistant.gateway_channel.reading_failed %s", type(error).__name__)
        return None
    if tracker is None:
        return None
    return turn_reading([event.as_dict() for event in tracker.events], message_id)


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
            agent = getattr(request.app.ctx, "agent", None)
            reading = await read_turn(agent, turn.sender, turn.message_id)
            if reading is None:
                return response.json(collector.messages)
            extra = {"recipient_id": turn.sender, "custom": {"reading": reading}}
            return response.json([*collector.messages, extra])

        return webhook
