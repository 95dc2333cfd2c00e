"""The ticket watcher: a background task of every router process (its lifespan, router/tickets/
api.py `install`) that, every ROUTER_TICKET_WATCH_S, in one router process at a time:

1. asks the ticket service to watch its deadlines (POST /v1/tickets/watch: warnings, breaches,
   pages, follow-up questions due, at the service's clock);
2. forwards the alerts it has not forwarded yet (GET /v1/alerts?since=<cursor>): one archive feed
   entry `ticket_step` each and router_ticket_alerts_total{kind}; the cursor moves in the same
   Redis transaction as the feed entry (WATCHed), so an alert is forwarded once, whichever
   process or tick sees it;
3. delivers the pending notices (GET /v1/notices): into the customer's conversation while it is
   open (router/tickets/delivery.py: a `system` message appended and pushed live like the
   gateway's others), else by SMS through the service.

"One at a time": a period key (SET NX PX, the period) lets one process tick per period, and a
lock (redis-py's Lock, with a timeout) keeps two ticks from overlapping — an admin's forced tick
(POST /v1/tickets/watch on the router) waits for it. A notice appended to a conversation is
remembered (its seq, under keys.tickets_notice) before the service is told: a crash between the
two does not append it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import LockError, WatchError
from redis.typing import EncodableT, FieldT

from router import errors
from router.gateway.store import ConversationStore, system_message
from router.keys import Keys
from router.metrics import Metrics
from router.settings import Settings
from router.tickets import delivery
from router.tickets.client import TicketsClient
from telecom.tickets import actor_role

log = logging.getLogger(__name__)

LOCK_S = 120.0  # a tick holds the lock at most this long (then another may take it)
LOCK_WAIT_S = 60.0  # a forced tick waits this long for a running one
ALERTS_PAGE = 500
NOTICES_PAGE = 200


def feed_fields(
    ticket_id: str,
    step: str,
    actor: str,
    *,
    team: str = "",
    state: str = "",
    window: str = "",
    severity: str = "",
    rating: str = "",
) -> dict[str, str]:
    """The fields of one `ticket_step` entry of the archive's feed (docs/contracts.md "R"):
    `step` is the step's name or the alert's kind (warning, breach, page), `actor` an actor
    string (agent:<id>, supervisor:<id>, system, customer) of which only the role is kept."""
    return {
        "ticket_id": ticket_id,
        "step": step,
        "actor_role": actor_role(actor) if actor else "",
        "team": team,
        "state": state,
        "window": window,
        "severity": severity,
        "rating": rating,
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def step_entry(ticket: dict[str, Any], step: str, actor: str, **extra: str) -> dict[str, str]:
    """feed_fields of a step taken on `ticket` (a TicketView after the step)."""
    return feed_fields(
        _text(ticket.get("id")), step, actor,
        team=_text(ticket.get("team")), state=_text(ticket.get("state")),
        severity=_text(ticket.get("severity")), **extra,
    )  # fmt: skip


@dataclass
class TicketService:
    """The service loop of one router process: the client of the ticket service, the router's
    Redis (locks, cursor, markers), the gateway's conversations (messages, feed)."""

    client: TicketsClient
    redis: aioredis.Redis
    keys: Keys
    settings: Settings
    metrics: Metrics
    conversations: ConversationStore
    clock: Callable[[], int]
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- the archive's feed --------------------------------------------------------------------
    async def feed_step(self, conversation_id: str, fields: dict[str, str]) -> None:
        """One `ticket_step` entry (a step taken through the router), and its counter."""
        await self.conversations.feed("ticket_step", conversation_id, self.clock(), **fields)
        self.metrics.ticket_steps.labels(fields["step"]).inc()

    def _entry(self, conversation_id: str, fields: dict[str, str]) -> dict[FieldT, EncodableT]:
        """The feed entry ConversationStore.feed writes, for a transaction of our own."""
        entry: dict[FieldT, EncodableT] = {"kind": "ticket_step", "conversation": conversation_id}
        entry["ts"] = str(self.clock())
        entry.update(fields.items())
        return entry

    # -- a tick --------------------------------------------------------------------------------
    async def tick(self, *, forced: bool = False) -> dict[str, Any] | None:
        """One tick (the module's steps); None when another process has this period's tick or
        holds the lock (never for a forced tick: it waits, then 503 when it cannot)."""
        if not forced:
            period_ms = max(1, round(self.settings.ticket_watch_s * 800))
            if not await self.redis.set(self.keys.tickets_period(), "1", nx=True, px=period_ms):
                return None
        lock = self.redis.lock(
            self.keys.tickets_lock(), timeout=LOCK_S, thread_local=False,
            blocking=forced, blocking_timeout=LOCK_WAIT_S,
        )  # fmt: skip
        if not await lock.acquire():
            if forced:
                raise errors.Unavailable("a ticket watcher tick is still running")
            return None
        try:
            watched = await self.client.watch()
            forwarded = await self.forward_alerts()
            delivered = await self.deliver_notices()
        finally:
            with contextlib.suppress(LockError):
                await lock.release()
        return {
            "now": watched.get("now"),
            "alerts": watched.get("alerts", []),
            "forwarded": len(forwarded),
            "delivered": delivered,
        }

    # -- alerts --------------------------------------------------------------------------------
    async def forward_alerts(self) -> list[dict[str, Any]]:
        """Forward every alert after the cursor, oldest first; the ones this call forwarded."""
        forwarded: list[dict[str, Any]] = []
        cursor = await self._cursor()
        while True:
            page = (await self.client.alerts(cursor, ALERTS_PAGE)).get("alerts") or []
            alerts = sorted((a for a in page if isinstance(a, dict)), key=lambda a: int(a["id"]))
            for alert in alerts:
                if int(alert["id"]) > cursor and await self._forward(alert):
                    forwarded.append(alert)
                cursor = max(cursor, int(alert["id"]))
            if len(page) < ALERTS_PAGE:
                return forwarded
            cursor = max(cursor, await self._cursor())

    async def _cursor(self) -> int:
        value = await self.redis.get(self.keys.tickets_alert_cursor())
        return int(value or 0)

    async def _forward(self, alert: dict[str, Any]) -> bool:
        """The alert's feed entry and the cursor past it in one transaction; False when another
        tick forwarded it meanwhile."""
        alert_id = int(alert["id"])
        ticket_id = _text(alert.get("ticket_id"))
        ticket: dict[str, Any] = {}
        with contextlib.suppress(errors.TicketsNotFound):
            ticket = (await self.client.ticket(ticket_id)).get("ticket") or {}
        fields = feed_fields(
            ticket_id, _text(alert.get("kind")), "system",
            team=_text(alert.get("team")), state=_text(ticket.get("state")),
            window=_text(alert.get("window")), severity=_text(alert.get("severity")),
        )  # fmt: skip
        entry = self._entry(_text(ticket.get("conversation_id")), fields)
        key = self.keys.tickets_alert_cursor()
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if int(await pipe.get(key) or 0) >= alert_id:
                        return False
                    multi: Callable[[], None] = pipe.multi  # redis-py leaves it unannotated
                    multi()
                    pipe.xadd(
                        self.keys.archive(), entry,
                        maxlen=self.settings.gateway.archive_maxlen, approximate=True,
                    )  # fmt: skip
                    pipe.set(key, str(alert_id))
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        self.metrics.ticket_alerts.labels(fields["step"]).inc()
        log.info(
            "router.tickets.alert id=%d kind=%s ticket=%s", alert_id, fields["step"], ticket_id
        )
        return True

    # -- notices -------------------------------------------------------------------------------
    async def deliver_notices(self) -> dict[str, int]:
        """Deliver the pending notices (a page of them); how many went which way."""
        counts = {"conversation": 0, "sms": 0, "none": 0}
        page = (await self.client.notices(NOTICES_PAGE)).get("notices") or []
        for notice in page:
            try:
                via = await self._deliver(notice)
            except errors.RouterError as exc:  # this one waits for the next tick
                log.warning(
                    "router.tickets.notice_failed id=%s error=%s", notice.get("id"), exc.code
                )
                continue
            counts[via] = counts.get(via, 0) + 1
            self.metrics.ticket_notices.labels(via).inc()
        return counts

    async def _deliver(self, notice: dict[str, Any]) -> str:
        notice_id = int(notice["id"])
        conversation_id = _text(notice.get("conversation_id"))
        meta: dict[str, str] = {}
        listening = False
        if conversation_id:
            meta = await self.conversations.meta(conversation_id)
            if meta:
                listening = await self._listening(conversation_id)
        plan = delivery.plan(
            notice, meta, listening=listening, now_ms=self.clock(),
            idle_s=self.settings.ticket_open_idle_s, public_base=self.settings.public_base(),
        )  # fmt: skip
        if plan.via == "conversation" and plan.conversation_id:
            marker = self.keys.tickets_notice(str(notice_id))
            if not await self.redis.exists(marker):
                seq = await self.conversations.append(
                    plan.conversation_id, system_message(plan.text)
                )
                await self.redis.set(marker, seq, ex=self.settings.retention_s)
            await self.client.delivered(notice_id)
            return "conversation"
        answer = await self.client.sms(notice_id, plan.link)
        via = answer.get("delivered_via")
        return via if via in ("sms", "none") else "sms"

    async def _listening(self, conversation_id: str) -> bool:
        """A customer is connected to the conversation now, to any router process."""
        found: Any = await self.redis.pubsub_numsub(self.keys.chat_live(conversation_id))
        return any(int(n) > 0 for _, n in found)

    def deliver_soon(self) -> None:
        """Deliver pending notices now (after a step or an outage change queued some), in the
        background and under the watcher's lock, instead of at the next tick."""
        task = asyncio.create_task(self._deliver_locked())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_locked(self) -> None:
        lock = self.redis.lock(
            self.keys.tickets_lock(), timeout=LOCK_S, thread_local=False,
            blocking=True, blocking_timeout=LOCK_WAIT_S,
        )  # fmt: skip
        try:
            if not await lock.acquire():
                return  # a tick held the lock all along: it delivers them
            try:
                await self.deliver_notices()
            finally:
                with contextlib.suppress(LockError):
                    await lock.release()
        except Exception as exc:
            log.warning("router.tickets.deliver_failed error=%s", type(exc).__name__)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()


async def run_watcher(service: TicketService, every_s: float, stop: asyncio.Event) -> None:
    """Tick every `every_s` until `stop` is set; a failed tick is logged and the next one tries
    again (the ticket service or Redis may be down for a while)."""
    while not stop.is_set():
        try:
            await service.tick()
        except Exception as exc:
            code = exc.code if isinstance(exc, errors.RouterError) else type(exc).__name__
            log.warning("router.tickets.tick_failed error=%s", code)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
