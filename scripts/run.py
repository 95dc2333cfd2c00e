"""`make run`: starts everything on embedded defaults and says where to chat.

Starts the action server (:5055), the Rasa server with the REST channel (:5005) and the router
with the gateway and the pages (:8400, its own embedded Redis in var/router), creates the demo
agents, and prints the URLs, the agents' tokens and the demo subscribers. Ctrl-C stops all.

`make shell` (--shell) starts the action server and chats in the terminal instead.
Ports: ASSISTANT_ACTIONS_PORT, ASSISTANT_RASA_PORT, ROUTER_PORT. Demo tokens: ROUTER_ADMIN_TOKEN,
ROUTER_SERVICE_TOKEN (defaults below are for the demo only).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from actions.store.__main__ import demo_table
from scripts import demo_agents, services
from scripts.paths import MODEL, ROOT

LOGS = ROOT / "var" / "logs"
DEMO_ADMIN_TOKEN = "demo-admin-token"
DEMO_SERVICE_TOKEN = "demo-service-token"


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the assistant and the router.")
    parser.add_argument("--shell", action="store_true", help="chat in the terminal")
    args = parser.parse_args()
    actions_port = int(os.environ.get("ASSISTANT_ACTIONS_PORT", "5055"))
    rasa_port = int(os.environ.get("ASSISTANT_RASA_PORT", "5005"))
    router_port = int(os.environ.get("ROUTER_PORT", "8400"))
    admin_token = os.environ.get("ROUTER_ADMIN_TOKEN", DEMO_ADMIN_TOKEN)
    service_token = os.environ.get("ROUTER_SERVICE_TOKEN", DEMO_SERVICE_TOKEN)
    router_url = f"http://127.0.0.1:{router_port}"
    env = services.assistant_env(
        ASSISTANT_ROUTER_URL=os.environ.get("ASSISTANT_ROUTER_URL", router_url),
        ASSISTANT_SERVICE_TOKEN=os.environ.get("ASSISTANT_SERVICE_TOKEN", service_token),
    )
    started: list[services.Service] = []
    try:
        print("starting the action server …", flush=True)
        actions = services.start_actions(actions_port, LOGS, env)
        started.append(actions)
        if args.shell:
            print(demo_table())
            endpoints = LOGS / "endpoints.shell.yml"
            endpoints.write_text(services.endpoints_yaml(actions.url))
            command = [
                str(services.BIN / "rasa"),
                "shell",
                "--model",
                str(MODEL),
                "--endpoints",
                str(endpoints),
            ]
            subprocess.run(command, cwd=ROOT, env=env, check=False)
            return
        print("starting the Rasa server (loading the model takes ~20 s) …", flush=True)
        rasa = services.start_rasa(rasa_port, actions.url, LOGS, env)
        started.append(rasa)
        print("starting the router with its embedded Redis …", flush=True)
        router_env = {
            **env,
            "ROUTER_ADMIN_TOKEN": admin_token,
            "ROUTER_SERVICE_TOKEN": service_token,
            "ROUTER_RASA_URL": rasa.url,
            "ROUTER_DATA_DIR": os.environ.get("ROUTER_DATA_DIR", str(ROOT / "var" / "router")),
        }
        router = services.start_router(router_port, LOGS, router_env)
        started.append(router)
        agents = demo_agents.ensure_demo_agents(
            router.url, admin_token, ROOT / "var" / "demo_agents.json"
        )
        agent_lines = "\n".join(f"  {a:<11} {n}  token: {t}" for a, n, t in agents)
        print(
            f"""
Everything is running.
  Customer widget (demo page) : {router.url}/demo
  Agent console               : {router.url}/console   (log in with an agent id and token below)
  Router API docs             : {router.url}/docs      (admin token: {admin_token})
  Rasa REST webhook           : {rasa.url}/webhooks/rest/webhook
  Action server               : {actions.url}/health
  Logs                        : {LOGS.relative_to(ROOT)}/

Demo agents (skills in scripts/demo_agents.py):
{agent_lines}

{demo_table()}

Ctrl-C stops everything.""",
            flush=True,
        )
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
    except KeyboardInterrupt:
        pass
    finally:
        for service in reversed(started):
            service.stop()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
