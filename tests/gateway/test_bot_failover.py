"""The gateway's bot client (router/gateway/bot.py) over two assistant instances: real HTTP
servers on free ports stand in for two Rasa instances and record every turn they get. A turn
whose instance stops answering, times out or fails is answered by the other with the same
message_id; the instance's conversations come back to it after its cool-down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from router.gateway.bot import BotUnavailable, InstanceCollector, RasaRestBot
from router.gateway.instances import rank

TOKEN = "rasa-token-for-the-test-" + "x" * 20
COOLDOWN_S = 5.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """The bot client's monotonic clock, moved only by the test (the cool-down)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # several in one test process: leave signals be
        yield


@dataclass
class StandIn:
    """A stand-in Rasa instance: the gateway channel and /model/parse, checking the token like
    Rasa. `mode`: "ok", "fail" (503), "error" (500), "bad" (400), "hang" (answers only when
    released)."""

    name: str
    port: int
    mode: str = "ok"
    turns: list[dict[str, Any]] = field(default_factory=list)
    parses: int = 0
    probes: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _server: _Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _answer(self) -> Response | None:
        if self.mode == "hang":
            await self.released.wait()
        if self.mode == "fail":
            return Response(status_code=503)
        if self.mode == "error":
            return Response(status_code=500)
        if self.mode == "bad":
            return Response(status_code=400)
        return None

    async def webhook(self, request: Request) -> Response:
        body = await request.json()
        self.turns.append(body)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(status_code=401)
        failed = await self._answer()
        if failed is not None:
            return failed
        return JSONResponse(
            [{"recipient_id": body["sender"], "text": f"{self.name}:{body['message']}"}]
        )

    async def ready(self, request: Request) -> Response:
        self.probes += 1
        if self.mode == "loading":
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def parse(self, request: Request) -> Response:
        self.parses += 1
        failed = await self._answer()
        if failed is not None:
            return failed
        return JSONResponse({"urgency": {"name": self.name}})

    async def start(self) -> None:
        """Listening before it returns (the socket is bound here; uvicorn accepts from it)."""
        app = Starlette(
            routes=[
                Route("/webhooks/gateway/webhook", self.webhook, methods=["POST"]),
                Route("/webhooks/gateway/", self.ready, methods=["GET"]),
                Route("/model/parse", self.parse, methods=["POST"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=5
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        """Stops listening and closes its connections: attempts on it are refused."""
        assert self._server is not None and self._task is not None
        self.released.set()
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
        self.released = asyncio.Event()


Instances = Callable[[int], Awaitable[list[StandIn]]]
MakeBot = Callable[..., RasaRestBot]


@pytest.fixture
async def instances() -> AsyncIterator[Instances]:
    started: list[StandIn] = []

    async def create(n: int) -> list[StandIn]:
        for name in "ab"[:n]:
            stand_in = StandIn(name, 0)
            await stand_in.start()
            started.append(stand_in)
        return started

    yield create
    for stand_in in started:
        if stand_in._task is not None:
            await stand_in.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_bot(clock: Clock) -> AsyncIterator[MakeBot]:
    """`make_bot(stand_ins, timeout_s=30, token=TOKEN)` → the client on them; closed after."""
    made: list[RasaRestBot] = []

    def create(
        stand_ins: list[StandIn], timeout_s: float = 30.0, token: str = TOKEN
    ) -> RasaRestBot:
        urls = ",".join(s.url for s in stand_ins)
        made.append(RasaRestBot(urls, token, timeout_s, COOLDOWN_S, clock=clock))
        return made[-1]

    yield create
    for bot in made:
        await bot.aclose()


def conversation_of(owner: StandIn, stand_ins: list[StandIn]) -> str:
    """A conversation id whose own instance is `owner`."""
    urls = [s.url for s in stand_ins]
    return next(c for n in range(1000) if rank(c := f"conv-{n:04d}", urls)[0] == owner.url)


async def turn(bot: RasaRestBot, conversation_id: str, text: str, message_id: str) -> list[str]:
    replies = await bot.send(conversation_id, text, "web", {}, message_id=message_id)
    return [r.text for r in replies]


def got(stand_in: StandIn) -> list[tuple[str, str, str]]:
    return [(t["sender"], t["message"], t["message_id"]) for t in stand_in.turns]


@pytest.mark.anyio
async def test_a_stopped_instance_fails_over_and_its_conversations_come_back(
    instances: Instances,
    make_bot: MakeBot,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins)
    on_a, on_b = conversation_of(a, stand_ins), conversation_of(b, stand_ins)

    # each conversation on its own instance, every turn
    assert await turn(bot, on_a, "一", "turn-a-0001") == ["a:一"]
    assert await turn(bot, on_b, "二", "turn-b-0001") == ["b:二"]
    assert await turn(bot, on_a, "三", "turn-a-0002") == ["a:三"]
    assert got(a) == [(on_a, "一", "turn-a-0001"), (on_a, "三", "turn-a-0002")]
    assert got(b) == [(on_b, "二", "turn-b-0001")]

    await a.stop()
    with caplog.at_level(logging.INFO, logger="router.gateway.bot"):
        # the turn is answered by b, sent with the same message_id
        assert await turn(bot, on_a, "四", "turn-a-0003") == ["b:四"]
        assert got(b)[-1] == (on_a, "四", "turn-a-0003")
        assert not bot.health.up(a.url)
        # during the cool-down a is not tried: its conversations stay on b, b's on b
        await a.start()
        clock.now += COOLDOWN_S - 0.1
        assert await turn(bot, on_a, "五", "turn-a-0004") == ["b:五"]
        assert await turn(bot, on_b, "六", "turn-b-0002") == ["b:六"]
        assert got(a) == [(on_a, "一", "turn-a-0001"), (on_a, "三", "turn-a-0002")]
        # after it, the next turn of a's conversation probes a, and a has it back
        clock.now += 0.2
        assert await turn(bot, on_a, "七", "turn-a-0005") == ["a:七"]
        assert await turn(bot, on_a, "八", "turn-a-0006") == ["a:八"]
        assert await turn(bot, on_b, "九", "turn-b-0003") == ["b:九"]
        assert bot.health.up(a.url)
    transitions = [r.getMessage() for r in caplog.records if ".instance_" in r.getMessage()]
    assert transitions == [
        f"gateway.bot.instance_down instance={a.url} reason=ConnectError cooldown_s=5",
        f"gateway.bot.instance_up instance={a.url}",
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert on_a not in logged and "四" not in logged and "turn-a-0003" not in logged


@pytest.mark.anyio
async def test_a_restarted_instance_gets_no_turn_until_its_model_is_loaded(
    instances: Instances, make_bot: MakeBot, clock: Clock
) -> None:
    a, _ = stand_ins = await instances(2)
    bot = make_bot(stand_ins)
    on_a = conversation_of(a, stand_ins)
    await a.stop()
    assert await turn(bot, on_a, "一", "turn-a-0001") == ["b:一"]
    a.mode = "loading"  # back on its port, still loading its model
    await a.start()
    clock.now += COOLDOWN_S
    assert await turn(bot, on_a, "二", "turn-a-0002") == ["b:二"]
    assert (a.probes, len(a.turns)) == (1, 0) and not bot.health.up(a.url)
    clock.now += COOLDOWN_S - 0.1  # a new cool-down: not even probed
    assert await turn(bot, on_a, "三", "turn-a-0003") == ["b:三"]
    assert a.probes == 1
    a.mode = "ok"
    clock.now += 0.2
    assert await turn(bot, on_a, "四", "turn-a-0004") == ["a:四"]
    assert a.probes == 2 and bot.health.up(a.url)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["fail", "hang"])
async def test_a_5xx_or_a_timeout_fails_over_with_the_same_message_id(
    instances: Instances, make_bot: MakeBot, mode: str
) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins, timeout_s=0.5)
    on_a = conversation_of(a, stand_ins)
    a.mode = mode
    assert await turn(bot, on_a, "查话费", "turn-0001") == ["b:查话费"]
    assert got(a) == got(b) == [(on_a, "查话费", "turn-0001")]
    assert not bot.health.up(a.url) and bot.health.up(b.url)


@pytest.mark.anyio
async def test_every_instance_down_is_bot_unavailable_and_a_cooling_one_is_not_retried(
    instances: Instances, make_bot: MakeBot, clock: Clock
) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins)
    a.mode = b.mode = "fail"
    with pytest.raises(BotUnavailable):
        await turn(bot, "conv-1", "你好", "turn-0001")
    assert len(a.turns) == len(b.turns) == 1
    with pytest.raises(BotUnavailable):  # both cooling down: not asked again
        await turn(bot, "conv-1", "你好", "turn-0002")
    assert len(a.turns) == len(b.turns) == 1
    a.mode = b.mode = "ok"
    clock.now += COOLDOWN_S
    assert await turn(bot, "conv-1", "你好", "turn-0003") != []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["bad", "error"])
async def test_a_400_or_a_failed_turn_is_not_retried_and_the_instance_stays_up(
    instances: Instances, make_bot: MakeBot, mode: str
) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins)
    on_a = conversation_of(a, stand_ins)
    a.mode = mode
    with pytest.raises(BotUnavailable):
        await turn(bot, on_a, "你好", "turn-0001")
    assert (len(a.turns), len(b.turns)) == (1, 0)
    assert bot.health.up(a.url)


