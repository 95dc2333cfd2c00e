"""Chaos: 50 customers at once through the router while one assistant instance is SIGKILLed.

The product runs as `make run` runs it: two Rasa instances sharing the SQLite tracker store and
the Redis lock store, the gateway spreading conversations over them and failing over. 50
scripted conversations (verification, balance, plan change with confirmation, handoff and
cancel) run at once through the customer REST API; at a random moment (seeded: the seed is
printed and in every failure; CHAOS_SEED=N repeats a run) one instance is killed with SIGKILL,
and scripts.run's supervisor starts it again. Then every conversation asks once more, served
by whichever instance it belongs to, the restarted one included.

Asserted: every turn got its answer (nothing lost, never "assistant down"), the right one (by
stable substrings: the subscriber's own balance, the plan), no reply twice (in a turn's answer
nor in the stored history), and nothing forgotten (a verified customer is never asked again).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.durability.customers import (
    BOT_DOWN,
    CANCEL_HANDOFF,
    Script,
    Turn,
    balance_again,
    chaos_scripts,
    problems,
)
from tests.stack import Stack, running_stack

CONVERSATIONS = 50
RESTART_TIMEOUT_S = 300.0
# the customers' own pace: reading the answer and typing the next message (brisk customers, as
# in bench.assistant); 50 of them offer ~20 turns/s, which one instance must carry alone while
# the other starts again
THINK_S = (1.0, 3.0)
# the kill comes this long after the customers start (uniform, seeded)
KILL_AFTER_S = (2.0, 10.0)


@pytest.fixture(scope="module")
def seed() -> int:
    value = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1_000_000))
    print(f"chaos seed {value} (CHAOS_SEED={value} repeats this run)")
    return value


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("chaos")
    # 50 customers from one address: the per-address limits are for the internet, not this test.
    # The gateway's wait for the assistant is raised from 30 s: with one instance left on a
    # shared 2-core machine, a turn may queue behind the dead instance's lock (15 s), the other
    # instance's model load and 50 customers; a slow answer is the benchmark's business, a lost
    # or repeated one this test's.
    env = {
        "ASSISTANT_INSTANCES": "2",
        "ROUTER_GATEWAY__BOT_TIMEOUT_S": "120",
        "ROUTER_GATEWAY__RATE_MESSAGES": "100000/minute",
        "ROUTER_GATEWAY__RATE_CONVERSATIONS": "100000/minute",
    }
    with running_stack(base, env=env) as running:
        yield running


@dataclass
class Conversation:
    script: Script
    conversation_id: str
    resume_token: str
    seen: list[str] = field(default_factory=list)  # every bot reply, in order
    failures: list[str] = field(default_factory=list)
    done_turns: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Resume-Token": self.resume_token}

    @property
    def path(self) -> str:
        return f"/v1/chat/{self.conversation_id}"

    async def play(self, http: httpx.AsyncClient, turn: Turn, n: int) -> None:
        """One turn: send it (or cancel the handoff), read what came back, check it."""
        if turn.text == CANCEL_HANDOFF:
            reply = await http.delete(f"{self.path}/handoff", headers=self.headers)
            replies: list[str] = []
            if reply.status_code != 204:
                self.failures.append(f"turn {n} cancel: {reply.status_code}")
        else:
            reply = await http.post(
                f"{self.path}/messages", json={"text": turn.text}, headers=self.headers
            )
            if reply.status_code != 201:
                self.failures.append(f"turn {n} {turn.text!r}: {reply.status_code} {reply.text}")
                return
            replies, notices = await self.messages_after(http, reply.json()["seq"])
            self.seen += replies
            replies += [notice for notice in notices if BOT_DOWN in notice]
        self.failures += [f"turn {n} {turn.text!r}: {p}" for p in problems(turn, replies)]
        if turn.owner is not None:
            state = (await http.get(f"{self.path}/state", headers=self.headers)).json()
            if state["owner"] != turn.owner:
                self.failures.append(f"turn {n} {turn.text!r}: owner {state['owner']}")
        if self.failures:
            self.failures.append(f"answer: {replies}")
        self.done_turns += 1

    async def messages_after(
        self, http: httpx.AsyncClient, seq: str | None
    ) -> tuple[list[str], list[str]]:
        """The bot's replies and the system's notices stored after `seq` (the gateway stores
        them before it answers the POST; the queue's notices also come later, on their own)."""
        params: dict[str, str | float] = {"timeout": 0}
        if seq:
            params["since"] = seq
        reply = await http.get(f"{self.path}/poll", params=params, headers=self.headers)
        assert reply.status_code == 200, reply.text
        messages = reply.json()["messages"]
        replies = [m.get("text", "") for m in messages if m.get("sender") == "bot"]
        return replies, [m.get("text", "") for m in messages if m.get("sender") == "system"]

    async def run(self, http: httpx.AsyncClient, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, THINK_S[1]))
        for n, turn in enumerate(self.script.turns, 1):
            await self.play(http, turn, n)
            if self.failures:
                return
            await asyncio.sleep(rng.uniform(*THINK_S))


