"""The gateway's Rasa client (router/gateway/bot.py) against a stand-in Rasa that checks the
token as Rasa 3.6 does: the gateway channel's Bearer header, the HTTP API's ?token=."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from router.app import create_app
from router.gateway.bot import BotUnavailable, RasaRestBot
from router.gateway.mount import install
from router.gateway.settings import GatewaySettings
from router.settings import Settings

TOKEN = "rasa-token-for-the-test-" + "x" * 20


def fake_rasa(token: str, seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/gateway/webhook")
    async def webhook(request: Request) -> Response:
        body = await request.json()
        seen.append({"path": "webhook", "auth": request.headers.get("authorization"), **body})
        if request.headers.get("authorization") != f"Bearer {token}":
            return Response(status_code=401)
        return Response(
            '[{"recipient_id": "c", "text": "您好", "buttons": [{"title": "查话费", '
            '"payload": "/query_balance"}]}]',
            media_type="application/json",
        )

    @app.post("/model/parse")
    async def parse(request: Request) -> Response:
        seen.append({"path": "parse", "token": request.query_params.get("token")})
        if request.query_params.get("token") != token:
            return Response(status_code=403)
        return Response('{"urgency": {"name": "high"}}', media_type="application/json")

    return app


@pytest.mark.anyio
async def test_the_gateway_channel_and_the_http_api_carry_the_token() -> None:
    seen: list[dict[str, Any]] = []
    transport = httpx.ASGITransport(app=fake_rasa(TOKEN, seen))
    bot = RasaRestBot("http://rasa", TOKEN, transport=transport)
    replies = await bot.send(
        "conv-12345678", "查话费", "web", {"client": "k" * 16}, message_id="m" * 32
    )
    assert [(r.text, [b.payload for b in r.buttons]) for r in replies] == [
        ("您好", ["/query_balance"])
    ]
    assert await bot.urgency("我急") == "high"
    assert seen == [
        {"path": "webhook", "auth": f"Bearer {TOKEN}", "sender": "conv-12345678",
         "message": "查话费", "metadata": {"client": "k" * 16, "channel": "web"},
         "message_id": "m" * 32},
        {"path": "parse", "token": TOKEN},
    ]  # fmt: skip
    assert TOKEN not in repr(bot)
    await bot.aclose()


@pytest.mark.anyio
async def test_a_refused_token_is_logged_as_a_misconfiguration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=fake_rasa(TOKEN, []))
    bot = RasaRestBot("http://rasa", "another-token-" + "y" * 30, transport=transport)
    with caplog.at_level(logging.ERROR, logger="router.gateway.bot"):
        with pytest.raises(BotUnavailable):
            await bot.send("conv-12345678", "你好", "web", {}, message_id="m" * 32)
        assert await bot.urgency("我急") is None
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(refused) == 2
    assert all("ROUTER_RASA_TOKEN" in line for line in refused)
    assert not any("another-token" in line for line in refused)
    await bot.aclose()


@pytest.mark.anyio
async def test_the_gateway_puts_each_assistant_instance_in_the_metrics(
    make_settings: Callable[..., Settings],
) -> None:
    instances = "http://127.0.0.1:5005,http://127.0.0.1:5006"
    settings = make_settings(public_metrics=True, gateway=GatewaySettings(rasa_url=instances))
    app = create_app(settings, timers=False, gateway=False)
    install(app)  # the gateway's own bot client: Rasa's channel on both instances
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
        metrics = (await client.get("/metrics")).text
        await client.aclose()
    assert 'gateway_bot_instance_up{instance="http://127.0.0.1:5005"} 1.0' in metrics
    assert 'gateway_bot_instance_up{instance="http://127.0.0.1:5006"} 1.0' in metrics
