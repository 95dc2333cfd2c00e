"""The analyst's page as the router serves it: a strict Content-Security-Policy, the kernel's
intent labels in its data block (the page keeps no copy), and scripts that never write markup."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from router import web
from telecom import labels

DATA_BLOCK = re.compile(r'<script type="application/json" id="page-data">(.*?)</script>', re.S)


@pytest.mark.anyio
async def test_the_analyst_page_is_served_with_its_labels_and_policy() -> None:
    app = FastAPI()
    app.include_router(web.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        page = await client.get("/analyst")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        block = DATA_BLOCK.search(page.text)
        assert block is not None
        assert json.loads(block.group(1))["labels"]["intents"] == labels.INTENTS
        for name in ("/analyst.js", "/analyst-agreement.js", "/analyst-models.js", "/analyst.css"):
            served = await client.get(name)
            assert served.status_code == 200, name
            assert served.headers["x-content-type-options"] == "nosniff"
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
                assert sink not in served.text, (name, sink)
