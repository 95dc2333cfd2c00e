"""/docs, /openapi.json and /metrics: closed unless the settings open them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from pydantic import SecretStr

from tests.router.conftest import ADMIN, SERVICE, bearer

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
METRICS = "metrics-token-for-the-test-" + "m" * 20


async def test_closed_by_default(make_client: MakeClient) -> None:
    client = await make_client(metrics_token=SecretStr(METRICS))
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/redoc")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 404
    assert (await client.get("/openapi.json", headers=bearer(SERVICE))).status_code == 404
    r = await client.get("/openapi.json", headers=bearer(ADMIN))
    assert r.status_code == 200 and "/v1/handoffs" in r.json()["paths"]
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=bearer(SERVICE))).status_code == 401
    for token in (ADMIN, METRICS):
        r = await client.get("/metrics", headers=bearer(token))
        assert r.status_code == 200 and "router_queue_depth" in r.text
    assert (await client.get("/healthz")).status_code == 200  # liveness stays open


async def test_opened_by_settings(make_client: MakeClient) -> None:
    client = await make_client(public_docs=True, public_metrics=True)
    assert (await client.get("/docs")).status_code == 200
    assert "/v1/audit" in (await client.get("/openapi.json")).json()["paths"]
    assert (await client.get("/metrics")).status_code == 200
