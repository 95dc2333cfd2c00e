"""`python -m router purge`: conversation text older than the retention is deleted now."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from router.embedded_redis import RedisServer
from router.engine import Engine
from router.gateway.models import ChatMessage, Sender
from router.gateway.store import ConversationStore
from router.purge import cutoff_ms, low_water, purge
from router.store import Store
from tests.router.helpers import agent, handoff, offers_of

pytestmark = pytest.mark.anyio
DAY_MS = 24 * 3600 * 1000


def test_low_water_stops_at_the_first_handoff_kept() -> None:
    assert low_water(1, [0, 2, 0, 1, 2]) == 4
    assert low_water(10, [0, 0]) == 12
    assert low_water(5, [1]) == 5
    assert cutoff_ms(10 * DAY_MS, 7 * 24 * 3600) == 3 * DAY_MS


def _store(engine: Engine) -> ConversationStore:
    return ConversationStore(engine.redis, engine, Store(engine.redis, engine.keys))


async def test_purge_deletes_what_is_older_than_the_retention(
    make_engine: Callable[..., Engine],
) -> None:
    engine = make_engine()
    store = _store(engine)
    r, keys = engine.redis, engine.keys
    message = ChatMessage(sender=Sender.customer, text="我的号码13800138000", ts=1)
    for conversation_id in ("old-conversation", "new-conversation"):
        await store.customer_turn(conversation_id, "web", message)
    now = int(time.time() * 1000)
    await r.zadd(keys.chats(), {"old-conversation": now - 8 * DAY_MS})  # as if 8 days ago
    await agent(engine, "li")
    await r.delete(engine.keys.agent_events("li"))  # an entry 8 days old in li's stream:
    await r.xadd(
        engine.keys.agent_events("li"),
        {"type": "customer_message", "text": "x"},
        id=f"{now - 8 * DAY_MS}-0",
    )
    ended = await engine.create_handoff(handoff("old-conversation"))
    live = await engine.create_handoff(handoff("new-conversation"))
    await engine.abandon(ended.handoff_id)
    await r.hset(engine.keys.handoff(ended.handoff_id), "closed_ms", now - 8 * DAY_MS)

    report = await purge(r, engine.keys, now, 7 * 24 * 3600)

    assert (report.conversations, report.handoffs) == (1, 1)
    assert report.agent_events >= 1
    assert not await r.exists(keys.chat_log("old-conversation"), keys.chat("old-conversation"))
    assert await r.exists(keys.chat_log("new-conversation"), keys.chat("new-conversation")) == 2
    assert not await r.exists(engine.keys.handoff(ended.handoff_id))
    assert await r.exists(engine.keys.handoff(live.handoff_id))  # live (offered): kept
    assert await offers_of(engine, "li")
    # the low-water mark moved past the deleted handoff, not past the live one
    assert await r.get(engine.keys.purge_handoffs()) == str(int(live.handoff_id[1:]))
    again = await purge(r, engine.keys, now, 7 * 24 * 3600)
    assert (again.conversations, again.handoffs) == (0, 0)


@pytest.mark.slow
def test_python_m_router_purge(redis_server: RedisServer, tmp_path: Path) -> None:
    prefix = f"purge{uuid.uuid4().hex[:6]}:"
    done = subprocess.run(
        [sys.executable, "-m", "router", "purge"],
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "REDIS_URL": redis_server.url,
            "ROUTER_KEY_PREFIX": prefix,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "router.purge conversations=0 handoffs=0 agent_events=0 ratings=0"
    )
