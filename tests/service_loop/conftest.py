"""The service loop's fixtures: the whole product started as `make run` starts it
(tests/stack.py), in demo mode with a clock file the tests move forward
(ASSISTANT_CLOCK_OFFSET_FILE: seconds added to the assistant's time), no background ticket
watcher (ROUTER_TICKET_WATCH_S=0: a test runs a watcher tick with the admin's POST
/v1/tickets/watch), headless Chromium, a supervisor, the demo agents, and customers filing
complaints over the gateway's customer API (the one the widget uses).

One stack for the whole directory: starting it takes minutes. The clock only moves forward, so
a test that needs a ticket at a point of its windows opens a ticket of its own and moves the
clock by the window's length from there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.store.generate import DEMO_SUBSCRIBERS
from tests.gateway.conftest import ARTIFACTS, launch_chromium
from tests.stack import START_TIMEOUT_S, Customer, Stack, open_conversation, running_stack

SUPERVISOR = ("sup-ops", "周运维")
TICKET_ID = re.compile(r"T\d{8}-\d{6}")
DESK = {"viewport": {"width": 1400, "height": 950}, "locale": "zh-CN"}
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True}
STEP_MS = 60_000  # one assistant turn on a busy 2-core machine, generous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.slow)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(START_TIMEOUT_S + 600))


class Clock:
    """The assistant's clock offset file: `advance` moves the service's time forward."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        path.write_text("0")

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        self.path.write_text(repr(self.offset))


@pytest.fixture(scope="session")
def clock(tmp_path_factory: pytest.TempPathFactory) -> Clock:
    return Clock(tmp_path_factory.mktemp("clock") / "offset")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Stack]:
    env = {
        "ASSISTANT_DEMO_MODE": "true",
        "ASSISTANT_CLOCK_OFFSET_FILE": str(clock.path),
        "ASSISTANT_INSTANCES": "1",
        "ROUTER_TICKET_WATCH_S": "0",  # the tests run the watcher's ticks themselves
    }
    with running_stack(tmp_path_factory.mktemp("service-loop"), env=env) as running:
        yield running


@pytest.fixture(scope="session")
def admin(stack: Stack) -> Iterator[httpx.Client]:
    headers = stack.bearer("ROUTER_ADMIN_TOKEN")
    with httpx.Client(base_url=stack.router_url, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def supervisor(stack: Stack, admin: httpx.Client) -> tuple[str, str]:
    """(id, token) of a supervisor (network operations hold supervisor tokens too)."""
    sid, name = SUPERVISOR
    reply = admin.put(f"/v1/supervisors/{sid}", json={"display_name": name})
    assert reply.status_code == 201, reply.text
    return sid, reply.json()["token"]


@pytest.fixture(scope="session")
def agents(stack: Stack) -> dict[str, str]:
    """Demo agent id → token (scripts/demo_agents.py)."""
    return stack.agents()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def watch(admin: httpx.Client) -> dict[str, Any]:
    """One watcher tick now (the admin's POST /v1/tickets/watch)."""
    reply = admin.post("/v1/tickets/watch", json={})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


@dataclass(frozen=True)
class Filed:
    ticket_id: str
    conversation_id: str
    transcript: list[str]


def subscriber(phone: str) -> tuple[str, str]:
    """(phone, last 6 of the ID number) of a demo subscriber."""
    found = next(d for d in DEMO_SUBSCRIBERS if d.phone == phone)
    return found.phone, found.id_number[-6:]


def file_complaint(stack: Stack, phone: str, text: str, details: str) -> Filed:
    """A complaint over the gateway's customer API (what the widget does): the customer
    answers what the assistant asks (number, ID, details) until it names a ticket."""
    number, id_last6 = subscriber(phone)
    with httpx.Client(base_url=stack.router_url, timeout=STEP_MS / 1000) as http:
        customer: Customer = open_conversation(http, channel="web")
        transcript = customer.say(text)
        for _ in range(6):
            found = TICKET_ID.search("\n".join(transcript))
            if found:
                return Filed(found.group(0), customer.conversation_id, transcript)
            last = transcript[-1] if transcript else ""
            if "身份证" in last:
                answer = id_last6
            elif "手机号" in last or "号码" in last:
                answer = number
            else:
                answer = details
            transcript += customer.say(answer)
    raise AssertionError(f"no ticket named in: {transcript}")
