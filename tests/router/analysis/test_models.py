"""The model registry's routes (router/analysis/models.py) on a registry in tmp_path: who may call
them (401/403), the gate refusing a promotion, rollback with nothing before, a model's report,
one retraining at a time; and the pure decisions of the rollout and the retraining.

The retraining here is a stand-in interpreter (a shell script given as ROUTER_RETRAIN_PYTHON) that
writes the progress file the way scripts/retrain.py does and waits to be released: the real one
trains a model for minutes (tests/analysts runs it, and promotes and rolls back into real Rasa
instances while a customer talks).
"""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from router import analysis
from router.analysis import retraining, rollout
from router.app import create_app
from router.gateway.instances import Health
from router.settings import Settings
from telecom.registry import Registry
from tests.router.conftest import ADMIN, SERVICE, FakeClock, bearer

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """Two models: the one in service and a challenger whose gate failed."""
    reg = Registry(tmp_path / "registry")
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not a real model: never loaded here")
    reg.ensure_champion(model, now=NOW)
    model.write_bytes(b"another one")
    failed = reg.add(model, {"trained_by": "ana"}, now=NOW.replace(hour=11))
    reg.record_metrics(failed, {"blind": {"macro_f1": 0.5}}, {"passed": False, "reasons": ["x"]})
    (reg.folder(failed) / "report.json").write_text(json.dumps({"gate": {"passed": False}}))
    (reg.folder(failed) / "report.md").write_text("# 对比\n")
    return reg


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """An 'interpreter' that writes a training progress, then waits until `release` exists and
    finishes; its arguments are kept in args.txt."""
    script = tmp_path / "python"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args.txt\n'
        'progress="$4"\n'
        'echo \'{"state": "training", "step": 1, "steps": 5, "message": "训练中"}\' > "$progress"\n'
        "echo training started\n"
        f"while [ ! -e {tmp_path}/release ]; do sleep 0.05; done\n"
        'echo \'{"state": "done", "step": 5, "steps": 5, "message": "完成"}\' > "$progress"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings],
    clock: FakeClock,
    registry: Registry,
    stand_in: Path,
    tmp_path: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        model_registry=registry.root,
        retrain_python=stand_in,
        data_dir=tmp_path / "data",
        # nothing listens there: a promotion's loads fail, which the answer says
        gateway={"rasa_url": "http://127.0.0.1:9"},
    )
    app = create_app(settings, clock=clock, timers=False, gateway=False)
    if not any(getattr(route, "path", "") == "/v1/models" for route in app.routes):
        analysis.install(app)  # the app factory installs them once it knows of them
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as c:
            yield c


async def tokens(client: httpx.AsyncClient) -> dict[str, str]:
    """An analyst's, a supervisor's and the service's tokens."""
    made = {"service": SERVICE}
    for kind, prefix in (("analysts", "an"), ("supervisors", "sv")):
        r = await client.put(f"/v1/{kind}/{prefix}-1", json={"display_name": "王"},
                             headers=bearer(ADMIN))  # fmt: skip
        assert r.status_code == 201, r.text
        made[kind] = r.json()["token"]
    return made


ROUTES = [
    ("GET", "/v1/models"),
    ("GET", "/v1/models/m20261205-110000-00000000"),
    ("GET", "/v1/models/retrain"),
    ("POST", "/v1/models/retrain"),
    ("POST", "/v1/models/m20261205-110000-00000000/promote"),
    ("POST", "/v1/models/rollback"),
]


@pytest.mark.anyio
async def test_only_analysts_and_the_admin_reach_the_models(client: httpx.AsyncClient) -> None:
    made = await tokens(client)
    for method, path in ROUTES:
        assert (await client.request(method, path)).status_code == 401, path
        wrong = bearer("an~an-1." + "x" * 43)
        assert (await client.request(method, path, headers=wrong)).status_code == 401, path
        for caller in (made["supervisors"], made["service"]):
            r = await client.request(method, path, headers=bearer(caller))
            assert r.status_code == 403, (path, r.text)
    for caller in (made["analysts"], ADMIN):
        r = await client.get("/v1/models", headers=bearer(caller))
        assert r.status_code == 200, r.text


