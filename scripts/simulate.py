"""Traffic simulator: plays a seeded scenario (archive/scenario.py) against the running stack.

Customers talk to the gateway's customer API (REST, long polling) exactly as the app does;
agents, created through the admin API, use the agent API (presence and heartbeat, offers,
accept, messages, transfer, complete). Time is compressed: a test day takes a few minutes of
real time. It records the times the stack gave (`scenario.Record`), from which
`scenario.expected_metrics` says what the archive's reports must show, and prints what it did.

    python -m scripts.simulate [--router URL] [--secrets var/secrets.env] [--seed N]
    python -m scripts.simulate --check-readings    # the scenario's sentences vs the model
    python -m scripts.simulate --demo-day          # a believable archived day for the pages

The admin token comes from ROUTER_ADMIN_TOKEN in the environment or in the secrets file that
`make run` wrote (never from the command line). Run it in the router's environment
(`.venv-router/bin/python -m scripts.simulate`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from archive import scenario as sc
from archive.metrics import LOW_CONFIDENCE
from scripts.paths import ROOT

AGENT_GREETING = "您好，我是人工客服，已看到您的问题，正在为您查询。"
AGENT_CLOSING = "已为您处理完毕，感谢您的耐心等待。"
HEARTBEAT_S = 5.0
POLL_S = 0.2
STEP_TIMEOUT_S = 90.0  # the longest a customer waits for one thing (an agent, the survey)
WAVE_CONCURRENCY = 6


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_ms(value: str) -> int:
    return round(datetime.fromisoformat(value).timestamp() * 1000)


class SimulationError(RuntimeError):
    """The stack did not do what the scenario needs (says which conversation and what)."""


@dataclasses.dataclass
class _HandoffState:
    """The agents' shared view of one scripted handoff."""

    script: sc.Script
    conversation_id: str
    misses_left: int
    customer_replied: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    transferred: bool = False
    done: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


