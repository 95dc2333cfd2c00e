"""`make run`: starts everything with per-install secrets and says where to chat.

Starts, in this order, every process on 127.0.0.1:
  1. Redis (unless REDIS_URL is given): its own redis-server, data and AOF in var/router — the
     router's live state and the assistant's lock store (ASSISTANT_REDIS_URL);
  2. the action server (:5055);
  3. ASSISTANT_INSTANCES (default 2) Rasa servers with the gateway channel (:5005, :5006, …),
     in parallel, sharing one durable tracker store (ASSISTANT_TRACKER_STORE_URL, default
     sqlite:///var/assistant/trackers.sqlite3) and the Redis lock store, each serving the model
     registry's service model (ASSISTANT_MODEL_REGISTRY, default models/registry) once one was
     promoted, else models/assistant.tar.gz;
  4. the router with the gateway and the pages (:8400), sending each conversation to one of
     the instances (ROUTER_GATEWAY__RASA_URL, a comma list);
creates the demo agents, and prints the URLs and the demo subscribers.

It then supervises: an assistant instance, the action server or the router that exits
unexpectedly is started again on the same port (checked every second, logged), so a crashed or
killed process comes back by itself. Ctrl-C (or SIGTERM) stops all.

Secrets: generated once into var/secrets.env (mode 0600, scripts/secrets.py) and passed to each
process; a variable set in the environment wins. The assistant's processes get the assistant's
secrets, the router the router's (and the Rasa token, as ROUTER_RASA_TOKEN).

    python -m scripts.run [--shell] [--var DIR] [--free-ports] [--ready-file PATH]

--var DIR          everything the run writes goes under DIR (default var/): secrets.env,
                   subscribers.sqlite3 (unless ASSISTANT_DB_PATH is set), assistant/ (the
                   conversations, unless ASSISTANT_TRACKER_STORE_URL is set), router/ (Redis's
                   data, unless ROUTER_DATA_DIR is set), logs/, demo_agents.json
--free-ports       every port picked free instead of ASSISTANT_ACTIONS_PORT (5055),
                   ASSISTANT_RASA_PORT (5005; instance i gets 5005 + i - 1), ROUTER_PORT (8400)
--ready-file PATH  once everything answers, PATH gets (atomically) a JSON object with router_url,
                   rasa_url (the first instance), rasa_urls, actions_url, secrets_file, db_path,
                   logs_dir, agents_file, redis_url (only when the run started Redis), pids
                   {name: pid} and restarts {name: count}; rewritten after every restart
--shell            (`make shell`) starts the action server and chats in the terminal instead

ASSISTANT_TRACKER_STORE_URL=memory keeps conversations in each instance's memory (Rasa's own
store with idle expiry; a restart forgets them): for measurements, not for service.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from actions.store.__main__ import demo_table
from router.embedded_redis import RedisServer
from scripts import demo_agents, services
from scripts.paths import MODEL, MODELS, ROOT
from scripts.secrets import ensure_secrets
from telecom.registry import Registry

ASSISTANT_SECRETS = (
    "ASSISTANT_IDENTITY_SECRET",
    "ASSISTANT_ID_PEPPER",
    "ASSISTANT_ACTIONS_TOKEN",
    "ASSISTANT_RASA_TOKEN",
    "ASSISTANT_TICKETS_TOKEN",  # the ticket service on the action server (the router calls it)
)
ROUTER_SECRETS = (
    "ROUTER_ADMIN_TOKEN",
    "ROUTER_SERVICE_TOKEN",
    "ROUTER_PSEUDONYM_SECRET",
    "ROUTER_VOICE_TOKEN",  # the voice channel (router/gateway/voice), for python -m scripts.call
)
DEFAULT_INSTANCES = 2
# Rasa reads it: a conversation locked by a killed instance is free again within this many seconds
LOCK_LIFETIME_S = "15"
# a service that keeps failing to start is tried again after 1, 2, 4 … at most 30 s
MAX_BACKOFF_S = 30.0


class Stop(Exception):
    """SIGTERM/SIGINT: unwinds whatever is running, even a wait for a service to start."""


def _stop(signum: int, frame: object) -> None:
    raise Stop()


def instance_count(env: Mapping[str, str]) -> int:
    """ASSISTANT_INSTANCES: how many Rasa servers to start (≥ 1; default 2)."""
    raw = env.get("ASSISTANT_INSTANCES", "").strip() or str(DEFAULT_INSTANCES)
    try:
        count = int(raw)
    except ValueError:
        raise SystemExit(f"ASSISTANT_INSTANCES must be a whole number ≥ 1, not {raw!r}") from None
    if count < 1:
        raise SystemExit(f"ASSISTANT_INSTANCES must be ≥ 1, not {count}")
    return count


def model_registry(env: Mapping[str, str]) -> pathlib.Path:
    """The model registry (telecom.registry): ASSISTANT_MODEL_REGISTRY, else models/registry;
    the router gets it as ROUTER_MODEL_REGISTRY (promotion, rollback, retraining)."""
    given = env.get("ASSISTANT_MODEL_REGISTRY", "").strip()
    path = pathlib.Path(given).expanduser() if given else MODELS / "registry"
    return path if path.is_absolute() else ROOT / path


def served_model(registry: pathlib.Path) -> pathlib.Path:
    """The model an assistant instance starts with: the registry's service model once one was
    promoted, else the one `make train` built. Read at every start: an instance started again
    after a promotion serves the promoted model."""
    return Registry(registry).service_path() or MODEL


def tracker_store_url(env: Mapping[str, str], var: pathlib.Path) -> str | None:
    """The assistant's tracker store: ASSISTANT_TRACKER_STORE_URL, else SQLite under `var`;
    None for `memory` (each instance's own memory)."""
    given = env.get("ASSISTANT_TRACKER_STORE_URL", "").strip()
    if given == "memory":
        return None
    return given or f"sqlite:///{var / 'assistant' / 'trackers.sqlite3'}"


@dataclass(frozen=True)
class Layout:
    """Where a run writes (all under `var`) and which ports it uses."""

    var: pathlib.Path
    actions_port: int
    rasa_ports: tuple[int, ...]
    router_port: int

    @property
    def secrets_file(self) -> pathlib.Path:
        return self.var / "secrets.env"

    @property
    def logs(self) -> pathlib.Path:
        return self.var / "logs"

    @property
    def agents_file(self) -> pathlib.Path:
        return self.var / "demo_agents.json"

    def db_path(self, env: Mapping[str, str]) -> pathlib.Path:
        given = env.get("ASSISTANT_DB_PATH")
        if not given:
            return self.var / "subscribers.sqlite3"
        path = pathlib.Path(given).expanduser()
        return path if path.is_absolute() else ROOT / path

    def router_data(self, env: Mapping[str, str]) -> str:
        return env.get("ROUTER_DATA_DIR") or str(self.var / "router")


def layout(args: argparse.Namespace, env: Mapping[str, str], instances: int = 1) -> Layout:
    var = pathlib.Path(args.var).expanduser().resolve()
    if args.free_ports:
        actions, router = services.free_port(), services.free_port()
        rasa = tuple(services.free_port() for _ in range(instances))
    else:
        actions = int(env.get("ASSISTANT_ACTIONS_PORT", "5055"))
        first = int(env.get("ASSISTANT_RASA_PORT", "5005"))
        rasa = tuple(first + i for i in range(instances))
        router = int(env.get("ROUTER_PORT", "8400"))
    return Layout(var, actions, rasa, router)


def write_ready_file(path: pathlib.Path, ready: Mapping[str, object]) -> None:
    """`ready` as JSON at `path`, all at once: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(ready, indent=2))
    os.replace(partial, path)


def backoff_s(failures: int) -> float:
    """How long to wait before the next start after `failures` failed ones in a row."""
    return 0.0 if failures <= 0 else min(MAX_BACKOFF_S, 2.0 ** (failures - 1))


@dataclass
class Supervisor:
    """Keeps the named services running: one that exits is started again by its `starts`
    function (in a thread: loading a model takes a while and the others stay watched)."""

    running: dict[str, services.Service]
    starts: dict[str, Callable[[], services.Service]]
    on_restart: Callable[[], None] = lambda: None
    restarts: dict[str, int] = field(default_factory=dict)
    _failures: dict[str, int] = field(default_factory=dict)
    _not_before: dict[str, float] = field(default_factory=dict)
    _pending: set[str] = field(default_factory=set)
    _done: queue.Queue[tuple[str, services.Service | None]] = field(default_factory=queue.Queue)

    def step(self) -> None:
        """Take in the restarts that finished; restart what has exited."""
        while not self._done.empty():
            name, service = self._done.get()
            self._pending.discard(name)
            if service is None:
                self._failures[name] = self._failures.get(name, 0) + 1
                self._not_before[name] = time.monotonic() + backoff_s(self._failures[name])
                continue
            self.running[name] = service
            self._failures[name] = 0
            self.restarts[name] = self.restarts.get(name, 0) + 1
            print(f"{name} is running again (pid {service.process.pid})", flush=True)
            self.on_restart()
        for name, service in list(self.running.items()):
            code = service.process.poll()
            if code is None or name in self._pending:
                continue
            if time.monotonic() < self._not_before.get(name, 0.0):
                continue
            print(f"{name} exited (code {code}); starting it again", flush=True)
            service.stop()  # closes its log
            keep_log(service.log)
            self._pending.add(name)
            threading.Thread(target=self._restart, args=(name,), daemon=True).start()

    def _restart(self, name: str) -> None:
        try:
            service: services.Service | None = self.starts[name]()
        except Exception as error:  # logged; tried again after a pause
            print(f"{name} did not start again: {error}", flush=True)
            service = None
        self._done.put((name, service))

    def all(self) -> list[services.Service]:
        return list(self.running.values())


def keep_log(log: pathlib.Path) -> None:
    """The log of a process that exited is kept as NAME.log.1 (its restart writes NAME.log)."""
    with contextlib.suppress(OSError):
        log.replace(log.with_name(log.name + ".1"))


def start_in_parallel(
    starts: list[Callable[[], services.Service]], started: list[services.Service]
) -> list[services.Service]:
    """Run the `starts` at once; each service joins `started` as soon as it answers (so a stop
    stops it). Raises the first error once all have finished."""
    results: list[services.Service | None] = [None] * len(starts)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            results[i] = starts[i]()
            started.append(results[i])  # type: ignore[arg-type]
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(starts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def start_archive_consumer(log_dir: pathlib.Path, env: dict[str, str]) -> services.Service:
    """`python -m archive consume` in the router's environment: migrates the archive to head,
    then ingests the router's streams until stopped (no port: nothing to wait for)."""
    env = {**env, "PYTHONPATH": str(ROOT)}
    command = [str(services.ROUTER_PYTHON), "-m", "archive", "consume"]
    return services._spawn("archive", command, env, log_dir, "")


def start_demo_day(
    router_url: str, secrets_file: pathlib.Path, archive_url: str, log_dir: pathlib.Path
) -> subprocess.Popen[bytes]:
    """`python -m scripts.simulate --demo-day` against this run, in the background: yesterday
    generated into the archive, today's scenario played through the router (logs/demo-day.log)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHIVE_DATABASE_URL": archive_url}
    command = [str(services.ROUTER_PYTHON), "-m", "scripts.simulate", "--demo-day"]
    command += ["--router", router_url, "--secrets", str(secrets_file)]
    with (log_dir / "demo-day.log").open("wb") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_strays(timeout: float = 15.0) -> None:
    """Stop child processes no Service knows yet (one still starting when the stop came)."""
    pids = services.child_pids(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            pids.remove(pid)
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the assistant and the router.")
    parser.add_argument("--shell", action="store_true", help="chat in the terminal")
    parser.add_argument("--var", default=str(ROOT / "var"), help="where the run writes")
    parser.add_argument("--free-ports", action="store_true", help="pick free ports")
    parser.add_argument("--ready-file", help="JSON with the URLs and paths, once running")
    parser.add_argument(
        "--demo-day",
        action="store_true",
        help="once running, fill the archive with a demo day (python -m scripts.simulate)",
    )
    args = parser.parse_args()
    instances = 1 if args.shell else instance_count(os.environ)
    where = layout(args, os.environ, instances)
    secrets = ensure_secrets(where.secrets_file)
    router_url = f"http://127.0.0.1:{where.router_port}"
    db_path = where.db_path(os.environ)
    env = services.assistant_env(
        **{name: secrets[name] for name in ASSISTANT_SECRETS},
        ASSISTANT_SERVICE_TOKEN=secrets["ROUTER_SERVICE_TOKEN"],
        ASSISTANT_ROUTER_URL=os.environ.get("ASSISTANT_ROUTER_URL", router_url),
        ASSISTANT_DB_PATH=str(db_path),
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    started: list[services.Service] = []
    redis: RedisServer | None = None
    supervisor: Supervisor | None = None
    demo: subprocess.Popen[bytes] | None = None
    try:
        print(f"secrets: {where.secrets_file} (mode 0600; generated once)", flush=True)
        if args.shell:
            print("starting the action server …", flush=True)
            actions = services.start_actions(where.actions_port, where.logs, env)
            started.append(actions)
            print(demo_table())
            endpoints = where.logs / "endpoints.shell.yml"
            endpoints.write_text(services.endpoints_yaml(actions.url))
            command = [
                str(services.BIN / "rasa"),
                "shell",
                "--model",
                str(served_model(model_registry(os.environ))),
                "--endpoints",
                str(endpoints),
                "--interface",
                "127.0.0.1",
                "--port",
                str(where.rasa_ports[0]),
            ]
            subprocess.run(command, cwd=ROOT, env=env, check=False)
            return
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            print("starting Redis …", flush=True)
            redis = services.start_redis_server(pathlib.Path(where.router_data(os.environ)))
            redis_url = redis.url
        env["ASSISTANT_REDIS_URL"] = env.get("ASSISTANT_REDIS_URL") or redis_url
        # a password in the URL reaches Rasa's lock store through the environment, not the
        # endpoints file (scripts/services.py endpoints_yaml)
        password = urlsplit(env["ASSISTANT_REDIS_URL"]).password
        if password and not env.get("ASSISTANT_REDIS_PASSWORD"):
            env["ASSISTANT_REDIS_PASSWORD"] = password
        env["TICKET_LOCK_LIFETIME"] = env.get("TICKET_LOCK_LIFETIME") or LOCK_LIFETIME_S
        store_url = tracker_store_url(os.environ, where.var)
        if store_url is None:
            env.pop("ASSISTANT_TRACKER_STORE_URL", None)
        else:
            env["ASSISTANT_TRACKER_STORE_URL"] = store_url
            if store_url.startswith("sqlite:"):
                (where.var / "assistant").mkdir(parents=True, exist_ok=True)
        print("starting the action server …", flush=True)
        actions = services.start_actions(where.actions_port, where.logs, env)
        started.append(actions)

        registry = model_registry(os.environ)

        def rasa_start(i: int, port: int) -> Callable[[], services.Service]:
            return lambda: services.start_rasa(
                port, actions.url, where.logs, env, served_model(registry), name=f"rasa-{i}"
            )

        print(f"the assistant serves {served_model(registry)}", flush=True)

        rasa_starts = {f"rasa-{i}": rasa_start(i, p) for i, p in enumerate(where.rasa_ports, 1)}
        print(f"starting {instances} Rasa server(s) (loading a model takes a minute) …", flush=True)
        rasas = start_in_parallel(list(rasa_starts.values()), started)
        print("starting the router …", flush=True)
        archive_url = os.environ.get("ARCHIVE_DATABASE_URL") or (
            f"sqlite:///{where.var.resolve() / 'archive' / 'archive.sqlite3'}"
        )
        router_env = {
            **{k: v for k, v in env.items() if k not in ASSISTANT_SECRETS},
            "ROUTER_ARCHIVE_URL": archive_url,
            **{name: secrets[name] for name in ROUTER_SECRETS},
            "REDIS_URL": redis_url,
            "ROUTER_RASA_TOKEN": secrets["ASSISTANT_RASA_TOKEN"],
            # the service loop (router/tickets): the action server's ticket service, its token,
            # and the base of the follow-up links the router sends customers
            "ROUTER_TICKETS_URL": actions.url,
            "ROUTER_TICKETS_TOKEN": secrets["ASSISTANT_TICKETS_TOKEN"],
            "ROUTER_PUBLIC_URL": os.environ.get("ROUTER_PUBLIC_URL", router_url),
            "ROUTER_GATEWAY__RASA_URL": ",".join(r.url for r in rasas),
            "ROUTER_MODEL_REGISTRY": str(registry),
            "ROUTER_DATA_DIR": where.router_data(os.environ),
            # the API docs are open on a developer's machine (closed by default in production)
            "ROUTER_PUBLIC_DOCS": os.environ.get("ROUTER_PUBLIC_DOCS", "true"),
        }
        for name in ("ASSISTANT_SERVICE_TOKEN", "ASSISTANT_TRACKER_STORE_URL"):
            router_env.pop(name, None)
        router = services.start_router(where.router_port, where.logs, router_env)
        started.append(router)
        # the archive's consumer (router environment): the router's streams → var/archive
        archive_env = {
            **{k: v for k, v in router_env.items() if not k.startswith("ROUTER_")},
            "ARCHIVE_REDIS_URL": redis_url,
            "ARCHIVE_PSEUDONYM_KEY": secrets["ARCHIVE_PSEUDONYM_KEY"],
            "ARCHIVE_DATABASE_URL": archive_url,
        }
        archive = start_archive_consumer(where.logs, archive_env)
        started.append(archive)
        agents = demo_agents.ensure_demo_agents(
            router.url, secrets["ROUTER_ADMIN_TOKEN"], where.agents_file
        )
        agent_lines = "\n".join(f"  {a:<11} {n}  token: {t}" for a, n, t in agents)
        sup_id, sup_name, sup_token = demo_agents.ensure_demo_supervisor(
            router.url, secrets["ROUTER_ADMIN_TOKEN"], where.var / "demo_supervisors.json"
        )
        ana_id, ana_name, ana_token = demo_agents.ensure_demo_analyst(
            router.url, secrets["ROUTER_ADMIN_TOKEN"], where.var / "demo_analysts.json"
        )
        rasa_lines = "\n".join(
            f"  Assistant {r.name:<17} : {r.url}/webhooks/gateway/webhook" for r in rasas
        )
        store_shown = "in memory (each instance its own)" if store_url is None else "durable"
        if store_url is not None and store_url.startswith("sqlite:"):
            store_shown = store_url.removeprefix("sqlite:///")
        shown = where.secrets_file
        with_root = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
        print(
            f"""
Everything is running (every process on 127.0.0.1).
  Customer widget (demo page) : {router.url}/demo
  Agent console               : {router.url}/console   (log in with an agent id and token below)
  Supervisor wallboard        : {router.url}/wallboard (supervisor token below)
  Supervisor reports          : {router.url}/reports
  Analyst (inbox, models)     : {router.url}/analyst   (analyst token below)
  Router API docs             : {router.url}/docs      (admin token: ROUTER_ADMIN_TOKEN, below)
{rasa_lines}   (Bearer ASSISTANT_RASA_TOKEN)
  Conversations (tracker store): {store_shown}
  Redis (router, lock store)  : {"REDIS_URL" if redis is None else redis.url}
  Action server               : {actions.url}/health
  Logs                        : {where.logs}/
  Secrets                     : {shown}   (mode 0600; `grep ADMIN {with_root}`)

Demo agents (skills in scripts/demo_agents.py):
{agent_lines}
Demo supervisor:
  {sup_id:<11} {sup_name}  token: {sup_token}
Demo analyst:
  {ana_id:<11} {ana_name}  token: {ana_token}

{demo_table()}

A process that exits is started again. Ctrl-C stops everything.""",
            flush=True,
        )
        supervisor = Supervisor(
            running={
                "actions": actions,
                **{r.name: r for r in rasas},
                "router": router,
                "archive": archive,
            },
            starts={
                "actions": lambda: services.start_actions(where.actions_port, where.logs, env),
                **rasa_starts,
                "router": lambda: services.start_router(where.router_port, where.logs, router_env),
                "archive": lambda: start_archive_consumer(where.logs, archive_env),
            },
        )
        started.clear()  # the supervisor holds them now (and their replacements)

        def ready() -> None:
            if not args.ready_file:
                return
            assert supervisor is not None
            pids = {name: s.process.pid for name, s in supervisor.running.items()}
            if redis is not None and redis.process is not None:
                pids["redis"] = redis.process.pid
            info: dict[str, object] = {
                "router_url": router.url,
                "rasa_url": rasas[0].url,
                "rasa_urls": [r.url for r in rasas],
                "actions_url": actions.url,
                "secrets_file": str(where.secrets_file),
                "db_path": str(db_path),
                "logs_dir": str(where.logs),
                "agents_file": str(where.agents_file),
                "pids": pids,
                "restarts": dict(supervisor.restarts),
            }
            if redis is not None:
                info["redis_url"] = redis.url
            write_ready_file(pathlib.Path(args.ready_file), info)

        supervisor.on_restart = ready
        ready()
        if args.demo_day:
            demo = start_demo_day(router.url, where.secrets_file, archive_url, where.logs)
            print(f"filling a demo day in the background (log: {where.logs}/demo-day.log) …")
        while True:
            time.sleep(1.0)
            supervisor.step()
            if demo is not None and demo.poll() is not None:
                outcome = "done" if demo.returncode == 0 else f"failed ({demo.returncode})"
                print(f"demo day {outcome}: see {where.logs}/demo-day.log", flush=True)
                demo = None
    except (Stop, KeyboardInterrupt):
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        if demo is not None and demo.poll() is None:
            demo.terminate()
            demo.wait()
        for service in reversed(supervisor.all() if supervisor else started):
            service.stop()
        if redis is not None:
            redis.stop()
        stop_strays()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
