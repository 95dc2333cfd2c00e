"""The pages the router serves: the agent console and the supervisor pages get their vocabulary
(urgency levels, every label table) from the server."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from router import web
from telecom import labels, tickets, urgency

DATA_BLOCK = re.compile(r'<script type="application/json" id="page-data">(.*?)</script>')


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


@pytest.mark.anyio
@pytest.mark.parametrize("page", ["/console", "/wallboard", "/reports", "/outages", "/feedback"])
async def test_pages_carry_the_kernel_labels(page: str) -> None:
    app = FastAPI()
    app.include_router(web.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        response = await client.get(page)
    assert response.status_code == 200
    block = DATA_BLOCK.search(response.text)
    assert block is not None, "the page has no data block"
    data = json.loads(block.group(1))
    assert data["labels"] == labels.all_labels()
    assert data["labels"]["skills"]["billing"] == "话费账单"
    assert data["labels"]["intents"]["query_balance"] == labels.INTENTS["query_balance"]


def test_every_intent_and_skill_has_a_label() -> None:
    """The labels cover the ids the system produces: every intent docs/contracts.md names (`stop`
    is named there as NOT an intent) and every skill actions/handoff.py routes an intent to."""
    root = web.STATIC.parents[2]
    contracts = (root / "docs" / "contracts.md").read_text(encoding="utf-8")
    section = contracts.split("## Intents", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+(?:/[a-z_]+)?)`", section)) - {"stop"}
    assert len(named) > 20, "docs/contracts.md lists no intents"
    assert named - set(labels.INTENTS) == set()
    handoff = (root / "actions" / "handoff.py").read_text(encoding="utf-8")
    table = handoff.split("INTENT_SKILLS: dict[str, str] = {", 1)[1].split("}", 1)[0]
    skills = set(re.findall(r':\s*"([a-z_]+)"', table))
    assert len(skills) >= 6, "actions/handoff.py maps no intent to a skill"
    assert skills - set(labels.SKILLS) == set()


@pytest.mark.anyio
@pytest.mark.parametrize("page", ["/console", "/wallboard", "/outages", "/feedback"])
async def test_ticket_pages_carry_the_ticket_vocabulary(page: str) -> None:
    """The ticket pages (issue 18) say every refusal of the ticket rules in Chinese, from their
    data block, under the same strict policy as every page."""
    app = FastAPI()
    app.include_router(web.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        response = await client.get(page)
        script = await client.get(page + ".js" if page != "/console" else "/console-tickets.js")
    assert response.status_code == 200 and script.status_code == 200
    assert response.headers["content-security-policy"] == web.CSP
    block = DATA_BLOCK.search(response.text)
    assert block is not None
    vocabulary = json.loads(block.group(1))["tickets"]
    assert set(tickets.ERRORS) <= set(vocabulary["errors"])
    assert set(vocabulary["windows"]) == set(tickets.WINDOWS)
    assert set(vocabulary["kinds"]) == set(tickets.KINDS)
    assert "innerHTML" not in script.text