@dataclasses.dataclass
class Simulation:
    """One run of a scenario against the router at `http` (base URL set)."""

    scenario: sc.Scenario
    http: httpx.AsyncClient
    admin_token: str
    log: Callable[[str], None] = print
    record: sc.Record = dataclasses.field(default_factory=sc.Record)
    conversations: dict[str, str] = dataclasses.field(default_factory=dict)  # key → id
    problems: list[str] = dataclasses.field(default_factory=list)
    _handoffs: dict[str, _HandoffState] = dataclasses.field(default_factory=dict)  # by conv id
    _agent_tokens: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def run(self) -> sc.Record:
        for wave in (1, 2):
            await self._wave(self.scenario.wave(wave))
        await self._agents_on_duty(self._wave(self.scenario.wave(3)))
        return self.record

    async def _wave(self, scripts: list[sc.Script]) -> None:
        gate = asyncio.Semaphore(WAVE_CONCURRENCY)

        async def one(script: sc.Script) -> None:
            async with gate:
                await self._customer(script)

        await asyncio.gather(*(one(s) for s in scripts))

    # -- customers ------------------------------------------------------------------------------
    async def _customer(self, script: sc.Script) -> None:
        before = now_ms()
        opened = await self._ok(
            self.http.post("/v1/chat/conversations", json={"channel": script.channel})
        )
        chat = _Chat(self.http, opened["conversation_id"], opened["resume_token"])
        self.conversations[script.key] = chat.conversation_id
        for i, text in enumerate(script.bot_texts):
            await chat.say(text)
            if i == 0:
                self.record.started[script.key] = sc.Span(before, now_ms())
        if script.outcome == "contained":
            await self._survey(script, chat, wait=False)
        elif script.outcome == "abandon":
            await self._abandon(script, chat)
        else:
            await self._served(script, chat)
        self.log(
            f"{script.key} {script.outcome:<9} {script.channel:<4} {' / '.join(script.bot_texts)}"
        )

    async def _handoff_created(self, script: sc.Script, chat: _Chat) -> str:
        state = await chat.state()
        handoff_id = state.get("handoff_id")
        if not handoff_id:
            raise SimulationError(f"{script.key}: no handoff after {script.bot_texts[-1]!r}")
        handoff = await self._ok(self.http.get(f"/v1/handoffs/{handoff_id}", headers=self.admin))
        self.record.handoffs[script.key] = sc.HandoffTimes(created_ms=iso_ms(handoff["created_at"]))
        return str(handoff_id)

    async def _abandon(self, script: sc.Script, chat: _Chat) -> None:
        await self._handoff_created(script, chat)
        times = self.record.handoffs[script.key]
        await asyncio.sleep(
            max(0.0, times.created_ms / 1000 + (script.abandon_after_s or 0) - time.time())
        )
        before = now_ms()
        reply = await self.http.delete(
            f"/v1/chat/{chat.conversation_id}/handoff", headers=chat.headers
        )
        if reply.status_code != 204:
            raise SimulationError(f"{script.key}: cancelling the handoff gave {reply.status_code}")
        times.abandoned = sc.Span(before, now_ms())

    async def _served(self, script: sc.Script, chat: _Chat) -> None:
        assert script.plan is not None
        state = _HandoffState(script, chat.conversation_id, script.plan.misses)
        self._handoffs[chat.conversation_id] = state
        await self._handoff_created(script, chat)
        await chat.wait_for(lambda m: m.get("sender") == "agent", f"{script.key}: no agent")
        await chat.say(sc.TO_AGENT)
        state.customer_replied.set()
        await self._survey(script, chat, wait=True)
        state.done.set()

    async def _survey(self, script: sc.Script, chat: _Chat, wait: bool) -> None:
        """Answer the satisfaction survey as the script says (after an agent completes, wait
        for it to be asked). The assistant's survey is the rating alone, an agent's asks for a
        comment too."""
        asked = await chat.awaiting("rating", STEP_TIMEOUT_S if wait else 0.0)
        self.record.ratings_asked[script.key] = asked
        if not asked:
            if script.rating is not None:
                self.problems.append(f"{script.key}: the survey was not asked")
            return
        if script.rating is None:
            if script.outcome == "contained":  # the assistant's survey offers 跳过
                await chat.say("跳过", payload=sc.SKIP)
            return  # an agent's: the customer just leaves
        await chat.say(str(script.rating))
        if script.rating_of == "agent" and await chat.awaiting("comment", 10.0):
            if script.comment:
                await chat.say(script.comment)
            else:
                await chat.say("跳过", payload=sc.SKIP)

    # -- agents ---------------------------------------------------------------------------------
    async def _agents_on_duty(self, work: Awaitable[None]) -> None:
        for agent in self.scenario.agents:
            self._agent_tokens[agent.agent_id] = await self._agent_token(agent)
        loops = [asyncio.create_task(self._agent(a.agent_id)) for a in self.scenario.agents]
        try:
            await work
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            for agent in self.scenario.agents:
                await self._presence(agent.agent_id, "offline")

    async def _agent_token(self, agent: sc.AgentSpec) -> str:
        body = {
            "display_name": agent.display_name,
            "skills": dict(agent.skills),
            "languages": ["zh"],
            "max_concurrent": agent.max_concurrent,
        }
        created = await self._ok(
            self.http.put(f"/v1/agents/{agent.agent_id}", json=body, headers=self.admin)
        )
        if "token" in created:
            return str(created["token"])
        # it exists already (an earlier run): a new token
        rotated = await self._ok(
            self.http.post(f"/v1/agents/{agent.agent_id}/token", headers=self.admin)
        )
        return str(rotated["token"])

    def _agent_auth(self, agent_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._agent_tokens[agent_id]}"}

    async def _presence(self, agent_id: str, status: str) -> None:
        await self._ok(
            self.http.post(
                f"/v1/agents/{agent_id}/presence", json={"status": status},
                headers=self._agent_auth(agent_id),
            )
        )  # fmt: skip

    async def _agent(self, agent_id: str) -> None:
        seen: set[str] = set()
        serving: set[asyncio.Task[None]] = set()
        beat = 0.0
        try:
            while True:
                if time.monotonic() - beat > HEARTBEAT_S:
                    await self._presence(agent_id, "available")
                    beat = time.monotonic()
                offers = await self._ok(
                    self.http.get(
                        f"/v1/agents/{agent_id}/offers", headers=self._agent_auth(agent_id)
                    )
                )
                for offer in offers:
                    if offer["offer_id"] in seen:
                        continue
                    seen.add(offer["offer_id"])
                    task = asyncio.create_task(self._offer(agent_id, offer))
                    serving.add(task)
                    task.add_done_callback(serving.discard)
                await asyncio.sleep(POLL_S)
        finally:
            for task in serving:
                task.cancel()

    async def _offer(self, agent_id: str, offer: dict[str, Any]) -> None:
        state = self._handoffs.get(offer["handoff"]["conversation_id"])
        if state is None:  # someone else's customer (a live run): back to the queue
            await self.http.post(
                f"/v1/offers/{offer['offer_id']}/reject", headers=self._agent_auth(agent_id)
            )
            return
        key = state.script.key
        times = self.record.handoffs[key]
        if state.misses_left > 0:  # let it expire
            state.misses_left -= 1
            times.missed += 1
            self.log(f"{key} offer to {agent_id} left to expire")
            return
        before = now_ms()
        reply = await self.http.post(
            f"/v1/offers/{offer['offer_id']}/accept", headers=self._agent_auth(agent_id)
        )
        accepted = sc.Span(before, now_ms())
        if reply.status_code == 409:  # expired or rescinded meanwhile
            return
        handoff_id = self._json(reply)["handoff_id"]
        times.accepted_offers.append((iso_ms(offer["created_at"]), accepted))
        if times.answered_ms is None:
            handoff = await self._ok(
                self.http.get(f"/v1/handoffs/{handoff_id}", headers=self.admin)
            )
            times.answered_ms = iso_ms(handoff["answered_at"])
        auth = self._agent_auth(agent_id)
        path = f"/v1/conversations/{state.conversation_id}/messages"
        await self._ok(self.http.post(path, json={"text": AGENT_GREETING}, headers=auth))
        await asyncio.wait_for(state.customer_replied.wait(), STEP_TIMEOUT_S)
        plan = state.script.plan
        assert plan is not None
        if plan.transfer_to and not state.transferred:
            state.transferred = True
            body = {"skills": [plan.transfer_to]}
            await self._ok(
                self.http.post(f"/v1/handoffs/{handoff_id}/transfer", json=body, headers=auth)
            )
            times.transfers += 1
            self.log(f"{key} accepted by {agent_id}, transferred to {plan.transfer_to}")
            return
        await self._ok(self.http.post(path, json={"text": AGENT_CLOSING}, headers=auth))
        before = now_ms()
        await self._ok(
            self.http.post(
                f"/v1/handoffs/{handoff_id}/complete", json={"disposition": plan.disposition},
                headers=auth,
            )
        )  # fmt: skip
        times.completed = sc.Span(before, now_ms())
        self.log(f"{key} accepted and completed by {agent_id} ({plan.disposition})")

    # -- HTTP -------------------------------------------------------------------------------------
    @staticmethod
    def _json(reply: httpx.Response) -> Any:
        if reply.status_code >= 400:
            raise SimulationError(
                f"{reply.request.method} {reply.request.url.path}: {reply.status_code}"
            )
        return reply.json()

    async def _ok(self, request: Awaitable[httpx.Response]) -> Any:
        return self._json(await request)


