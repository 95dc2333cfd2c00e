"""The gateway's archive feed (gw:archive): a conversation through the gateway (a scripted
assistant in process, the router's real engine and scripts on a throwaway Redis) leaves every
message (masked), the assistant's reading of each turn, the survey (the assistant's own, and an
agent's), the disposition and the end; the consumer makes the archive of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from pydantic import SecretStr

from archive.consumer import Consumer
from router.app import create_app
from router.embedded_redis import RedisServer
from router.gateway import archive_feed
from router.gateway.bot import BotReply, Replies, parse_replies
from router.gateway.models import CustomerMessage
from router.gateway.mount import install
from router.gateway.survey import rating_payload
from router.keys import Keys
from router.models import HandoffCreate, Presence
from router.settings import Settings
from telecom.secrets import new_secret
from tests.archive.conftest import rows

PHONE = "13800138000"


class ReadingBot:
    """Answers with a reading like the assistant's channel: 谢谢 → thanks; 人工 → a handoff
    (through the router's engine, as the action server does over HTTP); else query_balance."""

    def __init__(self) -> None:
        self.app: Any = None

    async def send(
        self, conversation_id: str, message: str, channel: str, metadata: dict[str, Any], *,
        message_id: str,
    ) -> list[BotReply]:  # fmt: skip
        replies = Replies()
        if "人工" in message:
            await self.app.state.runtime.engine.create_handoff(
                HandoffCreate(conversation_id=conversation_id, channel=channel,
                              intent="query_balance", skills=["billing"], summary="查话费")
            )  # fmt: skip
            replies.append(BotReply("好的，正在为您转接人工客服。"))
            intent, action = "request_human", "action_handoff"
        elif "谢谢" in message:
            replies.append(BotReply("不客气！"))
            intent, action = "thanks", "utter_thanks"
        else:
            replies.append(BotReply(f"已为您查询 {PHONE} 的话费：58.20 元。"))
            intent, action = "query_balance", "action_query_balance"
        replies.reading = {"intent": intent, "confidence": 0.91, "margin": 0.5,
                           "urgency": "normal", "entities": ["phone_number"], "fallback": False,
                           "action": action, "ticket": None,
                           "customer": PHONE if intent == "query_balance" else None}  # fmt: skip
        return replies

    async def urgency(self, text: str) -> str | None:
        return None

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def gateway(redis_server: RedisServer, keys: Keys) -> AsyncIterator[Any]:
    bot = ReadingBot()
    settings = Settings(
        redis_url=SecretStr(redis_server.url), key_prefix=keys.prefix,
        admin_token=SecretStr(new_secret()), service_token=SecretStr(new_secret()),
        rasa_token=SecretStr(new_secret()), pseudonym_secret=SecretStr(new_secret()),
    )  # fmt: skip
    app = create_app(settings, timers=False, gateway=False)
    install(app, bot=bot)
    bot.app = app
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def feed(rds: redis.Redis, keys: Keys, conversation_id: str) -> list[dict[str, str]]:
    return [f for _, f in rds.xrange(keys.archive()) if f.get("conversation") == conversation_id]


async def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def test_the_reading_rides_with_the_replies_and_is_stripped() -> None:
    body = [
        {"recipient_id": "c", "text": "您好"},
        {"recipient_id": "c", "custom": {"reading": {"intent": "greet", "confidence": 0.99}}},
    ]
    replies = parse_replies(body)
    assert [r.text for r in replies] == ["您好"]
    assert replies.reading == {"intent": "greet", "confidence": 0.99}


def test_the_assistants_survey_is_due_once() -> None:
    thanks = {"intent": "thanks", "action": "utter_thanks", "fallback": False}
    assert archive_feed.bot_survey_due(thanks, {})
    assert not archive_feed.bot_survey_due(thanks, {"handoff_id": "h000000000001"})
    assert not archive_feed.bot_survey_due(thanks, {"rating_of": "bot"})
    assert not archive_feed.bot_survey_due({"intent": "query_balance"}, {})


@pytest.mark.anyio
async def test_a_conversation_the_assistant_alone_served(
    archive_engine: sa.Engine,  # first: a PostgreSQL cluster starts before the router does
    make_consumer: Callable[..., Consumer], gateway: Any, rds: redis.Redis, keys: Keys,
) -> None:  # fmt: skip
    gw = gateway.state.gateway
    cid = "feed" + uuid.uuid4().hex
    meta = {"client": "k" * 32}
    await gw.customer_turn(
        cid, CustomerMessage(text=f"查话费，我的号码{PHONE}", metadata=meta), "web"
    )
    await gw.customer_turn(cid, CustomerMessage(text="谢谢"), "web")
    asked = (await gw.store.history(cid))[-1]
    assert "智能助手" in asked.text and "跳过" in [b.title for b in asked.buttons]
    await gw.customer_turn(cid, CustomerMessage(text="4分", payload=rating_payload(4)), "web")
    entries = feed(rds, keys, cid)
    kinds = [e["kind"] for e in entries]
    assert kinds == [
        "message", "message", "reading",  # customer, bot, the reading of the customer's turn
        "message", "message", "reading",  # 谢谢, 不客气
        "message", "ended",  # the survey asked: the assistant ended it
        "message", "rating", "message",  # 4分, the rating, thanks
    ]  # fmt: skip
    assert entries[0]["sender"] == "customer" and entries[0]["client"] == "k" * 32
    assert entries[2]["seq"] == (await gw.store.history(cid))[0].seq
    assert (entries[7]["ended_by"], entries[9]["rating"], entries[9]["rating_of"]) == (
        "bot", "4", "bot",
    )  # fmt: skip
    assert all(PHONE not in e.get("text", "") for e in entries)  # masked before Lua
    make_consumer().run(lambda: False, once=True)
    found = rows(
        archive_engine,
        "SELECT channel, first_intent, bot_turns, handoffs, rating, rating_of, ended_by"
        " FROM conversations WHERE id = :c",
        c=cid,
    )
    assert found == [("web", "query_balance", 2, 0, 4, "bot", "bot")]
    texts = rows(archive_engine, "SELECT text FROM messages WHERE conversation_id = :c", c=cid)
    assert len(texts) == 7 and all(PHONE not in t for (t,) in texts)


@pytest.mark.anyio
async def test_a_conversation_an_agent_completed(
    archive_engine: sa.Engine,  # first: a PostgreSQL cluster starts before the router does
    make_consumer: Callable[..., Consumer], gateway: Any, rds: redis.Redis, keys: Keys,
) -> None:  # fmt: skip
    gw, engine = gateway.state.gateway, gateway.state.runtime.engine
    await engine.upsert_agent("agent-li", "李晓梅", {"billing": 3}, ["zh"], 2, "x" * 64)
    await engine.presence("agent-li", Presence.available)
    cid = "feed" + uuid.uuid4().hex
    await gw.customer_turn(cid, CustomerMessage(text="转人工"), "app")
    offers = await gateway.state.runtime.store.offers("agent-li")
    handoff_id = await engine.accept(offers[0].offer_id, "agent-li")
    await gw.agent_message(cid, "agent-li", f"您好，请确认号码 {PHONE}")
    await engine.complete(handoff_id, "agent-li", "resolved")
    await _wait_for(lambda: "ended" in [e["kind"] for e in feed(rds, keys, cid)])
    await _wait_for(lambda: any("打分" in e.get("text", "") for e in feed(rds, keys, cid)))
    await gw.customer_turn(cid, CustomerMessage(text="5"), "app")
    await gw.customer_turn(cid, CustomerMessage(text=f"很好，回电{PHONE}"), "app")
    entries = feed(rds, keys, cid)
    agent_said = [e for e in entries if e.get("sender") == "agent"]
    assert (
        agent_said and agent_said[0]["agent"] == "agent-li" and PHONE not in agent_said[0]["text"]
    )
    facts = {e["kind"]: e for e in entries if e["kind"] != "message"}
    assert facts["disposition"]["disposition"] == "resolved"
    assert (facts["ended"]["ended_by"], facts["rating"]["rating_of"]) == ("agent", "agent")
    assert PHONE not in facts["comment"]["text"]
    make_consumer().run(lambda: False, once=True)
    assert rows(
        archive_engine,
        "SELECT handoffs, rating, rating_of, disposition, ended_by, comment IS NOT NULL"
        " FROM conversations WHERE id = :c",
        c=cid,
    ) == [(1, 5, "agent", "resolved", "agent", True)]
    assert rows(
        archive_engine,
        "SELECT status, agent_id, channel, queue, intent, conversation_id FROM handoffs",
    ) == [("completed", "agent-li", "app", "billing", "query_balance", cid)]
    assert rows(archive_engine, "SELECT display_name FROM agents") == [("李晓梅",)]
