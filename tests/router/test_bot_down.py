"""The assistant is down: the customer is told plainly and offered a human, and asking for one
makes the handoff in the gateway itself (router/gateway/service.py), not in the dead bot."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from router.app import create_app
from router.gateway.bot import BotReply, BotUnavailable
from router.gateway.models import CustomerMessage, Sender
from router.gateway.mount import install
from router.gateway.service import BOT_DOWN, HUMAN_PAYLOAD, fallback_handoff
from router.gateway.settings import GatewaySettings
from router.models import Urgency
from router.settings import Settings


class DeadBot:
    """The assistant when Rasa or the action server is down: every turn fails."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.message_ids: list[str] = []

    async def send(
        self, conversation_id: str, message: str, *_: Any, message_id: str
    ) -> list[BotReply]:
        self.calls.append(message)
        self.message_ids.append(message_id)
        raise BotUnavailable()

    async def urgency(self, text: str) -> str | None:
        return None

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def gateway_app(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[Any, DeadBot]]:
    bot = DeadBot()
    settings = make_settings(gateway=GatewaySettings(fallback_skill="general"))
    app = create_app(settings, timers=False, gateway=False)
    install(app, bot=bot)
    async with app.router.lifespan_context(app):
        yield app, bot


def test_the_fallback_handoff() -> None:
    made = fallback_handoff("conv-12345678", "app", "general")
    assert (made.channel, made.urgency, made.skills) == ("app", Urgency.normal, ["general"])
    assert made.customer.id is None  # nobody verified the customer


async def _wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "asks", [CustomerMessage(text="人工"), CustomerMessage(text="转人工", payload=HUMAN_PAYLOAD)]
)
async def test_a_human_without_the_bot(
    gateway_app: tuple[Any, DeadBot], asks: CustomerMessage
) -> None:
    app, bot = gateway_app
    gateway = app.state.gateway
    conversation_id = "down" + uuid.uuid4().hex
    await gateway.customer_turn(conversation_id, CustomerMessage(text="查话费"), "app")
    told = (await gateway.store.history(conversation_id))[-1]
    assert (told.sender, told.text) == (Sender.system, BOT_DOWN)
    assert [b.payload for b in told.buttons] == [HUMAN_PAYLOAD]  # a human, offered

    await gateway.customer_turn(conversation_id, asks, "app")
    assert bot.calls == ["查话费"]  # 人工 did not go back to the dead bot
    handoff = await gateway.store.active_handoff(conversation_id)
    assert handoff is not None and handoff.status == "queued"
    public = await app.state.runtime.store.handoff(handoff.handoff_id)
    assert (public.channel, public.urgency, public.skills) == ("app", Urgency.normal, ["general"])

    async def told_of_the_queue() -> bool:
        texts = [m.text for m in await gateway.store.history(conversation_id)]
        return any("正在为您转接人工客服" in t for t in texts)

    await _wait_for(told_of_the_queue)  # from the handoff's `created` event, as usual


@pytest.mark.anyio
async def test_other_words_still_go_to_the_bot(gateway_app: tuple[Any, DeadBot]) -> None:
    app, bot = gateway_app
    gateway = app.state.gateway
    conversation_id = "down" + uuid.uuid4().hex
    await gateway.customer_turn(conversation_id, CustomerMessage(text="查话费"), "web")
    await gateway.customer_turn(conversation_id, CustomerMessage(text="还在吗"), "web")
    assert bot.calls == ["查话费", "还在吗"]  # it may be back
    # each customer turn has its own id, in the form the assistant's channel accepts
    assert len(set(bot.message_ids)) == 2
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{8,64}", m) for m in bot.message_ids)
    assert await gateway.store.active_handoff(conversation_id) is None
