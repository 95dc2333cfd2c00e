"""The model registry from the command line, through the running router's API (so there is one
way models reach the assistant: the router moves the alias and every instance loads the model).

    python -m scripts.models list
    python -m scripts.models promote <model_id>
    python -m scripts.models rollback

    --router URL    the router (default ROUTER_URL, else http://127.0.0.1:8400)
    --secrets FILE  the install's secrets (default var/secrets.env): ROUTER_ADMIN_TOKEN is read
                    from it unless the environment sets it

Standard library only: it runs in either environment. Exit status 0 on success, 1 when the
router refused or an instance did not load the model, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.paths import ROOT
from scripts.secrets import parse

# promoting waits while each instance loads the model (a minute or more each)
TIMEOUT_S = 1800.0


def admin_token(env: Mapping[str, str], secrets_file: Path) -> str:
    token = env.get("ROUTER_ADMIN_TOKEN", "").strip()
    if token:
        return token
    try:
        token = parse(secrets_file.read_text()).get("ROUTER_ADMIN_TOKEN", "")
    except OSError:
        token = ""
    if not token:
        raise SystemExit(f"no ROUTER_ADMIN_TOKEN in the environment or in {secrets_file}")
    return token


def call(router: str, method: str, path: str, token: str) -> tuple[int, Any]:
    """One request to the router: (status, JSON body or None)."""
    request = urllib.request.Request(
        router.rstrip("/") + path,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except urllib.error.URLError as error:
        raise SystemExit(f"the router at {router} did not answer: {error.reason}") from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def f1(meta: Mapping[str, Any]) -> str:
    """The model's macro-F1 on the golden set (metrics["blind"], scripts/retrain_report.py), or
    '-' before it was evaluated."""
    metrics = meta.get("metrics")
    blind = metrics.get("blind") if isinstance(metrics, dict) else None
    value = blind.get("macro_f1") if isinstance(blind, dict) else None
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def list_lines(body: Mapping[str, Any]) -> list[str]:
    """The models, newest first: id, in service, gate, macro-F1, who trained it."""
    service = body.get("service")
    lines = [f"{'model':<28} {'':<8} {'gate':<6} {'macro-F1':<9} trained by"]
    for meta in body.get("models", []):
        gate = "passed" if (meta.get("gate") or {}).get("passed") else "failed"
        mark = "service" if meta.get("model_id") == service else ""
        by = meta.get("trained_by") or "-"
        lines.append(f"{meta.get('model_id', '?'):<28} {mark:<8} {gate:<6} {f1(meta):<9} {by}")
    if len(lines) == 1:
        lines.append("(the registry is empty: the assistant serves models/assistant.tar.gz)")
    return lines


def change_lines(status: int, body: Any) -> list[str]:
    """The outcome of a promotion or rollback: the service model and each instance's load."""
    if not isinstance(body, dict) or "service" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        return [f"refused ({status}): {error or 'no answer body'}"]
    lines = [f"service model: {body['service']}"]
    for loaded in body.get("loaded", []):
        outcome = "loaded" if loaded.get("ok") else f"NOT loaded ({loaded.get('error')})"
        lines.append(f"  {loaded.get('instance')}: {outcome}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The model registry, through the router.")
    parser.add_argument("--router", default=os.environ.get("ROUTER_URL", "http://127.0.0.1:8400"))
    parser.add_argument("--secrets", type=Path, default=ROOT / "var" / "secrets.env")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the models, their gate and the one in service")
    promote = commands.add_parser("promote", help="put a model into service")
    promote.add_argument("model_id")
    commands.add_parser("rollback", help="put the model that served before back into service")
    args = parser.parse_args(argv)
    token = admin_token(os.environ, args.secrets)
    if args.command == "list":
        status, body = call(args.router, "GET", "/v1/models", token)
        if status != 200 or not isinstance(body, dict):
            print(f"refused ({status})", file=sys.stderr)
            return 1
        print("\n".join(list_lines(body)))
        return 0
    if args.command == "promote":
        status, body = call(args.router, "POST", f"/v1/models/{args.model_id}/promote", token)
    else:
        status, body = call(args.router, "POST", "/v1/models/rollback", token)
    print("\n".join(change_lines(status, body)), file=sys.stdout if status == 200 else sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
