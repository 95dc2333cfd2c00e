"""The real assistant (action server + Rasa server) for the gateway's end-to-end browser test.

Runs in the bot environment (Python 3.10, `.venv-bot`), started by the router-side test:

    .venv-bot/bin/python -m tests.gateway.serve_assistant --rasa-port P --router-url U \
        --service-token T --rasa-token R --db PATH --logs DIR

Starts the action server on a free port, then Rasa on P (scripts/services.py), with the action
server pointed at the router (ASSISTANT_ROUTER_URL / ASSISTANT_SERVICE_TOKEN) and a throwaway
subscriber database (ASSISTANT_DB_PATH). Rasa's gateway channel and HTTP API require R
(ASSISTANT_RASA_TOKEN; give the router the same value as ROUTER_RASA_TOKEN); without
--rasa-token the environment's ASSISTANT_RASA_TOKEN is used. The action server's token and the
assistant's secrets are fresh per run unless the environment sets them. Prints "ready" once
both answer; stops both on SIGTERM (or SIGINT).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import sys
import time

import scripts.services as services
from scripts.services import assistant_env, free_port, start_actions, start_rasa
from telecom.secrets import new_secret


class Stop(Exception):
    """SIGTERM/SIGINT: unwinds whatever is running (even a wait for readiness)."""


def _stop(signum: int, frame: object) -> None:
    raise Stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rasa-port", type=int, required=True)
    parser.add_argument("--router-url", required=True)
    parser.add_argument("--service-token", required=True)
    parser.add_argument("--rasa-token", default=os.environ.get("ASSISTANT_RASA_TOKEN"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--logs", required=True)
    args = parser.parse_args()

    started: list[services.Service] = []
    spawn = services._spawn

    def tracked(*a, **k):  # type: ignore[no-untyped-def]
        # every spawned process is stopped on exit, even one still starting up
        service = spawn(*a, **k)
        started.append(service)
        return service

    services._spawn = tracked
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)

    logs = pathlib.Path(args.logs)
    if not args.rasa_token:
        parser.error("--rasa-token (or ASSISTANT_RASA_TOKEN) is required")
    secrets = {
        name: os.environ.get(name) or new_secret()
        for name in ("ASSISTANT_IDENTITY_SECRET", "ASSISTANT_ID_PEPPER")
    }
    env = assistant_env(
        **secrets,
        ASSISTANT_ROUTER_URL=args.router_url,
        ASSISTANT_SERVICE_TOKEN=args.service_token,
        ASSISTANT_RASA_TOKEN=args.rasa_token,
        ASSISTANT_DB_PATH=args.db,
    )
    try:
        actions = start_actions(free_port(), logs, env)
        rasa = start_rasa(args.rasa_port, actions.url, logs, env)
        print(f"ready actions={actions.url} rasa={rasa.url}", flush=True)
        while True:
            time.sleep(0.5)
            for service in started:
                if service.process.poll() is not None:
                    print(f"{service.name} exited:\n{service.tail()}", file=sys.stderr, flush=True)
                    return 1
    except Stop:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for service in reversed(started):
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
