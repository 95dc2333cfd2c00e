"""The FastAPI app factory. Settings, Redis and the timer loop are built in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from router import analysis, errors
from router.api import admin, agents, audit, docs, handoffs, offers, supervisor, supervisors
from router.api.fast import FastHandoffCreate
from router.audit import Audit
from router.embedded_redis import redis_at
from router.engine import Clock, Engine, wall_clock_ms
from router.gateway.mount import install as install_gateway
from router.limits import BodyLimit
from router.metrics import Metrics
from router.runtime import Runtime
from router.settings import Settings
from router.store import Store
from router.timers import run_timers
from router.token_cache import follow_revocations

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = wall_clock_ms,
    timers: bool = True,
    gateway: bool = True,
) -> FastAPI:
    """The router app. `settings` default to the environment, read when the app starts.

    `gateway=False` leaves out the customer gateway and the pages (router/gateway, router/web):
    the routing API alone, as its own tests use it.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        conf = settings if settings is not None else Settings()
        # raises InsecureSecret (one line): the router does not start
        weak = conf.check_secrets(gateway=getattr(app.state, "gateway_installed", False))
        if weak:
            log.warning("router.secrets.demo_mode accepted_insecure=%s", ",".join(weak))
        async with redis_at(conf.redis_url, conf.data_dir) as url:
            # Agents' event streams each hold a connection: a blocking pool waits for a free one
            # instead of failing under a burst (redis-py's default pool stops at 100).
            # Every call has a connect and a read timeout: a hung Redis is a 503 in bounded time.
            pool = aioredis.BlockingConnectionPool.from_url(
                url,
                decode_responses=True,
                max_connections=conf.redis_max_connections,
                timeout=conf.redis_timeout_s,
                socket_timeout=conf.redis_timeout_s,
                socket_connect_timeout=conf.redis_connect_timeout_s,
            )
            client = aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
            metrics = Metrics()
            engine = Engine(client, conf, clock=clock, metrics=metrics)
            await engine.load_script_cache()
            store = Store(client, engine.keys)
            audit = Audit(client, engine.keys, conf.audit_retention_s)
            app.state.runtime = Runtime(conf, client, engine, store, metrics, audit)
            stop = asyncio.Event()
            task = asyncio.create_task(run_timers(engine, stop)) if timers else None
            revocations = asyncio.create_task(
                follow_revocations(client, engine.keys.token_revocations(), store.tokens)
            )
            log.info("router.started")
            try:
                yield
            finally:
                stop.set()
                if task is not None:
                    await task
                revocations.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await revocations
                await client.aclose()

    app = FastAPI(
        title="Router",
        version="1",
        summary="Assigns handed-off conversations to human agents by skill and load.",
        lifespan=lifespan,
        # served by router/api/docs.py, open or closed by the settings built at start-up
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    for module in (agents, handoffs, offers, admin, audit, docs, supervisors):
        app.include_router(module.router)
    supervisor.install(app)  # the wallboard and the reports; the archive opened with the app
    analysis.install(app)  # the analysts' inbox, annotations and models (router/analysis)
    if gateway:
        install_gateway(app)  # customers' chat, the widget and the agent console
    _install_error_handlers(app)
    app.add_middleware(BodyLimit)  # its limit comes from the settings built at start-up
    app.add_middleware(FastHandoffCreate)  # POST /v1/handoffs's success case (router/api/fast.py)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.RouterError)
    async def domain_error(_: Request, exc: errors.RouterError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.code}, status_code=exc.status_code, headers=errors.headers_of(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]  # never echo the input: it may hold personal data
        return JSONResponse({"error": "validation_error", "fields": fields}, status_code=422)

    @app.exception_handler(RedisError)
    async def unavailable(_: Request, exc: RedisError) -> JSONResponse:
        mapped = errors.from_redis(exc)
        return JSONResponse({"error": mapped.code}, status_code=mapped.status_code)
