"""The customer gateway: customers talk to the router over WebSocket or REST; their turns go to
the assistant while the bot owns the conversation, and to the assigned agent after a handoff.

Mount it on the router app with `install(app)` (in router/app.py's create_app); it adds its
routes, the pages (router/web) and, inside the router's lifespan, its background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI

from router.gateway.access import CustomerAccess
from router.gateway.bot import BotClient, RasaRestBot
from router.gateway.fast import FastAgentMessage
from router.gateway.hub import Hub
from router.gateway.service import Gateway
from router.gateway.settings import GatewaySettings
from router.gateway.store import ConversationStore
from router.models import Urgency
from router.settings import Settings
from telecom.secrets import check_secret, new_secret, problem

log = logging.getLogger(__name__)

__all__ = ["BotClient", "Gateway", "GatewaySettings", "install"]


def install(
    app: FastAPI, settings: GatewaySettings | None = None, *, bot: BotClient | None = None
) -> None:
    """Add the gateway's routes and pages to the router app and start it with the app.

    `settings` default to the ROUTER_* environment, read at start-up; `bot` defaults to Rasa's
    REST webhook at settings.rasa_url (tests pass their own).
    """
    from router.gateway import agents, customer
    from router.web import router as pages

    app.state.gateway_installed = True  # the router checks the gateway's secrets at start-up
    app.include_router(customer.router)
    app.include_router(agents.router)
    app.include_router(pages)
    # an agent's reply, its success case, without FastAPI's per-request machinery (fast.py)
    app.add_middleware(FastAgentMessage)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state, running(a, settings, bot):
            yield state

    app.router.lifespan_context = lifespan


def pseudonym_secret(settings: Settings) -> bytes:
    """ROUTER_PSEUDONYM_SECRET (the router's settings), refused when missing or weak unless in
    demo mode; then a missing one is a random one of this process, with a warning (the `client`
    keys then differ between processes and restarts)."""
    given = settings.pseudonym_secret.get_secret_value() if settings.pseudonym_secret else None
    checked = check_secret("ROUTER_PSEUDONYM_SECRET", given, demo_mode=settings.demo_mode)
    if checked and problem(checked) is None:
        return checked.encode()
    log.warning("gateway.pseudonym_secret.demo reason=%s", problem(checked))
    return (checked or new_secret()).encode()


@contextlib.asynccontextmanager
async def running(
    app: Any, settings: GatewaySettings | None, bot: BotClient | None
) -> AsyncIterator[Gateway]:
    """The gateway of one process, on the router's runtime (app.state.runtime)."""
    from router.gateway.tasks import consume_router_events, refresh_queue_positions

    runtime = app.state.runtime
    conf = settings if settings is not None else GatewaySettings()
    # a pool of its own: every connected customer may be mid-turn at once, and a burst waits for
    # a connection instead of failing (the router's pool is capped at redis-py's default 100)
    shared = runtime.redis.connection_pool
    pool = aioredis.BlockingConnectionPool(
        connection_class=shared.connection_class,
        max_connections=conf.redis_max_connections,
        timeout=runtime.settings.redis_timeout_s,
        **shared.connection_kwargs,
    )
    redis = aioredis.Redis(connection_pool=pool)
    store = ConversationStore(
        redis,
        runtime.engine.keys,
        history_maxlen=conf.history_maxlen,
        retention_s=conf.retention_s,
        agent_events_maxlen=runtime.settings.agent_events_maxlen,
        queue_wait=runtime.engine.queue_wait,
        estimate_s_per_position=runtime.settings.estimate_s_per_position,
        max_block_ms=runtime.settings.redis_block_ms(60_000),
    )
    rasa_token = runtime.settings.rasa_token
    client = bot or RasaRestBot(
        conf.rasa_url,
        rasa_token.get_secret_value() if rasa_token is not None else "",
        conf.bot_timeout_s,
    )

    async def raise_priority(handoff_id: str, urgency: str) -> None:
        sla_ms = round(runtime.settings.sla_s(Urgency(urgency)) * 1000)
        await runtime.engine.raise_priority(handoff_id, urgency, sla_ms)

    gateway = Gateway(
        store,
        client,
        conf,
        raise_priority,
        create_handoff=runtime.engine.create_handoff,
        fallback_skill=runtime.settings.fallback_skill,
    )
    hub = Hub(redis, store.keys)
    access = CustomerAccess(redis, store.keys, conf, pseudonym_secret(runtime.settings))
    await hub.start()
    app.state.gateway = gateway
    app.state.gateway_hub = hub
    app.state.gateway_access = access
    tasks = [
        asyncio.create_task(consume_router_events(gateway, runtime.engine.keys.events())),
        asyncio.create_task(refresh_queue_positions(gateway, hub, conf.queue_refresh_s)),
    ]
    # everything built so far (app, routes, models, pools) lives as long as the process: moved
    # out of the collector's generations, a full collection no longer walks it (a 50-150 ms
    # pause every few seconds under load, which was most of the relay's p99)
    gc.freeze()
    try:
        yield gateway
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await hub.stop()
        if bot is None:
            await client.aclose()
        await redis.aclose()
        await pool.aclose()
