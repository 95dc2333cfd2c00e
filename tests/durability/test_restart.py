"""Every process of `make run` stopped mid-conversation and started again: the customer goes on.

A customer verifies and starts a plan change (the form waits for the confirmation); scripts.run
gets SIGTERM and stops everything (Redis, the action server, both assistant instances, the
router); it starts again on the same --var (new ports: the router's data comes back from Redis's
append-only file, the conversations from the SQLite tracker store). The customer resumes with
the same conversation id and resume token and confirms: still verified, the form's target plan
kept, the change made; a balance question needs no new verification.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.durability.customers import ASKS_ID, CONFIRMING, balance_again, problems, verify
from tests.stack import Customer, Stack, StackError, open_conversation, start_stack

SUBSCRIBER = CONFIRMING[0]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path


def started(base: Path) -> Stack:
    try:
        return start_stack(base, var=base / "var", env={"ASSISTANT_INSTANCES": "2"})
    except StackError as error:
        pytest.fail(str(error))


@pytest.fixture
def first(base: Path) -> Iterator[Stack]:
    stack = started(base)
    try:
        yield stack
    finally:
        stack.stop()


def test_a_conversation_goes_on_after_every_process_restarts(base: Path, first: Stack) -> None:
    target = SUBSCRIBER.other_plan
    with httpx.Client(base_url=first.router_url, timeout=60) as http:
        customer = open_conversation(http)
        for turn in verify(SUBSCRIBER, f"我想换成{target}", (target, "确认办理吗")):
            replies = customer.say(turn.text)
            assert not problems(turn, replies), (turn, replies)
        before = [m.get("text") for m in customer.messages_after(None)]

    pids = first.pids()
    first.stop()
    assert first.process.returncode == 0, first.run_output()[-3000:]
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"{name} still runs"

    second = started(base)
    try:
        with httpx.Client(base_url=second.router_url, timeout=60) as http:
            resumed = Customer(http, customer.conversation_id, customer.resume_token)
            # the history the customer saw is still there
            assert [m.get("text") for m in resumed.messages_after(None)] == before
            confirmed = resumed.say("确认")
            assert any("办理成功" in r and target in r for r in confirmed), confirmed
            assert not any(ASKS_ID in r for r in confirmed), confirmed
            turn = balance_again(SUBSCRIBER)
            replies = resumed.say(turn.text)
            assert not problems(turn, replies), replies
    finally:
        second.stop()


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"