@pytest.mark.anyio
async def test_a_refused_token_is_no_failover(
    instances: Instances,
    make_bot: MakeBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins, token="another-token-" + "y" * 30)
    on_a = conversation_of(a, stand_ins)
    with caplog.at_level(logging.ERROR, logger="router.gateway.bot"), pytest.raises(BotUnavailable):
        await turn(bot, on_a, "你好", "turn-0001")
    assert (len(a.turns), len(b.turns)) == (1, 0)
    assert bot.health.up(a.url)
    assert [r.getMessage().split(" ")[0] for r in caplog.records] == ["gateway.bot.refused"]


@pytest.mark.anyio
async def test_urgency_uses_any_healthy_instance(instances: Instances, make_bot: MakeBot) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins)
    answers = {await bot.urgency("我急") for _ in range(20)}
    assert answers == {"a", "b"}  # spread over both
    assert a.parses + b.parses == 20
    await b.stop()
    assert {await bot.urgency("我急") for _ in range(10)} == {"a"}
    a.mode = "fail"
    assert await bot.urgency("我急") is None


@pytest.mark.anyio
async def test_each_instance_health_is_in_the_metrics(
    instances: Instances, make_bot: MakeBot
) -> None:
    a, b = stand_ins = await instances(2)
    bot = make_bot(stand_ins)
    registry = CollectorRegistry()
    registry.register(InstanceCollector(bot))
    a.mode = "fail"
    await turn(bot, conversation_of(a, stand_ins), "你好", "turn-0001")
    text = generate_latest(registry).decode()
    assert f'gateway_bot_instance_up{{instance="{a.url}"}} 0.0' in text
    assert f'gateway_bot_instance_up{{instance="{b.url}"}} 1.0' in text
    assert f'gateway_bot_instance_failures_total{{instance="{a.url}"}} 1.0' in text
    assert f'gateway_bot_instance_failures_total{{instance="{b.url}"}} 0.0' in text
    assert TOKEN not in text and TOKEN not in repr(bot)
