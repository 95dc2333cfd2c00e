"""Attacks on the assistant's own processes (issue 12, item 2), against the running product.

Rasa's HTTP API and the action server used to answer anyone who reached them: anyone could
append tracker events to a conversation (set it "verified", then reset a password), read raw
trackers, load another model, or post a forged tracker straight to the action server. Each test
is one such attack; each must be refused without the process's token, and neither process may
listen beyond the loopback interface.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

DEMO_PHONE = "13800138000"  # a generated demo subscriber (actions/store/generate.py)
FORGED_TRACKER = {
    "sender_id": "attacker-0000000000",
    "slots": {"verified_phone": DEMO_PHONE, "identity_status": "verified"},
    "latest_message": {"text": "查余额", "intent": {"name": "query_balance", "confidence": 1}},
    "events": [],
    "active_loop": {},
    "latest_action_name": "action_listen",
}


def conversation_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def rasa(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.rasa_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def actions(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.actions_url, timeout=30) as client:
        yield client


def user_events(rasa: httpx.Client, token: str, cid: str) -> list[dict]:
    tracker = rasa.get(f"/conversations/{cid}/tracker", params={"token": token})
    assert tracker.status_code == 200
    return tracker.json()["events"]


def test_tracker_events_cannot_be_appended_without_the_token(stack, rasa):
    cid = conversation_id()
    forged = [
        {"event": "slot", "name": "verified_phone", "value": DEMO_PHONE},
        {"event": "slot", "name": "identity_status", "value": "verified"},
    ]
    for params in ({}, {"token": "wrong"}):
        answer = rasa.post(f"/conversations/{cid}/tracker/events", json=forged, params=params)
        assert answer.status_code == 401
        answer = rasa.put(f"/conversations/{cid}/tracker/events", json=forged, params=params)
        assert answer.status_code == 401
    events = user_events(rasa, stack.secrets["ASSISTANT_RASA_TOKEN"], cid)
    assert not [e for e in events if e.get("event") == "slot"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/conversations/{cid}/tracker", None),
        ("GET", "/conversations/{cid}/story", None),
        ("POST", "/conversations/{cid}/execute", {"name": "action_reset_password"}),
        ("POST", "/conversations/{cid}/trigger_intent", {"name": "request_human"}),
        ("POST", "/conversations/{cid}/messages", {"text": "查余额", "sender": "user"}),
        ("POST", "/model/parse", {"text": "查一下话费"}),
        ("PUT", "/model", {"model_file": "/tmp/attacker-model.tar.gz"}),
        ("GET", "/domain", None),
    ],
)
def test_the_http_api_refuses_calls_without_the_token(rasa, method, path, body):
    url = path.format(cid=conversation_id())
    for params in ({}, {"token": ""}, {"token": "wrong"}):
        answer = rasa.request(method, url, json=body, params=params)
        assert answer.status_code == 401, (method, path, answer.status_code)


def test_the_model_parse_works_with_the_token(stack, rasa):
    """The gateway's re-prioritisation keeps working: the token opens /model/parse."""
    answer = rasa.post(
        "/model/parse",
        json={"text": "查一下话费"},
        params={"token": stack.secrets["ASSISTANT_RASA_TOKEN"]},
    )
    assert answer.status_code == 200 and answer.json()["intent"]["name"]


def test_the_action_server_refuses_a_forged_tracker_without_the_token(stack, actions):
    call = {
        "next_action": "action_answer_balance",
        "sender_id": FORGED_TRACKER["sender_id"],
        "tracker": FORGED_TRACKER,
        "domain": {},
        "version": "3.6.21",
    }
    token = stack.secrets["ASSISTANT_ACTIONS_TOKEN"]
    for params in ({}, {"token": ""}, {"token": "wrong"}, {"token": token[:-1]}):
        answer = actions.post("/webhook", json=call, params=params)
        assert answer.status_code == 401
        assert DEMO_PHONE[-4:] not in answer.text and "余额" not in answer.text
    assert actions.get("/actions").status_code == 401


def test_no_open_rest_channel_and_the_gateway_channel_needs_its_bearer(stack, rasa):
    turn = {"sender": conversation_id(), "message": "帮我查一下话费"}
    assert rasa.post("/webhooks/rest/webhook", json=turn).status_code == 404
    assert rasa.post("/webhooks/gateway/webhook", json=turn).status_code == 401
    token = stack.secrets["ASSISTANT_RASA_TOKEN"]
    in_query = rasa.post("/webhooks/gateway/webhook", json=turn, params={"token": token})
    assert in_query.status_code == 401  # only the bearer header opens the channel
    wrong = rasa.post(
        "/webhooks/gateway/webhook", json=turn, headers={"Authorization": "Bearer wrong"}
    )
    assert wrong.status_code == 401


def _listeners(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (Linux /proc/net/tcp, tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def _other_addresses() -> list[str]:
    """This host's non-loopback IPv4 addresses (as an outside caller would reach it)."""
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except socket.gaierror:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; picks the outgoing address
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")


@pytest.mark.parametrize("service", ["rasa_url", "actions_url"])
def test_rasa_and_the_action_server_listen_on_loopback_only(stack, service):
    port = urlsplit(getattr(stack, service)).port
    assert port is not None
    listeners = _listeners(port)
    assert listeners, f"nothing listens on {port}"
    assert listeners <= {"127.0.0.1", "::1"}, listeners
    for address in _other_addresses():
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, port)) != 0, f"{service} answers on {address}"
