"""The pages the router serves: the agent console gets its vocabulary from the server."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from router import web
from telecom import urgency

DATA_BLOCK = re.compile(r'<script type="application/json" id="console-data">(.*?)</script>')


@pytest.mark.anyio
async def test_console_page_carries_the_urgency_levels() -> None:
    app = FastAPI()
    app.include_router(web.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        response = await client.get("/console")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == web.CSP
    block = DATA_BLOCK.search(response.text)
    assert block is not None
    data = json.loads(block.group(1))
    assert [(u["name"], u["label"]) for u in data["urgency"]] == [
        (name, urgency.LABELS[name]) for name in urgency.LEVELS
    ]
