"""The whole product, started once per test session the way `make run` starts it, for the
attack tests: `scripts.run --var TMP --free-ports --ready-file F` in the bot environment, with a
throwaway redis-server of the test's own (so a test can make Redis hang) and per-install secrets
generated into TMP/secrets.env.

The tests run in the router environment (httpx, Playwright) and talk to the services over HTTP
only, as an attacker would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.embedded_redis import RedisServer, start_redis  # noqa: E402

BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"
START_TIMEOUT_S = 420.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(START_TIMEOUT_S + 180))


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


@dataclass
class Stack:
    """The running product: URLs, the per-install secrets, and where it keeps its files."""

    router_url: str
    rasa_url: str
    actions_url: str
    redis: RedisServer
    secrets: dict[str, str]
    secrets_file: Path
    db_path: Path
    logs_dir: Path
    agents_file: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def ws_url(self) -> str:
        return "ws" + self.router_url[len("http") :]

    def bearer(self, name: str) -> dict[str, str]:
        """Authorization header with one of the secrets (e.g. ROUTER_ADMIN_TOKEN)."""
        return {"Authorization": f"Bearer {self.secrets[name]}"}

    def agents(self) -> dict[str, str]:
        """Demo agent id → token (created by scripts.run)."""
        data = json.loads(self.agents_file.read_text())
        return {a["agent_id"]: a["token"] for a in data} if isinstance(data, list) else data

    def logs(self) -> str:
        """Everything the services have logged so far."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs_dir.glob("*.log")))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not BOT_PYTHON.exists():
        pytest.fail("the bot environment is missing: run `make env` first")
    base = tmp_path_factory.mktemp("stack")
    redis = start_redis(base / "redis", appendonly=False)
    var = base / "var"
    ready = base / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "ASSISTANT_"))}
    env.update({"PYTHONPATH": str(ROOT), "REDIS_URL": redis.url})
    log = (base / "run.log").open("wb")
    command = [str(BOT_PYTHON), "-m", "scripts.run", "--var", str(var), "--free-ports"]
    command += ["--ready-file", str(ready)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.exists():
            if process.poll() is not None:
                pytest.fail(f"scripts.run exited:\n{(base / 'run.log').read_text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the stack did not start in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.5)
        info = json.loads(ready.read_text())
        secrets_file = Path(info["secrets_file"])
        yield Stack(
            router_url=info["router_url"],
            rasa_url=info["rasa_url"],
            actions_url=info["actions_url"],
            redis=redis,
            secrets=read_env_file(secrets_file),
            secrets_file=secrets_file,
            db_path=Path(info["db_path"]),
            logs_dir=Path(info["logs_dir"]),
            agents_file=Path(info["agents_file"]),
            process=process,
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        redis.stop()


@pytest.fixture
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.router_url, timeout=30) as client:
        yield client


@dataclass
class Customer:
    """One customer conversation over the gateway's REST API (see router/gateway/customer.py)."""

    http: httpx.Client
    conversation_id: str
    resume_token: str
    last_seq: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Resume-Token": self.resume_token}

    def say(self, text: str, metadata: dict[str, object] | None = None) -> list[str]:
        """Send a turn; the texts of the bot's and the system's replies to it."""
        body: dict[str, object] = {"text": text}
        if metadata is not None:
            body["metadata"] = metadata
        reply = self.http.post(
            f"/v1/chat/{self.conversation_id}/messages", json=body, headers=self.headers
        )
        assert reply.status_code == 201, reply.text
        self.last_seq = reply.json()["seq"]
        return [m.get("text", "") for m in self.messages_after(self.last_seq)]

    def messages_after(self, seq: str | None, timeout: float = 0) -> list[dict[str, object]]:
        params: dict[str, str | float] = {"timeout": timeout}
        if seq:
            params["since"] = seq
        reply = self.http.get(
            f"/v1/chat/{self.conversation_id}/poll", params=params, headers=self.headers
        )
        assert reply.status_code == 200, reply.text
        return [m for m in reply.json()["messages"] if m.get("sender") != "customer"]


def open_conversation(http: httpx.Client, channel: str = "app") -> Customer:
    reply = http.post("/v1/chat/conversations", json={"channel": channel})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    return Customer(http, body["conversation_id"], body["resume_token"])


@pytest.fixture
def customer(http: httpx.Client) -> Customer:
    """A fresh conversation opened as a customer would."""
    return open_conversation(http)
