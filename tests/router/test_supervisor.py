"""The supervisor role and its API: tokens issued and revoked by the admin, who may read what,
the reports over a small archive (tests/router/supervisor_data.py), their validation, CSV, the
drill-down and the audited, masked transcript, and the wallboard's snapshot."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from router.engine import Engine
from router.models import Presence
from tests.router import supervisor_data as data
from tests.router.conftest import ADMIN, SERVICE, bearer
from tests.router.helpers import agent, available_agent_http, handoff

DAY = data.DAY.isoformat()
WINDOW = {"start": DAY, "end": DAY}


@pytest.fixture
def archive(tmp_path: Path) -> str:
    url = data.archive_url(tmp_path)
    data.fill(url)
    return url


@pytest.fixture
async def client(make_client: Callable[..., Any], archive: str) -> httpx.AsyncClient:
    c: httpx.AsyncClient = await make_client(archive_url=SecretStr(archive))
    return c


async def new_supervisor(client: httpx.AsyncClient, sid: str = "sup-li") -> str:
    r = await client.put(f"/v1/supervisors/{sid}", json={"display_name": "李主管"},
                         headers=bearer(ADMIN))  # fmt: skip
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


# -- tokens and roles ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_admin_issues_renames_lists_and_revokes_supervisors(
    client: httpx.AsyncClient,
) -> None:
    token = await new_supervisor(client)
    assert token.startswith("sv~sup-li.") and token not in (ADMIN, SERVICE)
    r = await client.put("/v1/supervisors/sup-li", json={"display_name": "李经理"},
                         headers=bearer(ADMIN))  # fmt: skip
    assert r.status_code == 200 and "token" not in r.json()
    assert r.json()["display_name"] == "李经理"
    me = await client.get("/v1/supervisors/sup-li", headers=bearer(token))  # the old token holds
    assert me.status_code == 200 and me.json()["supervisor_id"] == "sup-li"
    other = await new_supervisor(client, "sup-wang")
    assert (await client.get("/v1/supervisors/sup-li", headers=bearer(other))).status_code == 403
    listed = await client.get("/v1/supervisors", headers=bearer(ADMIN))
    assert [s["supervisor_id"] for s in listed.json()] == ["sup-li", "sup-wang"]
    # only the admin issues, lists, rotates and revokes
    for caller in (token, SERVICE):
        assert (await client.get("/v1/supervisors", headers=bearer(caller))).status_code == 403
        r = await client.put("/v1/supervisors/sup-x", json={"display_name": "x"},
                             headers=bearer(caller))  # fmt: skip
        assert r.status_code == 403
        assert (
            await client.delete("/v1/supervisors/sup-wang", headers=bearer(caller))
        ).status_code == 403
    rotated = await client.post("/v1/supervisors/sup-li/token", headers=bearer(ADMIN))
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = rotated.json()["token"]
    assert (await client.get("/v1/supervisors/sup-li", headers=bearer(token))).status_code == 401
    assert (await client.get("/v1/supervisors/sup-li", headers=bearer(new))).status_code == 200
    gone = await client.delete("/v1/supervisors/sup-li", headers=bearer(ADMIN))
    assert gone.status_code == 200
    assert (await client.get("/v1/supervisors/sup-li", headers=bearer(new))).status_code == 401
    assert (await client.delete("/v1/supervisors/sup-li", headers=bearer(ADMIN))).status_code == 404
    assert (
        await client.post("/v1/supervisors/nobody/token", headers=bearer(ADMIN))
    ).status_code == 404


@pytest.mark.anyio
async def test_who_may_read_the_supervisor_data(client: httpx.AsyncClient) -> None:
    token = await new_supervisor(client)
    agent_token = await available_agent_http(
        client,
        "agent-li",
        {"display_name": "李晓梅", "skills": {"billing": 3}, "languages": ["zh"]},
    )
    paths = ["/v1/supervisor/wallboard", "/v1/supervisor/reports/summary",
             "/v1/supervisor/reports/intents", "/v1/supervisor/reports/scorecard",
             "/v1/supervisor/reports/timeseries",
             "/v1/supervisor/reports/drilldown?metric=conversations",
             "/v1/supervisor/conversations/c-agent-1"]  # fmt: skip
    for path in paths:
        url = path + ("&" if "?" in path else "?") + f"start={DAY}&end={DAY}"
        assert (await client.get(url, headers=bearer(token))).status_code == 200, path
        assert (await client.get(url, headers=bearer(ADMIN))).status_code == 200, path
        assert (await client.get(url, headers=bearer(agent_token))).status_code == 403, path
        assert (await client.get(url, headers=bearer(SERVICE))).status_code == 403, path
        assert (await client.get(url)).status_code == 401, path
        # a supervisor's token is no agent's: the agent API refuses it
    assert (await client.get("/v1/agents/agent-li", headers=bearer(token))).status_code == 403
    assert (await client.get("/v1/queues", headers=bearer(token))).status_code == 403
    # a token shaped like a supervisor's that was never issued, and a revoked one
    forged = "sv~sup-li." + "A" * 43
    assert (await client.get(paths[1], headers=bearer(forged))).status_code == 401
    await client.delete("/v1/supervisors/sup-li", headers=bearer(ADMIN))
    assert (await client.get(paths[1], headers=bearer(token))).status_code == 401


# -- the reports --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_summary_and_filters(client: httpx.AsyncClient) -> None:
    token = await new_supervisor(client)

    async def summary(**params: str) -> dict[str, Any]:
        r = await client.get("/v1/supervisor/reports/summary", params={**WINDOW, **params},
                             headers=bearer(token))  # fmt: skip
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    whole = await summary()
    assert whole["conversations"]["value"] == data.CONVERSATIONS
    assert whole["handoffs"]["value"] == data.HANDOFFS
    sl = whole["service_level"]
    assert (sl["numerator"], sl["denominator"], sl["value"]) == (1, 2, 50.0)
    assert sl["label"] == "服务水平" and sl["unit"] == "%"
    assert (await summary(channel="voice"))["conversations"]["value"] == 1
    assert (await summary(intent="query_balance"))["conversations"]["value"] == 2
    assert (await summary(agent="agent-zhao"))["handoffs"]["value"] == 1
    assert (await summary(queue="roaming"))["handoffs"]["value"] == 1
    # the day before holds nothing; an end in milliseconds excludes that moment
    before = data.DAY.replace(day=data.DAY.day - 1).isoformat()
    assert (await summary(start=before, end=before))["conversations"]["value"] == 0
    assert (await summary(end=str(data.BASE + 10 * data.H)))["conversations"]["value"] == 2


@pytest.mark.anyio
async def test_timeseries_intents_and_scorecard(client: httpx.AsyncClient) -> None:
    token = await new_supervisor(client)
    r = await client.get("/v1/supervisor/reports/timeseries",
                         params={**WINDOW, "bucket": "hour"}, headers=bearer(token))  # fmt: skip
    assert r.status_code == 200, r.text
    series = r.json()
    assert len(series["buckets"]) == 24 and series["buckets"][0] == data.BASE
    volume = series["series"]["conversations"]
    assert sum(volume) == data.CONVERSATIONS and volume[9] == 2
    assert series["metrics"]["csat_agent"]["label"] == "人工服务满意度"
    intents = (await client.get("/v1/supervisor/reports/intents", params=WINDOW,
                                headers=bearer(token))).json()  # fmt: skip
    assert intents[0]["intent"] == "query_balance" and intents[0]["conversations"] == 2
    card = (await client.get("/v1/supervisor/reports/scorecard", params=WINDOW,
                             headers=bearer(token))).json()  # fmt: skip
    assert [a["agent_id"] for a in card["agents"]] == ["agent-zhao"]
    assert set(card["weights"]) == set(card["scaling"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-09-21", "end": "2026-09-20"}, "query.end"),
        ({"start": "2026-02-30"}, "query.start"),
        ({"start": "yesterday"}, "query.start"),
        ({"bucket": "week"}, "query.bucket"),
        ({"start": "2026-01-01", "end": "2026-03-01", "bucket": "15m"}, "query.end"),
        ({"channel": "fax"}, "query.channel"),
        ({"queue": "Bad Queue"}, "query.queue"),
        ({"agent": "a b"}, "query.agent"),
        ({"format": "xml"}, "query.format"),
        ({"start": "1999-12-31"}, "query.start"),
        ({"start": "2026-09-20", "end": "9999999999999"}, "query.end"),
        ({"end": "99999999999999"}, "query.end"),
    ],
)
async def test_bad_parameters_are_a_422_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    token = await new_supervisor(client)
    r = await client.get("/v1/supervisor/reports/summary", params=params, headers=bearer(token))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_error" and field in [f["field"] for f in body["fields"]]
    assert all(f["message"] for f in body["fields"])


@pytest.mark.anyio
async def test_bad_metric_part_or_bucket_of_a_drilldown_is_a_422(
    client: httpx.AsyncClient,
) -> None:
    token = await new_supervisor(client)
    base = "/v1/supervisor/reports/drilldown"
    cases = [
        ({"metric": "happiness"}, "query.metric"),
        ({"metric": "conversations", "part": "denominator"}, "query.part"),
        ({"metric": "conversations", "part": "half"}, "query.part"),
        ({"metric": "conversations", "bucket_start": str(data.BASE + 1)}, "query.bucket_start"),
        ({"metric": "conversations", "limit": "0"}, "query.limit"),
    ]
    for params, field in cases:
        r = await client.get(base, params={**WINDOW, **params}, headers=bearer(token))
        assert r.status_code == 422, (params, r.text)
        assert field in [f["field"] for f in r.json()["fields"]], (params, r.text)
    r = await client.get("/v1/supervisor/reports/timeseries", params={"metrics": "csat,volume"},
                         headers=bearer(token))  # fmt: skip
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "query.metrics"


def read_csv(reply: httpx.Response) -> list[list[str]]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(reply.text)))


@pytest.mark.anyio
async def test_every_table_downloads_as_csv_with_formulas_defused(
    client: httpx.AsyncClient,
) -> None:
    token = await new_supervisor(client)
    params = {**WINDOW, "format": "csv"}
    r = await client.get("/v1/supervisor/reports/scorecard", params=params, headers=bearer(token))
    rows = read_csv(r)
    assert r.headers["content-disposition"] == (f'attachment; filename="scorecard-{DAY}-{DAY}.csv"')
    assert rows[0][:2] == ["agent_id", "display_name"] and rows[0][-1] == "total"
    assert rows[1][1] == "'" + data.EVIL_NAME  # a spreadsheet shows it, never runs it
    summary = read_csv(await client.get("/v1/supervisor/reports/summary", params=params,
                                        headers=bearer(token)))  # fmt: skip
    assert summary[0][0] == "metric" and {"value", "numerator", "denominator"} <= set(summary[0])
    assert [row[0] for row in summary[1:]][:1] == ["conversations"]
    series = read_csv(await client.get("/v1/supervisor/reports/timeseries",
                                       params={**params, "bucket": "hour"},
                                       headers=bearer(token)))  # fmt: skip
    assert series[0][0] == "bucket_start" and series[1][0] == f"{DAY}T00:00+08:00"
    assert len(series) == 25
    intents = read_csv(await client.get("/v1/supervisor/reports/intents", params=params,
                                        headers=bearer(token)))  # fmt: skip
    assert intents[0][:2] == ["intent", "conversations"]
    drill = await client.get(
        "/v1/supervisor/reports/drilldown",
        params={**params, "metric": "handoffs"},
        headers=bearer(token),
    )
    assert [row[0] for row in read_csv(drill)] == ["id", "c-agent-1", "c-agent-2"]
    assert 'filename="drilldown-handoffs-numerator-' in drill.headers["content-disposition"]


@pytest.mark.anyio
async def test_drilldown_and_transcript_are_audited_and_masked(client: httpx.AsyncClient) -> None:
    token = await new_supervisor(client)
    r = await client.get("/v1/supervisor/reports/drilldown",
                         params={**WINDOW, "metric": "service_level", "part": "numerator"},
                         headers=bearer(token))  # fmt: skip
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["conversations"]] == ["c-agent-1"] and r.json()["total"] == 1
    hour = await client.get("/v1/supervisor/reports/drilldown",
                            params={**WINDOW, "metric": "conversations", "bucket": "hour",
                                    "bucket_start": str(data.BASE + 9 * data.H)},
                            headers=bearer(token))  # fmt: skip
    assert [c["id"] for c in hour.json()["conversations"]] == ["c-bot-1", "c-bot-2"]

    r = await client.get("/v1/supervisor/conversations/c-agent-1", headers=bearer(token))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    found = r.json()
    texts = [m["text"] for m in found["messages"]]
    assert any(data.MASKED_PHONE in t for t in texts) and "13800138000" not in r.text
    assert [m["sender"] for m in found["messages"]] == ["customer", "bot", "agent"]
    assert found["turns"][0]["intent"] == "complain" and found["handoffs"][0]["id"] == "h1"
    missing = await client.get("/v1/supervisor/conversations/c-nope", headers=bearer(token))
    assert missing.status_code == 404

    audit = await client.get("/v1/audit", params={"actor": "supervisor:sup-li"},
                             headers=bearer(ADMIN))  # fmt: skip
    entries = [(e["action"], e["conversation"]) for e in audit.json()]
    assert ("transcript", "c-agent-1") in entries
    assert ("drilldown", "c-agent-1") in entries and ("drilldown", "c-bot-2") in entries
    assert ("transcript", "c-nope") not in entries


@pytest.mark.anyio
async def test_an_unreadable_archive_is_a_503(
    make_client: Callable[..., Any], tmp_path: Path
) -> None:
    missing = tmp_path / "nothing-yet"
    client = await make_client(archive_url=SecretStr(data.archive_url(missing)))
    token = await new_supervisor(client)
    r = await client.get("/v1/supervisor/reports/summary", headers=bearer(token))
    assert r.status_code == 503 and r.json() == {"error": "archive_unavailable"}
    assert not (missing / "archive.sqlite3").exists()  # a read never creates the archive
    # a file without the archive's tables: the same
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "archive.sqlite3").touch()
    client = await make_client(archive_url=SecretStr(data.archive_url(empty)))
    r = await client.get("/v1/supervisor/reports/intents", headers=bearer(token))
    assert r.status_code == 503 and r.json() == {"error": "archive_unavailable"}
    # the wallboard still shows what Redis holds
    board = await client.get("/v1/supervisor/wallboard", headers=bearer(token))
    assert board.status_code == 200 and board.json()["today"] == []


# -- the wallboard ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_wallboard_shows_queues_agents_by_state_and_today(
    client: httpx.AsyncClient, make_engine: Callable[..., Engine]
) -> None:
    engine = make_engine()
    token = await new_supervisor(client)
    await agent(engine, "a-free", {"billing": 3}, max_concurrent=2)
    await agent(engine, "a-busy", {"roaming": 3}, max_concurrent=1)
    await agent(engine, "a-away", {"billing": 3}, status=Presence.away)
    await agent(engine, "a-off", {"billing": 3}, status=None)
    await engine.create_handoff(handoff("conv-1", skills=["roaming"]))  # offered to a-busy
    await engine.create_handoff(handoff("conv-2", skills=["roaming"]))  # waits
    r = await client.get("/v1/supervisor/wallboard", headers=bearer(token))
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["agents"]["counts"] == {"available": 1, "busy": 1, "away": 1, "offline": 1}
    states = {a["agent_id"]: a["state"] for a in board["agents"]["list"]}
    assert states == {"a-free": "available", "a-busy": "busy", "a-away": "away",
                      "a-off": "offline"}  # fmt: skip
    roaming = next(q for q in board["queues"] if q["queue"] == "roaming")
    assert roaming["depth"] == 1 and roaming["oldest_since_ms"] == board["generated_ms"]
    # today (China time) in the archive: nothing on the test clock's day, but every number
    assert [n["metric"] for n in board["today"]][:2] == ["service_level", "asa"]
    assert board["today"][0]["label"] == "服务水平"
