"""`make run`: starts everything with per-install secrets and says where to chat.

Starts the action server (:5055), the Rasa server with the gateway channel (:5005) and the
router with the gateway and the pages (:8400, its own embedded Redis in var/router, or
REDIS_URL), creates the demo agents, and prints the URLs and the demo subscribers. Every process
binds 127.0.0.1. Ctrl-C (or SIGTERM) stops all.

Secrets: generated once into var/secrets.env (mode 0600, scripts/secrets.py) and passed to each
process; a variable set in the environment wins. The assistant's processes get the assistant's
secrets, the router the router's (and the Rasa token, as ROUTER_RASA_TOKEN).

    python -m scripts.run [--shell] [--var DIR] [--free-ports] [--ready-file PATH]

--var DIR          everything the run writes goes under DIR (default var/): secrets.env,
                   subscribers.sqlite3 (unless ASSISTANT_DB_PATH is set), router/ (unless
                   ROUTER_DATA_DIR is set), logs/, demo_agents.json
--free-ports       every port picked free instead of ASSISTANT_ACTIONS_PORT (5055),
                   ASSISTANT_RASA_PORT (5005), ROUTER_PORT (8400)
--ready-file PATH  once everything answers, PATH gets (atomically) a JSON object with router_url,
                   rasa_url, actions_url, secrets_file, db_path, logs_dir, agents_file
--shell            (`make shell`) starts the action server and chats in the terminal instead
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from actions.store.__main__ import demo_table
from scripts import demo_agents, services
from scripts.paths import MODEL, ROOT
from scripts.secrets import ensure_secrets

ASSISTANT_SECRETS = (
    "ASSISTANT_IDENTITY_SECRET",
    "ASSISTANT_ID_PEPPER",
    "ASSISTANT_ACTIONS_TOKEN",
    "ASSISTANT_RASA_TOKEN",
)
ROUTER_SECRETS = ("ROUTER_ADMIN_TOKEN", "ROUTER_SERVICE_TOKEN", "ROUTER_PSEUDONYM_SECRET")


class Stop(Exception):
    """SIGTERM/SIGINT: unwinds whatever is running, even a wait for a service to start."""


def _stop(signum: int, frame: object) -> None:
    raise Stop()


@dataclass(frozen=True)
class Layout:
    """Where a run writes (all under `var`) and which ports it uses."""

    var: pathlib.Path
    actions_port: int
    rasa_port: int
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


def layout(args: argparse.Namespace, env: Mapping[str, str]) -> Layout:
    var = pathlib.Path(args.var).expanduser().resolve()
    if args.free_ports:
        ports = [services.free_port() for _ in range(3)]
    else:
        ports = [
            int(env.get("ASSISTANT_ACTIONS_PORT", "5055")),
            int(env.get("ASSISTANT_RASA_PORT", "5005")),
            int(env.get("ROUTER_PORT", "8400")),
        ]
    return Layout(var, *ports)


def write_ready_file(path: pathlib.Path, ready: dict[str, str]) -> None:
    """`ready` as JSON at `path`, all at once: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(ready, indent=2))
    os.replace(partial, path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the assistant and the router.")
    parser.add_argument("--shell", action="store_true", help="chat in the terminal")
    parser.add_argument("--var", default=str(ROOT / "var"), help="where the run writes")
    parser.add_argument("--free-ports", action="store_true", help="pick free ports")
    parser.add_argument("--ready-file", help="JSON with the URLs and paths, once running")
    args = parser.parse_args()
    where = layout(args, os.environ)
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
    try:
        print(f"secrets: {where.secrets_file} (mode 0600; generated once)", flush=True)
        print("starting the action server …", flush=True)
        actions = services.start_actions(where.actions_port, where.logs, env)
        started.append(actions)
        if args.shell:
            print(demo_table())
            endpoints = where.logs / "endpoints.shell.yml"
            endpoints.write_text(services.endpoints_yaml(actions.url))
            command = [
                str(services.BIN / "rasa"),
                "shell",
                "--model",
                str(MODEL),
                "--endpoints",
                str(endpoints),
                "--interface",
                "127.0.0.1",
                "--port",
                str(where.rasa_port),
            ]
            subprocess.run(command, cwd=ROOT, env=env, check=False)
            return
        print("starting the Rasa server (loading the model takes ~20 s) …", flush=True)
        rasa = services.start_rasa(where.rasa_port, actions.url, where.logs, env)
        started.append(rasa)
        print("starting the router with its embedded Redis …", flush=True)
        router_env = {
            **{k: v for k, v in env.items() if k not in ASSISTANT_SECRETS},
            **{name: secrets[name] for name in ROUTER_SECRETS},
            "ROUTER_RASA_TOKEN": secrets["ASSISTANT_RASA_TOKEN"],
            "ROUTER_GATEWAY__RASA_URL": rasa.url,
            "ROUTER_DATA_DIR": where.router_data(os.environ),
            # the API docs are open on a developer's machine (closed by default in production)
            "ROUTER_PUBLIC_DOCS": os.environ.get("ROUTER_PUBLIC_DOCS", "true"),
        }
        router_env.pop("ASSISTANT_SERVICE_TOKEN", None)
        router = services.start_router(where.router_port, where.logs, router_env)
        started.append(router)
        agents = demo_agents.ensure_demo_agents(
            router.url, secrets["ROUTER_ADMIN_TOKEN"], where.agents_file
        )
        agent_lines = "\n".join(f"  {a:<11} {n}  token: {t}" for a, n, t in agents)
        shown = where.secrets_file
        with_root = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
        print(
            f"""
Everything is running (every process on 127.0.0.1).
  Customer widget (demo page) : {router.url}/demo
  Agent console               : {router.url}/console   (log in with an agent id and token below)
  Router API docs             : {router.url}/docs      (admin token: ROUTER_ADMIN_TOKEN, below)
  Rasa gateway channel        : {rasa.url}/webhooks/gateway/webhook   (Bearer ASSISTANT_RASA_TOKEN)
  Action server               : {actions.url}/health
  Logs                        : {where.logs}/
  Secrets                     : {shown}   (mode 0600; `grep ADMIN {with_root}`)

Demo agents (skills in scripts/demo_agents.py):
{agent_lines}

{demo_table()}

Ctrl-C stops everything.""",
            flush=True,
        )
        if args.ready_file:
            ready = {
                "router_url": router.url,
                "rasa_url": rasa.url,
                "actions_url": actions.url,
                "secrets_file": str(where.secrets_file),
                "db_path": str(db_path),
                "logs_dir": str(where.logs),
                "agents_file": str(where.agents_file),
            }
            write_ready_file(pathlib.Path(args.ready_file), ready)
        while True:
            signal.pause()
    except (Stop, KeyboardInterrupt):
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        for service in reversed(started):
            service.stop()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
