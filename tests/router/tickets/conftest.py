"""Fixtures of the service loop's router tests: the real action server (the bot venv's python, a
throwaway store, ASSISTANT_DEMO_MODE=true and a clock file), started once per session; routers
with the gateway mounted on the session's embedded Redis; tickets opened in the store as the
assistant opens them (seed.py); agents and supervisors issued by the admin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from router.app import create_app
from router.embedded_redis import free_port
from router.settings import Settings
from telecom.secrets import new_secret
from tests.router.conftest import ADMIN, bearer

ROOT = Path(__file__).resolve().parents[3]
BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"
SEED = Path(__file__).with_name("seed.py")
TICKETS_TOKEN = new_secret()


@dataclass
class ActionServer:
    url: str
    token: str
    env: dict[str, str]
    clock_file: Path
    db_path: Path
    log: Path

    def advance(self, hours: float) -> None:
        """Move the service's clock forward (the offset only grows: tickets of other tests keep
        their order)."""
        text = self.clock_file.read_text().strip()
        self.clock_file.write_text(str(float(text or 0) + hours * 3600))

    def seed(self, kind: str = "complaint", **spec: Any) -> str:
        """Open a ticket in the store as the assistant would; its id."""
        body = {"kind": kind, "phone": "13800138000", **spec}
        done = subprocess.run(
            [str(BOT_PYTHON), str(SEED), json.dumps(body)], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        ticket_id: str = json.loads(done.stdout.strip().splitlines()[-1])["id"]
        return ticket_id

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the store (the SMS outbox, the notices) the way an operator would."""
        import sqlite3

        with sqlite3.connect(self.db_path) as conn:
            return list(conn.execute(query, args).fetchall())


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"action server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"action server not ready; see {log}")


@pytest.fixture(scope="session")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    if not BOT_PYTHON.exists():
        pytest.fail("the bot venv is not installed: make env")
    base = tmp_path_factory.mktemp("actions")
    clock_file = base / "clock"
    clock_file.write_text("0")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "ASSISTANT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
        ASSISTANT_DEMO_MODE="true",
        ASSISTANT_CLOCK_OFFSET_FILE=str(clock_file),
        ASSISTANT_DB_PATH=str(base / "subscribers.sqlite3"),
        ASSISTANT_ACTIONS_TOKEN=new_secret(),
        ASSISTANT_TICKETS_TOKEN=TICKETS_TOKEN,
        ASSISTANT_IDENTITY_SECRET=new_secret(),
        ASSISTANT_ID_PEPPER=new_secret(),
        ASSISTANT_SERVICE_TOKEN=new_secret(),
        ASSISTANT_ROUTER_URL="http://127.0.0.1:9",
    )
    log = base / "actions.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(BOT_PYTHON), "-m", "actions.server", "--port", str(port)], cwd=ROOT, env=env,
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process, log)
        yield ActionServer(url, TICKETS_TOKEN, env, clock_file, base / "subscribers.sqlite3", log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Router:
    http: httpx.AsyncClient
    app: Any
    settings: Settings

    async def customer(self, channel: str = "web") -> dict[str, str]:
        """A new conversation of a customer: its id and resume token."""
        reply = await self.http.post("/v1/chat/conversations", json={"channel": channel})
        assert reply.status_code == 201, reply.text
        opened: dict[str, str] = reply.json()
        return opened

    async def history(self, opened: dict[str, str]) -> list[dict[str, Any]]:
        """The conversation's log as the gateway stores it (what a resume replays)."""
        found = await self.app.state.gateway.store.history(opened["conversation_id"])
        return [m.model_dump(exclude_none=True) for m in found]

    async def agent(self, agent_id: str) -> dict[str, str]:
        body = {"display_name": agent_id, "skills": {"billing": 3}, "languages": ["zh"],
                "max_concurrent": 2}  # fmt: skip
        reply = await self.http.put(f"/v1/agents/{agent_id}", json=body, headers=bearer(ADMIN))
        assert reply.status_code == 201, reply.text
        return bearer(reply.json()["token"])

    async def supervisor(self, supervisor_id: str) -> dict[str, str]:
        reply = await self.http.put(
            f"/v1/supervisors/{supervisor_id}", json={"display_name": supervisor_id},
            headers=bearer(ADMIN),
        )  # fmt: skip
        assert reply.status_code == 201, reply.text
        return bearer(reply.json()["token"])

    async def tick(self) -> dict[str, Any]:
        reply = await self.http.post("/v1/tickets/watch", headers=bearer(ADMIN))
        assert reply.status_code == 200, reply.text
        done: dict[str, Any] = reply.json()
        return done

    async def feed(self, kind: str = "ticket_step") -> list[dict[str, str]]:
        """The archive feed's entries of `kind` under this router's prefix."""
        redis = self.app.state.runtime.redis
        entries = await redis.xrange(self.app.state.runtime.engine.keys.archive())
        return [dict(fields) for _, fields in entries if fields.get("kind") == kind]


@pytest.fixture
async def make_router(
    make_settings: Callable[..., Settings], action_server: ActionServer
) -> AsyncIterator[Callable[..., Any]]:
    """`await make_router(**settings)` → a Router: an app with the gateway and the service loop
    on the action server (no background watcher unless ticket_watch_s is given), its lifespan
    run, an httpx client on it. Routers of one test share the test's key prefix."""
    started: list[tuple[Any, httpx.AsyncClient]] = []

    async def create(**overrides: Any) -> Router:
        values: dict[str, Any] = {
            "tickets_url": action_server.url,
            "tickets_token": SecretStr(action_server.token),
            "ticket_watch_s": 0,
            "public_url": "https://cs.example.cn",
        }
        values.update(overrides)
        settings = make_settings(**values)
        app = create_app(settings, timers=False)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router")
        started.append((lifespan, http))
        return Router(http, app, settings)

    yield create
    for lifespan, http in reversed(started):
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


__all__ = ["ActionServer", "Router", "free_port"]
