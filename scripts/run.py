"""`make run`: starts everything on embedded defaults and says where to chat.

Starts the action server (:5055), the Rasa server with the REST channel (:5005) and, when the
router environment exists, the router (:8000, embedded Redis). Prints the URLs and the demo
subscribers to try. Ctrl-C stops everything it started.

`make shell` (--shell) starts the action server and chats in the terminal instead.
Ports: ASSISTANT_ACTIONS_PORT, ASSISTANT_RASA_PORT, ROUTER_PORT.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from scripts import services
from scripts.paths import MODEL, ROOT

LOGS = ROOT / "var" / "logs"


def demo_table() -> str:
    from actions.store.__main__ import demo_lines

    return "\n".join(demo_lines())


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the assistant (and the router).")
    parser.add_argument("--shell", action="store_true", help="chat in the terminal")
    args = parser.parse_args()
    env = services.assistant_env()
    actions_port = int(os.environ.get("ASSISTANT_ACTIONS_PORT", "5055"))
    rasa_port = int(os.environ.get("ASSISTANT_RASA_PORT", "5005"))
    started: list[services.Service] = []
    try:
        print("starting the action server …", flush=True)
        actions = services.start_actions(actions_port, LOGS, env)
        started.append(actions)
        if args.shell:
            print(demo_table())
            endpoints = LOGS / "endpoints.shell.yml"
            endpoints.write_text(f'action_endpoint:\n  url: "{actions.url}/webhook"\n')
            command = [str(services.BIN / "rasa"), "shell", "--model", str(MODEL),
                       "--endpoints", str(endpoints)]
            subprocess.run(command, cwd=ROOT, env=env, check=False)
            return
        print("starting the Rasa server (loading the model takes ~20 s) …", flush=True)
        rasa = services.start_rasa(rasa_port, actions.url, LOGS, env)
        started.append(rasa)
        print(f"""
Assistant running.
  Rasa REST webhook : {rasa.url}/webhooks/rest/webhook   (POST {{"sender": "me", "message": "查话费"}})
  Rasa HTTP API     : {rasa.url}/model/parse
  Action server     : {actions.url}/health
  Logs              : {LOGS.relative_to(ROOT)}/

Try it: curl -s {rasa.url}/webhooks/rest/webhook -d '{{"sender":"demo","message":"帮我查一下话费"}}'

{demo_table()}

Ctrl-C stops everything.""", flush=True)
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
