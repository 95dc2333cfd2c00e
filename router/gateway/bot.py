"""The assistant as the gateway sees it: an interface, and Rasa's gateway channel behind it."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from router.gateway.instances import Health, Outcome, classify, parse_urls, rank
from router.gateway.models import Button
from router.logs import short_hash

log = logging.getLogger(__name__)


class BotReply:
    __slots__ = ("buttons", "text")

    def __init__(self, text: str = "", buttons: list[Button] | None = None) -> None:
        self.text = text
        self.buttons = buttons or []

    def __repr__(self) -> str:
        return f"BotReply(chars={len(self.text)}, buttons={len(self.buttons)})"


class Replies(list[BotReply]):
    """The assistant's replies to one turn, and its reading of the turn (`reading`: intent,
    confidence, margin, urgency, entities, fallback, action, ticket…; None when it sent none),
    which the gateway passes to the archive and never shows."""

    reading: dict[str, Any] | None = None


def reading_of(replies: list[BotReply]) -> dict[str, Any] | None:
    """The reading that came with `replies` (a plain list, e.g. a test's bot: None)."""
    reading = getattr(replies, "reading", None)
    return reading if isinstance(reading, dict) else None


@dataclass(frozen=True)
class Parse:
    """The assistant's NLU reading of a text (its /model/parse): the top intent, its
    confidence, and the entities (name and value)."""

    intent: str | None
    confidence: float
    entities: tuple[tuple[str, str], ...] = ()


def parse_of(body: Any) -> Parse | None:
    """A Parse of Rasa's /model/parse answer; None when it is not one."""
    if not isinstance(body, dict):
        return None
    intent = body.get("intent")
    if not isinstance(intent, dict):
        return None
    name = intent.get("name")
    confidence = intent.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        confidence = 0.0
    entities = tuple(
        (str(e.get("entity")), str(e.get("value")))
        for e in body.get("entities") or []
        if isinstance(e, dict) and isinstance(e.get("entity"), str)
    )
    return Parse(name if isinstance(name, str) else None, float(confidence), entities)


class BotUnavailable(Exception):
    """The assistant did not answer (down, timed out, or answered with an error)."""


class BotClient(Protocol):
    async def send(
        self,
        conversation_id: str,
        message: str,
        channel: str,
        metadata: dict[str, Any],
        *,
        message_id: str,
    ) -> list[BotReply]:
        """The assistant's replies to one customer turn. `message_id` ([A-Za-z0-9_-]{8,64}) is
        made once per turn by the caller: a turn sent again with it is not run twice."""
        ...

    async def urgency(self, text: str) -> str | None:
        """The urgency the assistant reads in `text` (low … critical), None when unknown."""
        ...

    async def parse(self, text: str) -> Parse | None:
        """The assistant's NLU reading of `text` (no turn: the conversation is not touched),
        None when unknown."""
        ...

    async def aclose(self) -> None: ...


def parse_replies(body: Any) -> Replies:
    """Rasa's list of {"recipient_id", "text", "buttons": [{"title","payload"}], "custom"…};
    the element {"custom": {"reading": {...}}} the assistant's gateway channel adds is the
    reading, not a reply (assistant/gateway_channel.py)."""
    out = Replies()
    if not isinstance(body, list):
        return out
    for item in body:
        if not isinstance(item, dict):
            continue
        custom = item.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("reading"), dict):
            out.reading = custom["reading"]
            continue
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        raw_buttons = item.get("buttons") or []
        custom = item.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("quick_replies"), list):
            raw_buttons = [*raw_buttons, *custom["quick_replies"]]
        buttons = [
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", b.get("title", ""))))
            for b in raw_buttons
            if isinstance(b, dict) and b.get("title")
        ]
        if text or buttons:
            out.append(BotReply(text or "", buttons))
    return out


