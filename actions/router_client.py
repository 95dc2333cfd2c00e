"""The router's handoff API, as the action server calls it: I/O only, async (aiohttp).

    router = RouterClient(settings.router_url, settings.service_token)
    created = await router.create_handoff(payload)   # payload: actions.handoff.build_handoff
    # created: {"handoff_id", "status", "queue_position", "estimated_wait_s"}
    await router.cancel_handoff(created["handoff_id"])

Every failure is a `HandoffError` carrying the HTTP status (0 when the router did not answer);
what to tell the customer is the action's business. A handoff is made at most a few times per
conversation, so each call opens its own session: nothing is left open between requests or at
shutdown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

__all__ = ["HandoffError", "RouterClient"]

DEFAULT_TIMEOUT_S = 5.0


class HandoffError(RuntimeError):
    """The router refused or could not be reached. `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RouterClient:
    """POST and DELETE /v1/handoffs with the service token (architecture: the routing contract)."""

    base_url: str
    token: str | None = field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def create_handoff(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/handoffs → {"handoff_id", "status", "queue_position", "estimated_wait_s"};
        the same reply again while the conversation's handoff is active."""
        reply = await self._call("POST", "/v1/handoffs", payload)
        if not isinstance(reply, dict) or "handoff_id" not in reply:
            raise HandoffError("router reply without handoff_id")
        return reply

    async def cancel_handoff(self, handoff_id: str) -> bool:
        """DELETE /v1/handoffs/{id}: True when cancelled, False when it no longer exists (404)."""
        try:
            await self._call("DELETE", "/v1/handoffs/" + quote(handoff_id, safe=""))
        except HandoffError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = URL(self.base_url.rstrip("/") + path, encoded=True)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, url, data=data, headers=headers) as response,
            ):
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise HandoffError(f"router unreachable: {type(exc).__name__}") from None
        if status >= 400:
            raise HandoffError(f"router answered {status} to {method}", status)
        return json.loads(raw) if raw else None
