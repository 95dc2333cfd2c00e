"""Demo agents for `make run`: created through the router's admin API, tokens kept in var/.

A token is only returned when an agent is created, so the tokens of the demo agents are kept in
var/demo_agents.json (local, not committed) and printed again on the next run.
"""

from __future__ import annotations

import json
import pathlib
import urllib.error
import urllib.request

DEMO_AGENTS = [
    ("agent-li", "李晓梅", {"billing": 5, "plans_data": 4, "account_security": 3}),
    ("agent-wang", "王建国", {"roaming": 5, "plans_data": 3, "billing": 2}),
    ("agent-zhao", "赵海涛", {"network_faults": 5, "complaints": 3}),
    ("agent-chen", "陈雪", {"complaints": 5, "complaints_supervisor": 4, "billing": 3}),
    ("agent-sun", "孙立", {"account_security": 5, "billing": 3, "roaming": 2}),
]


def ensure_demo_agents(
    router_url: str, admin_token: str, tokens_file: pathlib.Path
) -> list[tuple[str, str, str]]:
    """Creates the demo agents that don't exist yet; returns (id, name, token) for each."""
    known = json.loads(tokens_file.read_text()) if tokens_file.exists() else {}
    result = []
    for agent_id, name, skills in DEMO_AGENTS:
        body = {"display_name": name, "skills": skills, "languages": ["zh"], "max_concurrent": 3}
        request = urllib.request.Request(
            f"{router_url}/v1/agents/{agent_id}",
            json.dumps(body).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        if "token" in reply:
            known[agent_id] = reply["token"]
        result.append((agent_id, name, known.get(agent_id, "(token lost: delete var/router)")))
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(known, indent=2))
    tokens_file.chmod(0o600)
    return result


DEMO_SUPERVISOR = ("sup-zhou", "周主管")
DEMO_ANALYST = ("ana-wu", "吴分析师")


def _ensure_staff(
    router_url: str, admin_token: str, tokens_file: pathlib.Path, kind: str, who: tuple[str, str]
) -> tuple[str, str, str]:
    """Creates one of the admin-issued staff (`kind`: supervisors or analysts) when it does not
    exist yet; returns (id, name, token). Its token is kept in `tokens_file` like the agents'."""
    known = json.loads(tokens_file.read_text()) if tokens_file.exists() else {}
    staff_id, name = who
    request = urllib.request.Request(
        f"{router_url}/v1/{kind}/{staff_id}",
        json.dumps({"display_name": name}).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = json.loads(response.read())
    if "token" in reply:
        known[staff_id] = reply["token"]
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(known, indent=2))
    tokens_file.chmod(0o600)
    return staff_id, name, known.get(staff_id, "(token lost: delete var/router)")


def ensure_demo_supervisor(
    router_url: str, admin_token: str, tokens_file: pathlib.Path
) -> tuple[str, str, str]:
    """The demo supervisor (the wallboard and reports): (id, name, token)."""
    return _ensure_staff(router_url, admin_token, tokens_file, "supervisors", DEMO_SUPERVISOR)


def ensure_demo_analyst(
    router_url: str, admin_token: str, tokens_file: pathlib.Path
) -> tuple[str, str, str]:
    """The demo analyst (the /analyst page): (id, name, token)."""
    return _ensure_staff(router_url, admin_token, tokens_file, "analysts", DEMO_ANALYST)