class RasaRestBot:
    """The assistant's gateway channel on one or more Rasa instances: POST
    {instance}/webhooks/gateway/webhook with `Authorization: Bearer <ROUTER_RASA_TOKEN>` and
    {"sender": conversation id, "message", "metadata", "message_id"}; its HTTP API (/model/parse)
    with `?token=` (Rasa's --auth-token).

    A conversation goes to its own instance (instances.rank) while that one is healthy. No answer,
    a timeout or a 502/503/504 marks the instance down for `cooldown_s` (then one request probes
    it) and the same turn goes at once to the conversation's next instance with the same
    message_id (the assistant answers a repeated message_id from its tracker instead of running
    the turn again).
    When every instance fails, BotUnavailable.

    A 401 or 403 from Rasa is a misconfiguration (the token differs from Rasa's), logged as an
    error every time, not a quiet outage and not a failover: turns fail as BotUnavailable,
    re-prioritisation stops. Any other 4xx is not retried either.
    """

    def __init__(
        self,
        rasa_urls: str | Sequence[str],
        token: str,
        timeout_s: float = 30.0,
        cooldown_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token
        urls = rasa_urls if isinstance(rasa_urls, str) else ",".join(rasa_urls)
        self.instances = parse_urls(urls)
        self.health = Health(self.instances, cooldown_s, clock)
        self._clients = {
            instance: httpx.AsyncClient(
                base_url=instance,
                timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                transport=transport,
            )
            for instance in self.instances
        }
        self._parses = itertools.count()

    def __repr__(self) -> str:
        return f"RasaRestBot({', '.join(self.instances)})"  # never the token

    async def send(
        self,
        conversation_id: str,
        message: str,
        channel: str,
        metadata: dict[str, Any],
        *,
        message_id: str,
    ) -> list[BotReply]:
        """`metadata` is what the gateway built (its allow-list); the channel is added.
        `message_id` names the customer's turn: the same on every instance the turn is tried."""
        body = {
            "sender": conversation_id,
            "message": message,
            "metadata": {**metadata, "channel": channel},
            "message_id": message_id,
        }
        conversation = short_hash(conversation_id)
        response = await self._post(
            conversation_id,
            WEBHOOK,
            conversation,
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if response is None:  # every instance failed the turn or is in its cool-down
            log.warning("gateway.bot.unavailable conversation=%s", conversation)
            raise BotUnavailable()
        if response.status_code in REFUSED:
            _log_refused(WEBHOOK, response.status_code)
            raise BotUnavailable()
        if response.status_code != 200:
            log.warning(
                "gateway.bot.error conversation=%s status=%d", conversation, response.status_code
            )
            raise BotUnavailable()
        try:
            return parse_replies(response.json())
        except ValueError:
            log.warning("gateway.bot.bad_reply conversation=%s", conversation)
            raise BotUnavailable() from None

    async def urgency(self, text: str) -> str | None:
        """POST {instance}/model/parse?token=… (the HTTP API) on any healthy instance, taken in
        turn: the parse result's urgency name."""
        body = await self._parse_body(text)
        urgency = body.get("urgency") if isinstance(body, dict) else None
        name = urgency.get("name") if isinstance(urgency, dict) else None
        return name if isinstance(name, str) else None

    async def parse(self, text: str) -> Parse | None:
        """The same /model/parse: intent, confidence and entities (parse_of)."""
        return parse_of(await self._parse_body(text))

    async def _parse_body(self, text: str) -> Any:
        """The JSON body of /model/parse for `text`, None when no instance answered it."""
        response = await self._post(
            str(next(self._parses)), PARSE, "-", params={"token": self._token}, json={"text": text}
        )
        if response is None:
            return None
        if response.status_code in REFUSED:
            _log_refused(PARSE, response.status_code)
            return None
        try:
            return response.json() if response.status_code == 200 else None
        except ValueError:
            return None

    async def _post(
        self, key: str, path: str, conversation: str, **request: Any
    ) -> httpx.Response | None:
        """POST to the instances in `key`'s ranking that may be used now, until one answers
        (any status but 502/503/504); None when none did."""
        for instance in rank(key, self.instances):
            probing = not self.health.up(instance)
            if not self.health.claim(instance):
                continue
            if probing and not await self._ready(instance, conversation):
                continue
            try:
                response = await self._clients[instance].post(path, **request)
            except httpx.HTTPError as exc:
                self._failed(instance, path, conversation, type(exc).__name__)
                continue
            except BaseException:  # cancelled: no outcome, the next request may probe it
                self.health.release(instance)
                raise
            if classify(response.status_code) is Outcome.FAILOVER:
                self._failed(instance, path, conversation, f"status_{response.status_code}")
                continue
            if self.health.succeeded(instance):
                log.info("gateway.bot.instance_up instance=%s", instance)
            return response
        return None

    async def _ready(self, instance: str, conversation: str) -> bool:
        """Before a down instance gets a customer's turn again: does its channel say the model is
        loaded (GET /webhooks/gateway/ → 200), within PROBE_TIMEOUT_S? A restarted Rasa listens
        while it loads its model and answers nothing until it is done; a turn sent then would
        wait for the load. Not ready: still down for another cool-down."""
        try:
            response = await self._clients[instance].get(READY, timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError as exc:
            self._failed(instance, READY, conversation, type(exc).__name__)
            return False
        except BaseException:
            self.health.release(instance)
            raise
        if response.status_code != 200:
            self._failed(instance, READY, conversation, f"status_{response.status_code}")
            return False
        return True

    def _failed(self, instance: str, path: str, conversation: str, reason: str) -> None:
        log.warning(
            "gateway.bot.attempt_failed instance=%s path=%s conversation=%s error=%s",
            instance,
            path,
            conversation,
            reason,
        )
        if self.health.failed(instance):
            log.warning(
                "gateway.bot.instance_down instance=%s reason=%s cooldown_s=%g",
                instance,
                reason,
                self.health.cooldown_s,
            )

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


WEBHOOK = "/webhooks/gateway/webhook"
READY = "/webhooks/gateway/"  # the channel's readiness: 200 once the model is loaded
PROBE_TIMEOUT_S = 2.0
PARSE = "/model/parse"
REFUSED = (401, 403)


def _log_refused(path: str, status: int) -> None:
    log.error(
        "gateway.bot.refused path=%s status=%d: Rasa refused the gateway's token; "
        "ROUTER_RASA_TOKEN must equal the assistant's ASSISTANT_RASA_TOKEN (Rasa --auth-token)",
        path,
        status,
    )


class InstanceCollector(Collector):
    """/metrics: each assistant instance's health as this router process sees it."""

    def __init__(self, bot: RasaRestBot) -> None:
        self.bot = bot

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "gateway_bot_instance_up",
            "1 while the assistant instance answers this router process, 0 from a failed "
            "attempt until a probe after its cool-down is answered",
            labels=["instance"],
        )
        failures = CounterMetricFamily(
            "gateway_bot_instance_failures",
            "Attempts on the assistant instance that got no answer, a timeout or a 502/503/504",
            labels=["instance"],
        )
        for instance in self.bot.instances:
            up.add_metric([instance], 1.0 if self.bot.health.up(instance) else 0.0)
            failures.add_metric([instance], self.bot.health.failures(instance))
        yield up
        yield failures
