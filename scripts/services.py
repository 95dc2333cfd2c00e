"""Starts and stops the assistant's processes: the action server and the Rasa server.

Used by `make run`, the end-to-end tests and the benchmarks, so all three run the same thing.
Every process binds to 127.0.0.1; `free_port()` finds a port nobody uses.

Both assistant processes require a token (issue 12): the action server ASSISTANT_ACTIONS_TOKEN
(Rasa sends it, endpoints file `token:`), the Rasa server ASSISTANT_RASA_TOKEN (its HTTP API,
`?token=`, and the gateway channel, `Authorization: Bearer`). `assistant_env` gives each a fresh
value when the environment has none; the Rasa service carries its token (`Service.token`).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

from scripts.paths import MODEL, ROOT
from telecom.secrets import new_secret

BIN = pathlib.Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen
    log: pathlib.Path
    _files: list = field(default_factory=list)
    token: str = field(default="", repr=False)  # what callers of its API send

    def wait_ready(self, path: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}:\n{self.tail()}")
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(self.url + path, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s; see {self.log}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for handle in self._files:
            handle.close()


def _spawn(
    name: str, command: list[str], env: dict[str, str], log_dir: pathlib.Path, url: str
) -> Service:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    handle = log.open("w")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Service(name=name, url=url, process=process, log=log, _files=[handle])


TOKENS = ("ASSISTANT_ACTIONS_TOKEN", "ASSISTANT_RASA_TOKEN")


def assistant_env(**overrides: str) -> dict[str, str]:
    """The environment of the assistant's processes: os.environ, `overrides`, and a fresh value
    for each of TOKENS still unset."""
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(ROOT))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.update(overrides)
    for name in TOKENS:
        if not env.get(name):
            env[name] = new_secret()
    return env


def start_actions(port: int, log_dir: pathlib.Path, env: dict[str, str]) -> Service:
    """`python -m actions.server` (127.0.0.1, ASSISTANT_ACTIONS_TOKEN required)."""
    command = [str(BIN / "python"), "-m", "actions.server", "--port", str(port)]
    service = _spawn("actions", command, env, log_dir, f"http://127.0.0.1:{port}")
    service.token = env["ASSISTANT_ACTIONS_TOKEN"]
    service.wait_ready("/health")
    return service


def endpoints_yaml(actions_url: str) -> str:
    """Rasa's endpoints file for an action server at `actions_url`.

    The action server's token is `${ASSISTANT_ACTIONS_TOKEN}`, which Rasa reads from its
    environment when it loads the file (the file itself holds no secret); Rasa sends it as the
    `token` query parameter. `enable_selective_domain`: the 18 KB domain goes only to the
    actions that read it (the forms' `validate_*` actions, which Rasa marks itself), not with
    every action call. The tracker store forgets idle conversations (assistant/tracker_store.py).
    """
    return (
        "action_endpoint:\n"
        f'  url: "{actions_url}/webhook"\n'
        "  token: ${ASSISTANT_ACTIONS_TOKEN}\n"
        "  enable_selective_domain: true\n"
        "tracker_store:\n"
        "  type: assistant.tracker_store.IdleExpiringTrackerStore\n"
    )


def start_rasa(
    port: int,
    actions_url: str,
    log_dir: pathlib.Path,
    env: dict[str, str],
    model: pathlib.Path = MODEL,
) -> Service:
    """The Rasa server on 127.0.0.1:`port` with the gateway channel (credentials.yml) and the
    HTTP API, both behind ASSISTANT_RASA_TOKEN — which `assistant.server` passes to Rasa as
    `--auth-token` from the environment, so it is not on the command line."""
    log_dir.mkdir(parents=True, exist_ok=True)
    endpoints = log_dir / f"endpoints-{port}.yml"
    endpoints.write_text(endpoints_yaml(actions_url))
    command = [
        str(BIN / "python"),
        "-m",
        "assistant.server",  # rasa, with safer defaults and the fast paths
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    service = _spawn("rasa", command, env, log_dir, f"http://127.0.0.1:{port}")
    service.token = env["ASSISTANT_RASA_TOKEN"]
    service.wait_ready(f"/status?token={service.token}")
    return service


ROUTER_PYTHON = ROOT / ".venv-router" / "bin" / "python"


def start_router(port: int, log_dir: pathlib.Path, env: dict[str, str]) -> Service:
    """`python -m router` from the router's own environment (Python >= 3.11)."""
    env = {**env, "ROUTER_HOST": "127.0.0.1", "ROUTER_PORT": str(port)}
    env.pop("PYTHONPATH", None)
    env["PYTHONPATH"] = str(ROOT)
    service = _spawn(
        "router", [str(ROUTER_PYTHON), "-m", "router"], env, log_dir, f"http://127.0.0.1:{port}"
    )
    service.wait_ready("/healthz", timeout=60)
    return service


@contextlib.contextmanager
def assistant(
    log_dir: pathlib.Path, env: dict[str, str] | None = None
) -> Iterator[tuple[Service, Service]]:
    """The action server and the Rasa server on free ports, stopped on exit."""
    env = env or assistant_env()
    started: list[Service] = []
    try:
        actions = start_actions(free_port(), log_dir, env)
        started.append(actions)
        rasa = start_rasa(free_port(), actions.url, log_dir, env)
        started.append(rasa)
        yield actions, rasa
    finally:
        for service in reversed(started):
            service.stop()
