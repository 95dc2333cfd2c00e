"""The assistant as the gateway sees it: an interface, and Rasa's gateway channel behind it."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

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


class BotUnavailable(Exception):
    """The assistant did not answer (down, timed out, or answered with an error)."""


class BotClient(Protocol):
    async def send(
        self, conversation_id: str, message: str, channel: str, metadata: dict[str, Any]
    ) -> list[BotReply]: ...

    async def urgency(self, text: str) -> str | None:
        """The urgency the assistant reads in `text` (low … critical), None when unknown."""
        ...

    async def aclose(self) -> None: ...


def parse_replies(body: Any) -> list[BotReply]:
    """Rasa's list of {"recipient_id", "text", "buttons": [{"title","payload"}], "custom"…}."""
    out: list[BotReply] = []
    if not isinstance(body, list):
        return out
    for item in body:
        if not isinstance(item, dict):
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
    """The assistant's gateway channel: POST {rasa_url}/webhooks/gateway/webhook with
    `Authorization: Bearer <ROUTER_RASA_TOKEN>` and {"sender": conversation id, "message",
    "metadata"}; its HTTP API (/model/parse) with `?token=` (Rasa's --auth-token).

    A 401 or 403 from Rasa is a misconfiguration (the token differs from Rasa's), logged as an
    error every time, not a quiet outage: turns fail as BotUnavailable, re-prioritisation stops.
    """

    def __init__(
        self,
        rasa_url: str,
        token: str,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._client = httpx.AsyncClient(
            base_url=rasa_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"RasaRestBot({self._client.base_url})"  # never the token

    async def send(
        self, conversation_id: str, message: str, channel: str, metadata: dict[str, Any]
    ) -> list[BotReply]:
        """`metadata` is what the gateway built (its allow-list); the channel is added."""
        body = {
            "sender": conversation_id,
            "message": message,
            "metadata": {**metadata, "channel": channel},
        }
        conversation = short_hash(conversation_id)
        try:
            response = await self._client.post(
                WEBHOOK, json=body, headers={"Authorization": f"Bearer {self._token}"}
            )
        except httpx.HTTPError as exc:
            log.warning(
                "gateway.bot.unreachable conversation=%s error=%s",
                conversation,
                type(exc).__name__,
            )
            raise BotUnavailable() from None
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
        """POST {rasa_url}/model/parse?token=… (the HTTP API): the parse result's urgency name."""
        try:
            response = await self._client.post(
                PARSE, params={"token": self._token}, json={"text": text}
            )
            if response.status_code in REFUSED:
                _log_refused(PARSE, response.status_code)
                return None
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        urgency = body.get("urgency") if isinstance(body, dict) else None
        name = urgency.get("name") if isinstance(urgency, dict) else None
        return name if isinstance(name, str) else None

    async def aclose(self) -> None:
        await self._client.aclose()


WEBHOOK = "/webhooks/gateway/webhook"
PARSE = "/model/parse"
REFUSED = (401, 403)


def _log_refused(path: str, status: int) -> None:
    log.error(
        "gateway.bot.refused path=%s status=%d: Rasa refused the gateway's token; "
        "ROUTER_RASA_TOKEN must equal the assistant's ASSISTANT_RASA_TOKEN (Rasa --auth-token)",
        path,
        status,
    )