async def open_conversation(http: httpx.AsyncClient, script: Script) -> Conversation:
    reply = await http.post("/v1/chat/conversations", json={"channel": "app"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    return Conversation(script, body["conversation_id"], body["resume_token"])


async def kill_one(stack: Stack, rng: random.Random, conversations: list[Conversation]) -> str:
    """SIGKILL one Rasa instance at a random moment; its name."""
    await asyncio.sleep(rng.uniform(*KILL_AFTER_S))
    victim = rng.choice(sorted(name for name in stack.pids() if name.startswith("rasa")))
    os.kill(stack.pids()[victim], signal.SIGKILL)
    turns = sum(c.done_turns for c in conversations)
    total = sum(len(c.script.turns) for c in conversations)
    print(f"killed {victim} after {turns} of {total} turns")
    return victim


def wait_for_restart(stack: Stack, victim: str, old_pid: int) -> None:
    """Until scripts.run says it has started `victim` again."""
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while time.monotonic() < deadline:
        info = stack.ready()
        if info["restarts"].get(victim, 0) >= 1 and info["pids"][victim] != old_pid:
            return
        time.sleep(1)
    pytest.fail(f"{victim} was not started again:\n{stack.run_output()[-3000:]}")


async def chaos(stack: Stack, seed: int) -> tuple[list[Conversation], str, int]:
    rng = random.Random(seed)
    scripts = chaos_scripts(CONVERSATIONS, rng)
    limits = httpx.Limits(max_connections=2 * CONVERSATIONS)
    async with httpx.AsyncClient(base_url=stack.router_url, timeout=120, limits=limits) as http:
        conversations = [await open_conversation(http, s) for s in scripts]
        pids = stack.pids()
        customers = [
            asyncio.create_task(c.run(http, random.Random(rng.random()))) for c in conversations
        ]
        victim = await kill_one(stack, random.Random(rng.random()), conversations)
        await asyncio.gather(*customers)
    return conversations, victim, pids[victim]


async def once_more(stack: Stack, conversations: list[Conversation]) -> None:
    """Every conversation asks for its balance again (no verification, the right amount)."""
    async with httpx.AsyncClient(base_url=stack.router_url, timeout=120) as http:
        await asyncio.gather(
            *(c.play(http, balance_again(c.script.subscriber), 99) for c in conversations)
        )


async def histories(stack: Stack, conversations: list[Conversation]) -> list[list[str]]:
    async with httpx.AsyncClient(base_url=stack.router_url, timeout=60) as http:
        stored = await asyncio.gather(*(c.messages_after(http, None) for c in conversations))
        return [replies for replies, _ in stored]


def report(stack: Stack, conversations: list[Conversation], seed: int) -> str:
    """What went wrong, with the gateway's log lines about the instances."""
    router_log = (Path(stack.logs_dir) / "router.log").read_text(errors="replace")
    bot_lines = [line for line in router_log.splitlines() if "gateway.bot" in line]
    lines = [f"seed {seed} (CHAOS_SEED={seed} repeats it)", *bot_lines[-20:]]
    for c in conversations:
        if c.failures:
            who = c.script.subscriber.masked
            lines.append(f"{c.script.kind} ({who}, {c.conversation_id[:6]}…): {c.failures}")
    return "\n".join(lines)


def test_fifty_conversations_survive_a_killed_instance(stack: Stack, seed: int) -> None:
    assert len(stack.rasa_urls) == 2, stack.rasa_urls
    conversations, victim, old_pid = asyncio.run(chaos(stack, seed))
    assert not any(c.failures for c in conversations), report(stack, conversations, seed)

    wait_for_restart(stack, victim, old_pid)
    asyncio.run(once_more(stack, conversations))
    assert not any(c.failures for c in conversations), report(stack, conversations, seed)

    # the stored history holds each reply once, as the customer read it: nothing came twice
    # late (a turn run again after the kill), nothing is missing
    stored = asyncio.run(histories(stack, conversations))
    for conversation, history in zip(conversations, stored, strict=True):
        assert history == conversation.seen, (
            f"seed {seed}: {conversation.script.kind}: stored {history} read {conversation.seen}"
        )
    log = Path(stack.logs_dir) / f"{victim}.log"
    assert log.exists(), f"no log of the restarted {victim}"
