"""The analyst role and its routes: tokens issued and revoked by the admin, who may call what
(the 401/403 matrix), the inbox over a small archive (tests/router/analysis/seed.py) with its
masking, validation and audit, annotation decisions with their refusals, the agreement of a
double-annotated item, settling it, and the export of a training batch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from archive import annotations as ann
from archive.db import engine_for
from tests.router.analysis import seed
from tests.router.conftest import ADMIN, SERVICE, bearer
from tests.router.helpers import available_agent_http

DAY = seed.DAY.isoformat()
WINDOW = f"start={DAY}&end={DAY}"


@pytest.fixture
def archive(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    seed.fill(url)
    return url


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "annotated"


@pytest.fixture
async def client(make_client: Callable[..., Any], archive: str, out_dir: Path) -> httpx.AsyncClient:
    c: httpx.AsyncClient = await make_client(
        archive_url=SecretStr(archive), annotations_dir=out_dir
    )
    return c


async def new_analyst(client: httpx.AsyncClient, aid: str = "ana-li") -> str:
    r = await client.put(f"/v1/analysts/{aid}", json={"display_name": "李分析"},
                         headers=bearer(ADMIN))  # fmt: skip
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


async def new_supervisor(client: httpx.AsyncClient) -> str:
    r = await client.put("/v1/supervisors/sup-li", json={"display_name": "李主管"},
                         headers=bearer(ADMIN))  # fmt: skip
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


async def inbox(client: httpx.AsyncClient, token: str, query: str = "") -> list[dict[str, Any]]:
    r = await client.get(f"/v1/inbox?{WINDOW}&{query}", headers=bearer(token))
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


# -- tokens and roles ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_admin_issues_renames_and_revokes_analysts(client: httpx.AsyncClient) -> None:
    token = await new_analyst(client)
    assert token.startswith("an~ana-li.") and token not in (ADMIN, SERVICE)
    r = await client.put("/v1/analysts/ana-li", json={"display_name": "李老师"},
                         headers=bearer(ADMIN))  # fmt: skip
    assert r.status_code == 200 and "token" not in r.json()
    me = await client.get("/v1/analysts/ana-li", headers=bearer(token))
    assert me.status_code == 200 and me.json()["display_name"] == "李老师"
    other = await new_analyst(client, "ana-wang")
    assert (await client.get("/v1/analysts/ana-li", headers=bearer(other))).status_code == 403
    listed = await client.get("/v1/analysts", headers=bearer(ADMIN))
    assert [a["analyst_id"] for a in listed.json()] == ["ana-li", "ana-wang"]
    supervisor = await new_supervisor(client)
    for caller in (token, SERVICE, supervisor):
        assert (await client.get("/v1/analysts", headers=bearer(caller))).status_code == 403
        r = await client.put("/v1/analysts/ana-x", json={"display_name": "x"},
                             headers=bearer(caller))  # fmt: skip
        assert r.status_code == 403
        r = await client.delete("/v1/analysts/ana-wang", headers=bearer(caller))
        assert r.status_code == 403
    # an analyst's token opens no supervisor's or agent's route, and theirs none of an analyst's
    assert (await client.get("/v1/supervisor/wallboard", headers=bearer(token))).status_code == 403
    assert (await client.get("/v1/queues", headers=bearer(token))).status_code == 403
    assert (await client.delete("/v1/analysts/ana-li", headers=bearer(ADMIN))).status_code == 200
    assert (await client.get("/v1/analysts/ana-li", headers=bearer(token))).status_code == 401
    assert (await client.delete("/v1/analysts/ana-li", headers=bearer(ADMIN))).status_code == 404
    forged = "an~ana-wang." + "A" * 43
    assert (await client.get(f"/v1/inbox?{WINDOW}", headers=bearer(forged))).status_code == 401


@pytest.mark.anyio
async def test_who_may_call_the_analysis_routes(client: httpx.AsyncClient) -> None:
    analyst = await new_analyst(client)
    supervisor = await new_supervisor(client)
    body = {"display_name": "李晓梅", "skills": {"billing": 3}, "languages": ["zh"]}
    agent = await available_agent_http(client, "agent-li", body)
    key = (await inbox(client, analyst))[0]["key"]
    decision = {"key": key, "decision": "none"}
    # (method, path, body, who besides an analyst may call it)
    routes: list[tuple[str, str, dict[str, Any] | None, bool]] = [
        ("GET", f"/v1/inbox?{WINDOW}", None, True),
        ("GET", "/v1/annotations/next", None, False),
        ("GET", "/v1/annotations/agreement", None, True),
        ("GET", "/v1/annotations/disagreements", None, True),
        ("POST", "/v1/annotations", decision, False),
        ("POST", "/v1/annotations/settle", {"key": key, "intent": "query_balance"}, False),
        ("POST", "/v1/annotations/export", {}, True),
        ("GET", "/v1/models", None, True),
        ("GET", "/v1/models/retrain", None, True),
    ]
    for method, path, body, admin in routes:
        for token, allowed in ((supervisor, False), (agent, False), (SERVICE, False),
                               (ADMIN, admin), (None, None)):  # fmt: skip
            headers = bearer(token) if token else {}
            r = await client.request(method, path, json=body, headers=headers)
            expected = {None: 401, False: 403}.get(allowed)  # type: ignore[call-overload]
            if expected is not None:
                assert r.status_code == expected, (method, path, token, r.text)
            else:
                assert r.status_code < 400, (method, path, r.text)
        r = await client.request(method, path, json=body, headers=bearer(analyst))
        # the settle of an item nobody disputes is refused, not forbidden
        assert r.status_code < 400 or r.json()["error"] == "not_disputed", (path, r.text)


# -- the inbox ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_inbox_groups_masks_and_is_audited(client: httpx.AsyncClient) -> None:
    token = await new_analyst(client)
    groups = await inbox(client, token)
    first = groups[0]
    # the two fallbacks about a stopped line are one group, most useful first, placeholdered
    assert first["count"] == 2 and "fallback" in first["reasons"]
    assert first["text"].startswith("我的号码{phone_number}")
    assert first["status"] == "open" and len(first["examples"]) == 2
    texts = "".join(g["text"] for g in groups)
    assert "138" not in texts and "8000" not in texts and "****" not in texts
    assert "members" not in first
    # filters: a reason, a search, a status
    low = await inbox(client, token, "reason=small_margin")
    assert [g["text"] for g in low] == ["帮我瞅瞅这个月花了多少钱啊"]
    assert [g["text"] for g in await inbox(client, token, "q=流量包")] == ["流量包怎么退订"]
    assert await inbox(client, token, "status=settled") == []
    # who read which conversations: recorded before the reply
    entries = await client.get("/v1/audit?actor=analyst:ana-li", headers=bearer(ADMIN))
    read = {e["conversation"] for e in entries.json() if e["action"] == "inbox"}
    assert set(seed.CONVERSATIONS) <= read


@pytest.mark.anyio
async def test_bad_inbox_queries_are_422_naming_the_parameter(client: httpx.AsyncClient) -> None:
    token = await new_analyst(client)
    for query, field in (("reason=bogus", "reason"), ("status=done", "status"),
                         ("limit=0", "limit"), ("limit=201", "limit"), ("offset=-1", "offset"),
                         ("start=2026-09-21&end=2026-09-20", "end"), ("start=2026-13-01", "start"),
                         ("start=2024-01-01&end=2026-01-01", "end"),
                         ("q=" + "长" * 101, "q")):  # fmt: skip
        r = await client.get(f"/v1/inbox?{query}", headers=bearer(token))
        assert r.status_code == 422, (query, r.text)
        assert r.json()["fields"][0]["field"] == f"query.{field}", (query, r.json())


# -- annotations --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_decisions_are_recorded_and_refused_clearly(
    client: httpx.AsyncClient, archive: str
) -> None:
    token = await new_analyst(client)
    groups = {g["text"]: g for g in await inbox(client, token)}
    plan = groups["流量包怎么退订"]
    post = "/v1/annotations"
    for body, status in (
        ({"key": plan["key"], "decision": "confirm", "intent": "query_plan"}, 422),  # not predicted
        ({"key": plan["key"], "decision": "correct", "intent": "no_such_intent"}, 422),
        ({"key": plan["key"], "decision": "correct", "intent": "nlu_fallback"}, 422),
        ({"key": plan["key"], "decision": "new_intent", "new_intent": "query_plan"}, 422),
        ({"key": plan["key"], "decision": "none", "intent": "query_plan"}, 422),
        ({"key": plan["key"], "decision": "maybe"}, 422),
        (
            {
                "key": plan["key"],
                "decision": "correct",
                "intent": "change_plan",
                "entities": [{"entity": "plan_name", "start": 5, "end": 99}],
            },
            422,
        ),
        ({"key": "0" * 32, "decision": "none"}, 404),
        ({"key": "../x", "decision": "none"}, 422),
    ):
        r = await client.post(post, json=body, headers=bearer(token))
        assert r.status_code == status, (body, r.text)
    body = {"key": plan["key"], "decision": "correct", "intent": "faq/data_pack",
            "entities": [{"entity": "plan_name", "start": 0, "end": 3}]}  # fmt: skip
    r = await client.post(post, json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    found = r.json()
    assert (found["analyst_id"], found["decision"], found["intent"]) == (
        "ana-li", "correct", "faq/data_pack"
    )  # fmt: skip
    assert found["entities"] == [[0, 3, "plan_name"]]
    # every decision is a row with who and when; a second one adds a row
    r = await client.post(post, json={"key": plan["key"], "decision": "none"},
                          headers=bearer(token))  # fmt: skip
    assert r.status_code == 201
    engine = engine_for(archive)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT analyst_id, decision, ts_ms FROM annotations"
                                    " ORDER BY id")).all()  # fmt: skip
    engine.dispose()
    assert [(a, d) for a, d, _ in rows] == [("ana-li", "correct"), ("ana-li", "none")]
    assert all(ts > 0 for _, _, ts in rows)
    statuses = {g["text"]: g["status"] for g in await inbox(client, token)}
    assert statuses["流量包怎么退订"] == "annotated"


@pytest.mark.anyio
async def test_double_annotation_agreement_settling_and_export(
    client: httpx.AsyncClient, out_dir: Path
) -> None:
    li, wang = await new_analyst(client), await new_analyst(client, "ana-wang")
    groups = await inbox(client, li)
    sampled = [g for g in groups if ann.sampled(g["key"])]
    single = [g for g in groups if not ann.sampled(g["key"])]
    # the seed has one item in the double-annotation sample (by its key's hash), others outside
    assert len(sampled) == 1 and single
    if sampled:
        item = sampled[0]
        r = await client.post("/v1/annotations", headers=bearer(li),
                               json={"key": item["key"], "decision": "none"})  # fmt: skip
        assert r.status_code == 201 and r.json()["status"] == "annotated"
        mine = await client.get("/v1/annotations/next", headers=bearer(li))
        assert item["key"] not in [i["key"] for i in mine.json()]
        theirs = (await client.get("/v1/annotations/next", headers=bearer(wang))).json()
        assert item["key"] in [i["key"] for i in theirs]
        assert all("annotations" not in i for i in theirs)  # each annotates blind
        r = await client.post("/v1/annotations", headers=bearer(wang),
                              json={"key": item["key"], "decision": "correct",
                                    "intent": "query_balance"})  # fmt: skip
        assert r.status_code == 201 and r.json()["status"] == "disputed"
        agreement = (await client.get("/v1/annotations/agreement", headers=bearer(li))).json()
        assert (agreement["items"], agreement["agreed"]) == (1, 0)
        disputed = (await client.get("/v1/annotations/disagreements", headers=bearer(ADMIN))).json()
        assert [d["key"] for d in disputed] == [item["key"]]
        assert {a["analyst_id"] for a in disputed[0]["annotations"]} == {"ana-li", "ana-wang"}
        r = await client.post("/v1/annotations/settle", headers=bearer(li),
                              json={"key": item["key"], "intent": "query_balance"})  # fmt: skip
        assert r.status_code == 200 and r.json()["status"] == "settled"
        again = await client.post("/v1/annotations/settle", headers=bearer(li),
                                  json={"key": item["key"], "intent": "query_balance"})  # fmt: skip
        assert again.status_code == 409 and again.json()["error"] == "not_disputed"
    plain = single[0]
    predicted = plain["predicted_intent"]
    decision = (
        {"decision": "confirm", "intent": predicted}
        if predicted and predicted != "nlu_fallback"
        else {"decision": "correct", "intent": "query_balance"}
    )
    r = await client.post("/v1/annotations", headers=bearer(wang),
                          json={"key": plain["key"], **decision})  # fmt: skip
    assert r.status_code == 201, r.text
    exported = await client.post("/v1/annotations/export", headers=bearer(li))
    assert exported.status_code == 200, exported.text
    found = exported.json()
    path = Path(found["file"])
    assert path.parent == out_dir and path.name.startswith("batch-")
    assert found["count"] == 1 + bool(sampled)
    text = path.read_text(encoding="utf-8")
    assert 'version: "3.1"' in text and "ana-wang" in text
    # a masked value is a synthetic one annotated as its entity, never the customer's
    assert "[13800000000](phone_number)" in text
    assert "****" not in text and "8000为" not in text and "1234" not in text
    # exported items are done: nothing more to export, and no more decisions on them
    assert (await client.post("/v1/annotations/export", headers=bearer(ADMIN))).json() == {
        "file": None, "count": 0
    }  # fmt: skip
    r = await client.post("/v1/annotations", headers=bearer(li),
                          json={"key": plain["key"], "decision": "none"})  # fmt: skip
    assert r.status_code == 409 and r.json()["error"] == "exported"
    assert hashlib.sha256(text.encode()).hexdigest()  # the file is whole UTF-8


@pytest.mark.anyio
async def test_an_archive_that_is_not_there_is_503(
    make_client: Callable[..., Any], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'none' / 'archive.sqlite3'}"
    client: httpx.AsyncClient = await make_client(archive_url=SecretStr(url))
    token = await new_analyst(client)
    for method, path in (("GET", "/v1/inbox"), ("GET", "/v1/annotations/next"),
                         ("POST", "/v1/annotations/export")):  # fmt: skip
        r = await client.request(method, path, headers=bearer(token))
        assert r.status_code == 503 and r.json()["error"] == "archive_unavailable", path
    assert not (tmp_path / "none" / "archive.sqlite3").exists()


def test_make_run_issues_the_demo_analyst_once(serve: Callable[..., str], tmp_path: Path) -> None:
    from scripts import demo_agents

    url = serve()
    tokens = tmp_path / "demo_analysts.json"
    analyst_id, name, token = demo_agents.ensure_demo_analyst(url, ADMIN, tokens)
    assert (analyst_id, name) == demo_agents.DEMO_ANALYST and token.startswith("an~ana-wu.")
    assert demo_agents.ensure_demo_analyst(url, ADMIN, tokens)[2] == token  # kept, not reissued
    assert tokens.stat().st_mode & 0o777 == 0o600
    me = httpx.get(f"{url}/v1/analysts/{analyst_id}", headers=bearer(token))
    assert me.status_code == 200 and me.json()["display_name"] == name
