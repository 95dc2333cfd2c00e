"""A hung Redis: every request is a 503 within a bounded time, not a hang."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from pydantic import SecretStr

from router.app import create_app
from router.embedded_redis import RedisServer
from router.settings import Settings
from tests.router.conftest import ADMIN, SERVICE, bearer


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_hung_redis_is_a_503_in_bounded_time(own_redis: RedisServer) -> None:
    settings = Settings(
        redis_url=SecretStr(own_redis.url),
        admin_token=SecretStr(ADMIN),
        service_token=SecretStr(SERVICE),
        redis_timeout_s=1.0,
        redis_connect_timeout_s=1.0,
    )
    app = create_app(settings, timers=False, gateway=False)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
        body = {"conversation_id": "conv-1", "skills": ["billing"]}
        assert (await client.get("/healthz")).status_code == 200
        assert own_redis.process is not None
        os.kill(own_redis.process.pid, signal.SIGSTOP)
        try:
            for method, path, token, json in [
                ("GET", "/healthz", None, None),
                ("GET", "/v1/queues", ADMIN, None),
                ("POST", "/v1/handoffs", SERVICE, body),  # the fast path (router/api/fast.py)
            ]:
                started = time.monotonic()
                headers = bearer(token) if token else {}
                r = await client.request(method, path, headers=headers, json=json)
                took = time.monotonic() - started
                assert r.status_code == 503, (path, r.text)
                assert r.json() == {"error": "unavailable"}
                assert took < 3.0, (path, took)
        finally:
            os.kill(own_redis.process.pid, signal.SIGCONT)
        assert (await client.get("/healthz")).status_code == 200  # and back
        await client.aclose()
