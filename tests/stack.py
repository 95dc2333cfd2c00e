"""The whole product for tests, started the way `make run` starts it.

`start_stack` runs `scripts.run --var VAR --free-ports --ready-file F` in the bot environment and
returns once everything answers; `Stack.stop` sends SIGTERM to scripts.run, which stops every
process it started. Tests run in the router environment and talk to the services over HTTP
only. Used by tests/security (with a Redis of the test's own, which a test can make hang) and
tests/durability (with the run's own Redis, as `make run` has it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.embedded_redis import RedisServer  # noqa: E402

BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"
START_TIMEOUT_S = 420.0
STOP_TIMEOUT_S = 90.0


class StackError(RuntimeError):
    """The product did not start (scripts.run exited or took too long); says why."""


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
    redis: RedisServer | None  # the test's own Redis, when it gave one
    secrets: dict[str, str]
    secrets_file: Path
    db_path: Path
    logs_dir: Path
    agents_file: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    ready_file: Path = field(repr=False)
    run_log: Path = field(repr=False)
    rasa_urls: list[str] = field(default_factory=list)

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

    def ready(self) -> dict[str, Any]:
        """The ready file as scripts.run last wrote it (it rewrites it after a restart)."""
        info: dict[str, Any] = json.loads(self.ready_file.read_text())
        return info

    def pids(self) -> dict[str, int]:
        """Process name (actions, rasa-1, rasa-2, router, redis) → pid, as now."""
        return dict(self.ready()["pids"])

    def run_output(self) -> str:
        return self.run_log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to scripts.run, which stops what it started; SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                pass
        # scripts.run hung or died: kill what it had started, then its group
        with contextlib.suppress(OSError, ValueError, KeyError):
            for pid in self.pids().values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start_stack(
    base: Path,
    *,
    var: Path | None = None,
    env: Mapping[str, str] | None = None,
    redis: RedisServer | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Stack:
    """`make run` under `base` (its --var is `var`, default base/var; starting again with the
    same `var` finds what the last run kept). `env`: variables for scripts.run on top of this
    environment without its ROUTER_* and ASSISTANT_* ones. `redis`: a Redis of the caller's
    (REDIS_URL), else scripts.run starts its own."""
    if not BOT_PYTHON.exists():
        raise StackError("the bot environment is missing: run `make env` first")
    base.mkdir(parents=True, exist_ok=True)
    var = var or base / "var"
    ready = base / "ready.json"
    ready.unlink(missing_ok=True)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "ASSISTANT_"))}
    run_env.pop("REDIS_URL", None)
    run_env["PYTHONPATH"] = str(ROOT)
    if redis is not None:
        run_env["REDIS_URL"] = redis.url
    run_env.update(env or {})
    run_log = base / f"run-{time.time_ns()}.log"
    command = [str(BOT_PYTHON), "-m", "scripts.run", "--var", str(var), "--free-ports"]
    command += ["--ready-file", str(ready)]
    with run_log.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=run_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack: Stack | None = None
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if process.poll() is not None:
                raise StackError(f"scripts.run exited:\n{run_log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise StackError(f"the stack did not start in {timeout:.0f} s")
            time.sleep(0.5)
        info = json.loads(ready.read_text())
        secrets_file = Path(info["secrets_file"])
        stack = Stack(
            router_url=info["router_url"],
            rasa_url=info["rasa_url"],
            rasa_urls=list(info.get("rasa_urls") or [info["rasa_url"]]),
            actions_url=info["actions_url"],
            redis=redis,
            secrets=read_env_file(secrets_file),
            secrets_file=secrets_file,
            db_path=Path(info["db_path"]),
            logs_dir=Path(info["logs_dir"]),
            agents_file=Path(info["agents_file"]),
            process=process,
            ready_file=ready,
            run_log=run_log,
        )
        return stack
    finally:
        if stack is None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextlib.contextmanager
def running_stack(base: Path, **kwargs: Any) -> Iterator[Stack]:
    """`start_stack(base, **kwargs)` for a fixture: a failed start fails the test with the run's
    log; the stack is stopped afterwards."""
    try:
        running = start_stack(base, **kwargs)
    except StackError as error:
        pytest.fail(str(error))
    try:
        yield running
    finally:
        running.stop()


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
