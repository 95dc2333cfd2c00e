"""The router's client of the ticket service (the action server's `/v1/*` routes, docs/contracts.md
"K"): one httpx.AsyncClient per process with the tickets token, and the one mapping of the
service's answers to router errors (router/errors.py), a pure function (`error_of`).

The service's errors are JSON {"error": <code>, "detail": <English text>}: 404 → TicketsNotFound
and 409 → TicketRefused with its code, 422 → TicketInvalid; a 401 (the router's token refused),
a 5xx, a timeout or a refused connection → TicketsUnavailable (503). Bodies and answers are never
logged: they carry customers' text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from router import errors

log = logging.getLogger(__name__)

_CODE = re.compile(r"^[a-z_]{1,40}$")
DEFAULT_TIMEOUT_S = 10.0


def _code(body: Any, default: str) -> str:
    """The service's error code when it is one (a short snake_case word), else `default`."""
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and _CODE.match(code) else default


def error_of(status: int, body: Any) -> errors.RouterError | None:
    """The router error of one answer of the ticket service (None for a 2xx)."""
    if 200 <= status < 300:
        return None
    if status == 404:
        return errors.TicketsNotFound(_code(body, "not_found"))
    if status == 409:
        return errors.TicketRefused(_code(body, "conflict"))
    if status == 422:
        return errors.TicketInvalid()
    if status == 400:
        return errors.TicketInvalid()
    return errors.TicketsUnavailable()


class TicketsClient:
    """Calls of the ticket service; every method returns its JSON or raises a router error."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str | int] | None = None,
    ) -> dict[str, Any]:
        try:
            reply = await self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            log.warning("router.tickets.unreachable error=%s path=%s", type(exc).__name__, path)
            raise errors.TicketsUnavailable() from None
        try:
            body: Any = reply.json()
        except ValueError:
            body = None
        error = error_of(reply.status_code, body)
        if error is not None:
            if isinstance(error, errors.TicketsUnavailable):
                log.error("router.tickets.failed status=%d method=%s", reply.status_code, method)
            raise error
        if not isinstance(body, dict):
            log.error("router.tickets.bad_answer status=%d method=%s", reply.status_code, method)
            raise errors.TicketsUnavailable()
        return body

    # -- tickets --------------------------------------------------------------------------------
    async def team_queue(self, team: str) -> dict[str, Any]:
        return await self.call("GET", "/v1/tickets", params={"team": team})

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        return await self.call("GET", f"/v1/tickets/{ticket_id}")

    async def step(self, ticket_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"/v1/tickets/{ticket_id}/steps", json=body)

    async def watch(self) -> dict[str, Any]:
        return await self.call("POST", "/v1/tickets/watch", json={})

    async def alerts(self, since: int, limit: int) -> dict[str, Any]:
        return await self.call("GET", "/v1/alerts", params={"since": since, "limit": limit})

    async def summary(self) -> dict[str, Any]:
        return await self.call("GET", "/v1/tickets-summary")

    # -- notices --------------------------------------------------------------------------------
    async def notices(self, limit: int) -> dict[str, Any]:
        return await self.call("GET", "/v1/notices", params={"limit": limit})

    async def delivered(self, notice_id: int) -> dict[str, Any]:
        return await self.call(
            "POST", f"/v1/notices/{notice_id}/delivered", json={"via": "conversation"}
        )

    async def sms(self, notice_id: int, link: str | None) -> dict[str, Any]:
        body = {"link": link} if link is not None else {}
        return await self.call("POST", f"/v1/notices/{notice_id}/sms", json=body)

    # -- the customer's follow-up ---------------------------------------------------------------
    async def feedback(self, token: str) -> dict[str, Any]:
        return await self.call("GET", f"/v1/feedback/{token}")

    async def answer_feedback(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "/v1/feedback", json=body)

    # -- outages --------------------------------------------------------------------------------
    async def outages(self, status: str) -> dict[str, Any]:
        return await self.call("GET", "/v1/outages", params={"status": status})

    async def declare_outage(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "/v1/outages", json=body)

    async def update_outage(self, outage_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PATCH", f"/v1/outages/{outage_id}", json=body)

    async def close_outage(self, outage_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"/v1/outages/{outage_id}/close", json=body)