@pytest.mark.anyio
async def test_the_list_shows_the_models_and_the_service_alias(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    made = await tokens(client)
    body = (await client.get("/v1/models", headers=bearer(made["analysts"]))).json()
    champion = registry.service()
    assert body["service"] == champion
    assert [m["model_id"] for m in body["models"]] == [m["model_id"] for m in registry.models()]
    assert [h["action"] for h in body["history"]] == ["promote"]
    challenger = body["models"][0]["model_id"]
    detail = (await client.get(f"/v1/models/{challenger}", headers=bearer(ADMIN))).json()
    assert detail["service"] is False and detail["model"]["gate"]["passed"] is False
    assert detail["report"] == {"gate": {"passed": False}}
    assert detail["report_markdown"] == "# 对比\n"
    assert (await client.get(f"/v1/models/{champion}", headers=bearer(ADMIN))).json()["service"]


@pytest.mark.anyio
async def test_the_gate_and_the_history_refuse_what_cannot_be_done(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    made = await tokens(client)
    analyst = bearer(made["analysts"])
    failed = registry.models()[0]["model_id"]
    r = await client.post(f"/v1/models/{failed}/promote", headers=analyst)
    assert (r.status_code, r.json()) == (409, {"error": "gate_failed"})
    r = await client.post("/v1/models/m20990101-000000-00000000/promote", headers=analyst)
    assert (r.status_code, r.json()) == (404, {"error": "no_such_model"})
    r = await client.get("/v1/models/m20990101-000000-00000000", headers=analyst)
    assert (r.status_code, r.json()) == (404, {"error": "no_such_model"})
    for bad in ("..", "m1", "m20990101-000000-0000000G"):
        assert (await client.get(f"/v1/models/{bad}", headers=analyst)).status_code in (404, 422)
    r = await client.post("/v1/models/rollback", headers=analyst)
    assert (r.status_code, r.json()) == (409, {"error": "nothing_to_roll_back"})
    assert registry.service() == registry.models()[1]["model_id"]  # nothing moved


@pytest.mark.anyio
async def test_an_instance_that_does_not_load_the_model_makes_a_502_naming_it(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    challenger = registry.models()[0]["model_id"]
    registry.record_metrics(challenger, {}, {"passed": True, "reasons": []})
    r = await client.post(f"/v1/models/{challenger}/promote", headers=bearer(ADMIN))
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["error"] == "model_load_failed" and body["service"] == challenger
    assert [(x["instance"], x["ok"], x["error"]) for x in body["loaded"]] == [
        ("http://127.0.0.1:9", False, "ConnectError")
    ]
    # the alias moved, recorded with who did it
    assert registry.service() == challenger
    assert registry.aliases()["history"][-1]["by"] == "admin"
    assert registry.get(challenger)["promoted_by"] == "admin"
    r = await client.post("/v1/models/rollback", headers=bearer(ADMIN))
    assert r.status_code == 502 and r.json()["service"] == registry.models()[1]["model_id"]


@pytest.mark.anyio
async def test_one_retraining_at_a_time_with_its_progress_and_output(
    client: httpx.AsyncClient, registry: Registry, tmp_path: Path
) -> None:
    made = await tokens(client)
    analyst = bearer(made["analysts"])
    idle = (await client.get("/v1/models/retrain", headers=analyst)).json()
    assert idle == {"progress": {"state": "idle"}, "running": False, "log": []}
    r = await client.post("/v1/models/retrain", headers=analyst)
    assert r.status_code == 202 and r.json()["running"] is True
    again = await client.post("/v1/models/retrain", headers=bearer(ADMIN))
    assert (again.status_code, again.json()) == (409, {"error": "retrain_running"})
    status = await wait_for(client, analyst, lambda s: s["progress"].get("state") == "training")
    assert status["progress"]["steps"] == 5 and status["log"] == ["training started"]
    args = (tmp_path / "args.txt").read_text().split()
    progress = tmp_path / "data" / "retrain" / "progress.json"
    assert args == ["-m", "scripts.retrain", "--progress", str(progress.resolve()),
                    "--registry", str(registry.root), "--by", "an-1"]  # fmt: skip
    (tmp_path / "release").touch()
    done = await wait_for(client, analyst, lambda s: not s["running"])
    assert done["progress"]["state"] == "done"
    assert (await client.post("/v1/models/retrain", headers=analyst)).status_code == 202


async def wait_for(
    client: httpx.AsyncClient, headers: dict[str, str], until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """GET /v1/models/retrain until `until` holds (the stand-in runs on its own)."""
    for _ in range(1200):
        status: dict[str, Any] = (await client.get("/v1/models/retrain", headers=headers)).json()
        if until(status):
            return status
        await anyio.sleep(0.05)
    raise AssertionError(status)


# -- pure decisions ----------------------------------------------------------------------------


def test_an_instance_is_held_out_only_while_another_one_serves() -> None:
    instances = ("http://a", "http://b")
    health = Health(instances, cooldown_s=5.0, clock=lambda: 0.0)
    assert rollout.may_hold("http://a", instances, health)
    health.hold("http://b")
    assert not health.up("http://b") and not health.claim("http://b")
    assert not rollout.may_hold("http://a", instances, health)
    assert not rollout.may_hold("http://a", ("http://a",), Health(("http://a",), 5.0))
    assert health.failures("http://b") == 0  # a hold is not a failure
    health.failed("http://b")  # a turn sent before the hold timed out during it
    assert not health.claim("http://b")  # still held: not probed
    health.end_hold("http://b", answered=True)
    assert health.up("http://b") and health.claim("http://b")
    health.hold("http://a")
    health.end_hold("http://a", answered=False)  # it never answered the load: down, then probed
    assert not health.up("http://a") and health.failures("http://a") == 1


def test_a_rasa_error_is_named_by_its_reason_never_its_message() -> None:
    body = {"status": "failure", "reason": "LoadingError", "message": "path /x/y failed"}
    assert rollout.rasa_error(httpx.Response(500, json=body)) == "LoadingError"
    assert rollout.rasa_error(httpx.Response(400, text="<html>")) == "status_400"
    assert rollout.rasa_error(httpx.Response(400, json={"reason": "a b"})) == "status_400"


def test_a_retraining_that_stopped_without_finishing_shows_as_failed() -> None:
    assert retraining.effective(None, False) == {"state": "idle"}
    training = {"state": "training", "step": 2, "steps": 5, "message": "m"}
    assert retraining.effective(training, True) == training
    assert retraining.effective(training, False)["state"] == "failed"
    done = {"state": "done", "step": 5, "steps": 5, "message": "m", "model_id": "x"}
    assert retraining.effective(done, False) == done


def test_the_retraining_gets_no_secret_of_the_router() -> None:
    env = {"PATH": "/bin", "ROUTER_ADMIN_TOKEN": "s", "ASSISTANT_RASA_TOKEN": "t", "HOME": "/h"}
    child = retraining.child_env(env)
    assert not any(k.startswith(("ROUTER_", "ASSISTANT_")) for k in child)
    assert child["PATH"] == "/bin" and child["PYTHONPATH"] == str(retraining.PROJECT)
    command = retraining.retrain_command(Path("/py"), Path("/p.json"), Path("/r"), None, "an-1")
    assert "--config" not in command
    with_config = retraining.retrain_command(Path("/py"), Path("/p"), Path("/r"), Path("/c"), "x")
    assert with_config[-2:] == ["--config", "/c"]
