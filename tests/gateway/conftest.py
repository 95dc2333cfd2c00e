"""Fixtures of the gateway tests: a throwaway redis-server (free port, files in tmp), router
processes with the gateway mounted (tests/gateway/serve.py), agents, and headless Chromium."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.embedded_redis import RedisServer, free_port, start_redis  # noqa: E402
from tests.gateway.serve import ADMIN, SERVICE  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
_prefixes = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(180))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"), appendonly=False)
    yield server
    server.stop()


@dataclass
class Router:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :]


def _wait_ready(router: Router, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if router.process.poll() is not None:
            raise RuntimeError(f"router exited:\n{router.log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(router.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"router not ready; see {router.log}")


def spawn_router(redis_server: RedisServer, prefix: str, log: Path, *args: str) -> Router:
    """`python -m tests.gateway.serve` on a free port with `args`, its output in `log` (not
    waited for: `_wait_ready`)."""
    port = free_port()
    command = [sys.executable, "-m", "tests.gateway.serve", "--port", str(port),
               "--redis-url", redis_server.url, "--prefix", prefix, *args]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=handle,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return Router(f"http://127.0.0.1:{port}", process, log)


def stop_router(router: Router) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if router.process.poll() is None:
        router.process.send_signal(signal.SIGTERM)
        try:
            router.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            router.process.kill()
            router.process.wait()


@pytest.fixture
def start_routers(
    redis_server: RedisServer, tmp_path: Path
) -> Iterator[Callable[..., list[Router]]]:
    """start(n, bot="fake" | "rasa", rasa_url=None, gateway={settings.gateway fields}) → n router
    processes on one Redis, one prefix."""
    started: list[Router] = []
    prefix = f"gwt{next(_prefixes)}-{os.getpid()}:"

    def start(n: int = 1, bot: str = "fake", rasa_url: str | None = None,
              offer_timeout: float = 60.0, gateway: dict[str, object] | None = None,
              ) -> list[Router]:  # fmt: skip
        routers = []
        for _ in range(n):
            args = ["--bot", bot, "--offer-timeout", str(offer_timeout)]
            if rasa_url:
                args += ["--rasa-url", rasa_url]
            if gateway:
                args += ["--gateway", json.dumps(gateway)]
            log = tmp_path / f"router-{len(started)}.log"
            router = spawn_router(redis_server, prefix, log, *args)
            started.append(router)
            routers.append(router)
        for router in routers:
            _wait_ready(router)
        return routers

    yield start
    for router in started:
        stop_router(router)


@dataclass(frozen=True)
class Conversation:
    """A customer's conversation as the server issued it: its id and resume token."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Resume-Token": self.token}

    def resume_frame(self, since: str | None = None) -> str:
        frame = {"type": "resume", "conversation_id": self.id, "resume_token": self.token}
        if since:
            frame["since"] = since
        return json.dumps(frame)


def open_conversation(router: Router, channel: str = "app", **headers: str) -> Conversation:
    reply = httpx.post(f"{router.url}/v1/chat/conversations", json={"channel": channel},
                       headers=headers)  # fmt: skip
    assert reply.status_code == 201, reply.text
    body = reply.json()
    return Conversation(body["conversation_id"], body["resume_token"])


@pytest.fixture
def make_agent() -> Callable[..., str]:
    """make(router, agent_id, skills={...}, name=..., available=True) → the agent's token."""

    def make(router: Router, agent_id: str, skills: dict[str, int] | None = None,
             name: str | None = None, available: bool = True) -> str:  # fmt: skip
        body = {"display_name": name or agent_id, "skills": skills or {"billing": 3},
                "languages": ["zh"], "max_concurrent": 3}  # fmt: skip
        reply = httpx.put(f"{router.url}/v1/agents/{agent_id}", json=body, headers=bearer(ADMIN))
        assert reply.status_code in (200, 201), reply.text
        token: str = reply.json()["token"]
        if available:
            presence = httpx.post(
                f"{router.url}/v1/agents/{agent_id}/presence",
                json={"status": "available"},
                headers=bearer(token),
            )
            assert presence.status_code in (200, 204), presence.text
        return token

    return make


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright, headless with CHROMIUM_ARGS (skips without it)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install -r requirements/browser.txt"
    )
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


__all__ = ["ADMIN", "SERVICE", "Conversation", "Router", "bearer", "open_conversation"]