@dataclasses.dataclass
class _Chat:
    """One customer's conversation over the gateway's REST API and long polling."""

    http: httpx.AsyncClient
    conversation_id: str
    resume_token: str
    last_seq: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Resume-Token": self.resume_token}

    async def say(self, text: str, payload: str | None = None) -> None:
        body: dict[str, str] = {"text": text}
        if payload:
            body["payload"] = payload
        reply = await self.http.post(
            f"/v1/chat/{self.conversation_id}/messages", json=body, headers=self.headers
        )
        if reply.status_code != 201:
            raise SimulationError(f"a customer turn was refused: {reply.status_code}")

    async def state(self) -> dict[str, Any]:
        reply = await self.http.get(f"/v1/chat/{self.conversation_id}/state", headers=self.headers)
        reply.raise_for_status()
        state: dict[str, Any] = reply.json()
        return state

    async def awaiting(self, what: str, timeout_s: float) -> bool:
        """True once the survey awaits `what` (rating, comment); False after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            if (await self.state()).get("awaiting") == what:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_S)

    async def wait_for(self, wanted: Callable[[dict[str, Any]], bool], failure: str) -> None:
        """Long-poll until a message `wanted` arrives."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            params: dict[str, Any] = {"timeout": 5}
            if self.last_seq:
                params["since"] = self.last_seq
            reply = await self.http.get(
                f"/v1/chat/{self.conversation_id}/poll", params=params, headers=self.headers
            )
            reply.raise_for_status()
            messages = reply.json()["messages"]
            for message in messages:
                self.last_seq = message.get("seq") or self.last_seq
                if wanted(message):
                    return
        raise SimulationError(failure)


# ---- the command ---------------------------------------------------------------------------------


