"""Mount the customer gateway on the router app: `install(app)` (router/app.py's create_app) adds
its routes, the pages (router/web) and, inside the router's lifespan, its background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI

from router.gateway.access import CustomerAccess
from router.gateway.bot import BotClient, InstanceCollector, RasaRestBot
from router.gateway.fast import FastAgentMessage
from router.gateway.hub import Hub
from router.gateway.service import Gateway
from router.gateway.store import ConversationStore
from router.models import Urgency


def install(app: FastAPI, *, bot: BotClient | None = None) -> None:
    """Add the gateway's routes and pages to the router app and start it with the app.

    Its settings are the router's (`settings.gateway`, built at start-up); `bot` defaults to
    Rasa's gateway channel on the instances of settings.gateway.rasa_url (tests pass their own).
    """
    from router.gateway import agents, customer
    from router.gateway.voice import api as voice
    from router.gateway.voice import jambonz
    from router.web import router as pages

    app.state.gateway_installed = True  # the router checks the gateway's secrets at start-up
    app.include_router(customer.router)
    app.include_router(agents.router)
    # the voice channel's routes answer 404 unless ROUTER_VOICE_TOKEN is set (voice/api.py)
    app.include_router(voice.router)
    app.include_router(jambonz.router)
    app.include_router(pages)
    # an agent's reply, its success case, without FastAPI's per-request machinery (fast.py)
    app.add_middleware(FastAgentMessage)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state, running(a, bot):
            yield state

    app.router.lifespan_context = lifespan
    # the service loop's routes and watcher, inside the gateway's lifespan (router/tickets)
    from router.tickets.api import install as install_tickets

    install_tickets(app)


@contextlib.asynccontextmanager
async def running(app: Any, bot: BotClient | None) -> AsyncIterator[Gateway]:
    """The gateway of one process, on the router's runtime (app.state.runtime)."""
    from router.gateway.tasks import consume_router_events, refresh_queue_positions

    runtime = app.state.runtime
    settings = runtime.settings
    conf = settings.gateway
    # a pool of its own for blocking reads (long polls, the event consumer), pub/sub and the
    # gateway's own hashes: every connected customer may be waiting at once, and a burst waits
    # for a connection instead of failing; the engine's scripts use the router's pool
    shared = runtime.redis.connection_pool
    pool = aioredis.BlockingConnectionPool(
        connection_class=shared.connection_class,
        max_connections=conf.redis_max_connections,
        timeout=settings.redis_timeout_s,
        **shared.connection_kwargs,
    )
    redis = aioredis.Redis(connection_pool=pool)
    store = ConversationStore(redis, runtime.engine, runtime.store)
    rasa_token = settings.rasa_token
    # Rasa's gateway channel on every assistant instance, each instance's health in /metrics
    rasa: RasaRestBot | None = None
    collector: InstanceCollector | None = None
    client: BotClient
    if bot is None:
        client = rasa = RasaRestBot(
            conf.rasa_url,
            rasa_token.get_secret_value() if rasa_token is not None else "",
            timeout_s=conf.bot_timeout_s,
            cooldown_s=conf.bot_cooldown_s,
        )
        collector = InstanceCollector(rasa)
        runtime.metrics.registry.register(collector)
    else:
        client = bot

    async def raise_priority(handoff_id: str, urgency: str) -> None:
        sla_ms = round(settings.sla_s(Urgency(urgency)) * 1000)
        await runtime.engine.raise_priority(handoff_id, urgency, sla_ms)

    gateway = Gateway(store, client, conf, runtime.engine, raise_priority)
    hub = Hub(redis, store.keys)
    pseudonym_key = settings.pseudonym_key()
    access = CustomerAccess(redis, store.keys, conf, pseudonym_key, settings.retention_s)
    await hub.start()
    app.state.gateway = gateway
    app.state.voice_calls = None
    if settings.voice_token is not None:  # the voice channel is on
        from router.gateway.voice.service import VoiceCalls

        # one turn of a call holds its lock at most this long (a turn may be tried on two
        # assistant instances)
        lock_s = 2 * conf.bot_timeout_s + 10
        app.state.voice_calls = VoiceCalls(
            gateway, redis, store.keys, pseudonym_key, settings.retention_s, lock_s
        )
    app.state.gateway_hub = hub
    app.state.gateway_access = access
    tasks = [
        asyncio.create_task(consume_router_events(gateway, runtime.engine.keys.events())),
        asyncio.create_task(refresh_queue_positions(gateway, hub, conf.queue_refresh_s)),
    ]
    # everything built so far (app, routes, models, pools) lives as long as the process: moved
    # out of the collector's generations, a full collection no longer walks it (a long pause
    # every few seconds under load, which was most of the relay's p99)
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
        if collector is not None:
            runtime.metrics.registry.unregister(collector)
        if rasa is not None:
            await rasa.aclose()
        await redis.aclose()
        await pool.aclose()
