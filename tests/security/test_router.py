"""Attacks on the router process (issue 12): its secrets, what agents see, Redis faults, what it
exposes, and who read what. Each runs against the running product (`stack`), or starts
`python -m router` itself where the attack is on its start-up, and failed on the code before the
fix: the router started with the published demo tokens, agents saw full-width, dotted and spoken
numbers unmasked, a hung Redis hung every request, /docs and /metrics were open to anyone, and
nothing recorded who read a conversation.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from router.embedded_redis import free_port
from telecom.numbers import parse_id_last6, parse_phone
from telecom.secrets import new_secret
from tests.security.conftest import ROOT, Customer, Stack, open_conversation

SKILLS = {
    "billing": 3,
    "plans_data": 3,
    "account_security": 3,
    "roaming": 3,
    "network_faults": 3,
    "complaints": 3,
}
# what the assistant reads as a phone or ID number, written the ways the old masker missed
NUMBERS = [
    "我的号码是１３８００１３８０００",  # full-width
    "号码 138.0013.8000",  # dotted
    "幺三八零零幺三八零零零",  # spoken
    "身份证后六位 151 238",  # the ID card's last six, spaced
]


def _router_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "ASSISTANT_"))}
    return {**env, "PYTHONPATH": str(ROOT), **values}


@contextlib.contextmanager
def _router(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "router"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _good_secrets() -> dict[str, str]:
    return {
        name: new_secret()
        for name in (
            "ROUTER_ADMIN_TOKEN",
            "ROUTER_SERVICE_TOKEN",
            "ROUTER_RASA_TOKEN",
            "ROUTER_PSEUDONYM_SECRET",
        )
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"ROUTER_ADMIN_TOKEN": "demo-admin-token", "ROUTER_SERVICE_TOKEN": "demo-service-token"},
        {"ROUTER_SERVICE_TOKEN": "short-token"},
        {"ROUTER_RASA_TOKEN": ""},
    ],
)
def test_the_router_refuses_to_start_with_published_or_short_tokens(
    stack: Stack, tmp_path: Path, bad: dict[str, str]
) -> None:
    env = _router_env(
        **{**_good_secrets(), **bad},
        REDIS_URL=stack.redis.url,
        ROUTER_PORT=str(free_port()),
        ROUTER_KEY_PREFIX=f"refuse{uuid.uuid4().hex[:6]}:",
    )
    with _router(env, tmp_path) as process:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the router started with a published or short token")
        stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr  # says why in one line
    assert any(name in lines[0] for name in bad)
    assert not any(value and value in lines[0] for value in bad.values())


def _agent(stack: Stack, http: httpx.Client) -> tuple[str, str]:
    agent_id = f"sec-{uuid.uuid4().hex[:8]}"
    body = {"display_name": "安全测试", "skills": SKILLS, "languages": ["zh"], "max_concurrent": 10}
    reply = http.put(
        f"/v1/agents/{agent_id}", json=body, headers=stack.bearer("ROUTER_ADMIN_TOKEN")
    )
    assert reply.status_code == 201, reply.text
    token: str = reply.json()["token"]
    _heartbeat(http, agent_id, token)
    return agent_id, token


def _heartbeat(http: httpx.Client, agent_id: str, token: str) -> None:
    reply = http.post(
        f"/v1/agents/{agent_id}/presence",
        json={"status": "available"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text


def _assigned(stack: Stack, http: httpx.Client) -> tuple[Customer, str, str]:
    """A customer who asked the assistant for a human, assigned to an agent of this test."""
    agent_id, token = _agent(stack, http)
    customer = open_conversation(http)
    customer.say("转人工")
    admin = stack.bearer("ROUTER_ADMIN_TOKEN")
    others = stack.agents()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = http.get(f"/v1/chat/{customer.conversation_id}/state", headers=customer.headers)
        handoff_id = state.json().get("handoff_id")
        if handoff_id:
            handoff = http.get(f"/v1/handoffs/{handoff_id}", headers=admin).json()
            if handoff["status"] == "assigned" and handoff["agent_id"] == agent_id:
                return customer, agent_id, token
            holder = handoff.get("offered_to")
            owner = token if holder == agent_id else others.get(holder or "")
            if owner:
                offers = http.get(
                    f"/v1/agents/{holder}/offers", headers={"Authorization": f"Bearer {owner}"}
                ).json()
                for offer in offers:
                    if offer["handoff"]["handoff_id"] == handoff_id:
                        answer = "accept" if holder == agent_id else "reject"
                        http.post(
                            f"/v1/offers/{offer['offer_id']}/{answer}",
                            headers={"Authorization": f"Bearer {owner}"},
                        )
        _heartbeat(http, agent_id, token)
        time.sleep(0.5)
    pytest.fail("the handoff was not assigned to the test's agent")


def test_numbers_in_any_form_reach_the_agent_masked(stack: Stack, http: httpx.Client) -> None:
    customer, agent_id, token = _assigned(stack, http)
    texts: list[str] = []
    done = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{stack.router_url}/v1/agents/{agent_id}/events",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[len("data: ") :])
                    if (
                        event.get("type") == "customer_message"
                        and event.get("conversation") == customer.conversation_id
                    ):
                        texts.append(event.get("text", ""))
                        if len(texts) >= len(NUMBERS):
                            done.set()
                            return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    deadline = time.monotonic() + 15
    admin = stack.bearer("ROUTER_ADMIN_TOKEN")
    while time.monotonic() < deadline:  # the stream is open once its opening is recorded
        entries = http.get("/v1/audit", params={"actor": f"agent:{agent_id}"}, headers=admin)
        if any(e["action"] == "events" for e in entries.json()):
            break
        time.sleep(0.2)
    for text in NUMBERS:
        reply = http.post(
            f"/v1/chat/{customer.conversation_id}/messages",
            json={"text": text},
            headers=customer.headers,
        )
        assert reply.status_code == 201, reply.text
    assert done.wait(20), f"the agent's stream delivered {texts}"
    view = http.get(
        f"/v1/conversations/{customer.conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert view.status_code == 200, view.text
    viewed = [m["text"] for m in view.json()["messages"] if m["sender"] == "customer"][-4:]
    for seen in [*texts, *viewed]:
        assert parse_phone(seen) is None, seen
        assert parse_id_last6(seen) != "151238", seen
        assert "13800138000" not in seen.replace(".", "")


@pytest.fixture
def hung_redis(stack: Stack) -> Iterator[None]:
    process = stack.redis.process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_a_hung_redis_gives_503_in_bounded_time(
    stack: Stack, http: httpx.Client, hung_redis: None
) -> None:
    admin = stack.bearer("ROUTER_ADMIN_TOKEN")
    for method, path, headers in [
        ("GET", "/v1/queues", admin),
        ("GET", "/healthz", {}),
        ("POST", "/v1/chat/conversations", {}),
    ]:
        started = time.monotonic()
        try:
            reply = http.request(
                method, path, headers=headers, json={} if method == "POST" else None, timeout=25
            )
        except httpx.TimeoutException:
            pytest.fail(f"{path} hung with Redis")
        took = time.monotonic() - started
        assert reply.status_code == 503, (path, reply.status_code, reply.text)
        assert took < 15, (path, took)  # the read timeout (5 s) and the pool's wait, not forever


def test_docs_and_metrics_closed_when_configured(stack: Stack, tmp_path: Path) -> None:
    secrets = _good_secrets()
    port = free_port()
    env = _router_env(
        **secrets,
        REDIS_URL=stack.redis.url,
        ROUTER_PORT=str(port),
        ROUTER_GATEWAY__ENABLED="false",
        ROUTER_KEY_PREFIX=f"closed{uuid.uuid4().hex[:6]}:",
        ROUTER_PUBLIC_DOCS="false",
        ROUTER_PUBLIC_METRICS="false",
    )
    base = f"http://127.0.0.1:{port}"
    with _router(env, tmp_path) as process:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "router did not start"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert httpx.get(base + path).status_code == 404, path
        assert httpx.get(f"{base}/metrics").status_code == 401
        admin = {"Authorization": f"Bearer {secrets['ROUTER_ADMIN_TOKEN']}"}
        assert httpx.get(f"{base}/metrics", headers=admin).status_code == 200


def test_only_an_admin_reads_the_audit(stack: Stack, http: httpx.Client) -> None:
    agent_id, token = _agent(stack, http)
    for headers in ({}, {"Authorization": f"Bearer {token}"}, stack.bearer("ROUTER_SERVICE_TOKEN")):
        reply = http.get("/v1/audit", params={"actor": f"agent:{agent_id}"}, headers=headers)
        assert reply.status_code in (401, 403), reply.status_code
    assert http.get("/v1/audit", headers=stack.bearer("ROUTER_ADMIN_TOKEN")).status_code == 200


def test_an_admin_sees_the_agents_read_in_the_audit(stack: Stack, http: httpx.Client) -> None:
    customer, agent_id, token = _assigned(stack, http)
    view = http.get(
        f"/v1/conversations/{customer.conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert view.status_code == 200
    reply = http.get(
        "/v1/audit",
        params={"actor": f"agent:{agent_id}", "conversation": customer.conversation_id},
        headers=stack.bearer("ROUTER_ADMIN_TOKEN"),
    )
    assert reply.status_code == 200, reply.text
    entries: list[dict[str, Any]] = reply.json()
    assert "conversation" in {e["action"] for e in entries}
    assert "offers" in {e["action"] for e in entries}  # the offer it accepted, with its transcript