def secret(name: str, secrets_file: Path) -> str:
    """`name` from the environment, else from the secrets file `make run` wrote."""
    token = os.environ.get(name)
    if token:
        return token
    if secrets_file.exists():
        for line in secrets_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip()
    raise SystemExit(f"{name} is neither in the environment nor in {secrets_file}")


def check_readings(rasa_url: str, token: str) -> list[str]:
    """Every sentence of the scenario parsed by the running model (/model/parse): where its
    intent, low confidence or fallback differs from `scenario.READINGS`."""
    wrong = []
    with httpx.Client(timeout=60) as http:
        for text, (intent, low, fallback) in sc.READINGS.items():
            reply = http.post(
                f"{rasa_url}/model/parse", params={"token": token}, json={"text": text}
            )
            reply.raise_for_status()
            read = reply.json()["intent"]
            got = (
                read["name"],
                read["name"] != "nlu_fallback" and read["confidence"] < LOW_CONFIDENCE,
                read["name"] == "nlu_fallback",
            )
            if got != (intent, low, fallback):
                wrong.append(
                    f"{text!r}: the scenario says {(intent, low, fallback)}, the model {got}"
                )
    return wrong


async def simulate(
    router_url: str, token: str, scenario: sc.Scenario
) -> tuple[sc.Record, list[str]]:
    """Play `scenario` against the router at `router_url`; what it recorded and what went wrong."""
    async with httpx.AsyncClient(base_url=router_url, timeout=60) as http:
        simulation = Simulation(scenario, http, token)
        await simulation.run()
        return simulation.record, simulation.problems


DEMO_DAY_CONVERSATIONS = 800


def fill_yesterday(seed: int) -> str:
    """The demo day's history: yesterday (China time) written straight into the archive
    (ARCHIVE_DATABASE_URL, default var/archive/archive.sqlite3) by archive.generate — a whole
    day of real turns would take a day — unless the archive has conversations of that day."""
    import sqlalchemy as sa

    from archive import db, generate, migrate
    from archive.metrics import DAY_MS, bucket_start
    from archive.schema import Conversation
    from archive.settings import ArchiveSettings

    url = ArchiveSettings().url()
    migrate.upgrade(url)
    engine = db.engine_for(url)
    now = now_ms()
    start = bucket_start(now, "day") - DAY_MS
    try:
        with engine.connect() as conn:
            started = Conversation.__table__.c.started_ms
            held = conn.execute(
                sa.select(sa.func.count()).where(started >= start, started < start + DAY_MS)
            ).scalar_one()
        if held:
            return f"yesterday is in the archive already ({held} conversations)"
        data = generate.generate(DEMO_DAY_CONVERSATIONS, 1, now, seed, agents=12)
        generate.load(engine, data)
    finally:
        engine.dispose()
    return f"yesterday: {DEMO_DAY_CONVERSATIONS} generated conversations written to the archive"


def print_expected(expected: dict[str, sc.Expected]) -> None:
    for name, e in expected.items():
        value = e.value()
        shown = f"{value[0]:.3f}…{value[1]:.3f}" if isinstance(value, tuple) else f"{value}"
        print(f"  {name:<20} {shown:<14} ({e.numerator} / {e.denominator}, {e.unit})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.simulate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--router", default=os.environ.get("ROUTER_URL", "http://127.0.0.1:8400"))
    parser.add_argument("--rasa", default="http://127.0.0.1:5005", help="for --check-readings")
    parser.add_argument("--secrets", type=Path, default=ROOT / "var" / "secrets.env")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--demo-day",
        action="store_true",
        help="yesterday generated into the archive, then today played",
    )
    parser.add_argument(
        "--check-readings", action="store_true", help="the scenario's sentences vs the model"
    )
    args = parser.parse_args(argv)
    if args.demo_day:
        print(fill_yesterday(args.seed))
    if args.check_readings:
        wrong = check_readings(args.rasa, secret("ASSISTANT_RASA_TOKEN", args.secrets))
        print("\n".join(wrong) or f"all {len(sc.READINGS)} sentences read as the scenario says")
        return 1 if wrong else 0
    token = secret("ROUTER_ADMIN_TOKEN", args.secrets)
    scenario = sc.build(args.seed)
    print(
        f"scenario {args.seed}: {len(scenario.scripts)} conversations,"
        f" {len(scenario.agents)} agents"
    )
    started = time.monotonic()
    record, problems = asyncio.run(simulate(args.router, token, scenario))
    print(f"played in {time.monotonic() - started:.0f} s; the archive must show:")
    print_expected(sc.expected_metrics(scenario, record))
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
