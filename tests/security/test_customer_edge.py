"""Attacks on the customer edge of the gateway (issue 12): who may act as a customer, and how much
they may do. Each runs against the running product (`stack`) and failed on the code before the fix:
the client chose the conversation id, the id alone resumed a conversation, the browser's metadata
went to Rasa as it was, nothing was rate-limited, and any page could open a socket."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.security.conftest import Stack, open_conversation

PUBLISHED_SECRET = "DEMO-ONLY-identity-secret-not-for-production"  # the old public constant
DEMO_PHONE = "13800138000"


def refused_socket(url: str, first: str | None = None, **kwargs: Any) -> str:
    """How the socket was refused: 'handshake 403' or 'closed 1008'; fails when it was served."""
    try:
        with connect(url, **kwargs) as ws:
            if first is not None:
                ws.send(first)
            event = ws.recv(timeout=10)
    except InvalidStatus as exc:
        return f"handshake {exc.response.status_code}"
    except ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else None}"
    raise AssertionError(f"served: {event[:200]}")


def test_a_client_chosen_conversation_id_is_refused(stack: Stack, http: httpx.Client) -> None:
    chosen = "my-own-conversation-0001"
    for method, path in (("POST", "messages"), ("GET", "poll?timeout=0"), ("GET", "state"),
                         ("GET", "events")):  # fmt: skip
        reply = http.request(method, f"/v1/chat/{chosen}/{path}", json={"text": "你好"}
                             if method == "POST" else None)  # fmt: skip
        assert reply.status_code == 401, (path, reply.status_code)
    url = f"{stack.ws_url}/v1/chat/ws?conversation_id={chosen}"
    assert refused_socket(url) in ("handshake 403", "closed 1008")
    # a server-issued id is long and random
    issued = open_conversation(http)
    assert len(issued.conversation_id) >= 22 and len(issued.resume_token) >= 43


def test_resuming_someones_conversation_with_only_its_id_is_refused(
    stack: Stack, http: httpx.Client
) -> None:
    victim = open_conversation(http)
    victim.say(f"我的号码是{DEMO_PHONE}")
    attacker = open_conversation(http)
    cid = victim.conversation_id
    for headers in ({}, attacker.headers, {"X-Resume-Token": victim.resume_token[:-2] + "xx"}):
        for path in ("poll?timeout=0", "state", "events"):
            reply = http.get(f"/v1/chat/{cid}/{path}", headers=headers)
            assert reply.status_code == 401, path
            assert DEMO_PHONE not in reply.text and "messages" not in reply.text
        sent = http.post(f"/v1/chat/{cid}/messages", json={"text": "查余额"}, headers=headers)
        assert sent.status_code == 401
    # the socket: the old way (the id in the URL) and a resume frame with another token
    assert refused_socket(f"{stack.ws_url}/v1/chat/ws?conversation_id={cid}") in (
        "handshake 403", "closed 1008")  # fmt: skip
    forged = json.dumps({"type": "resume", "conversation_id": cid,
                         "resume_token": attacker.resume_token})  # fmt: skip
    assert refused_socket(f"{stack.ws_url}/v1/chat/ws", forged) == "closed 1008"
    # nothing the attacker tried reached the victim's conversation
    texts = [m["text"] for m in http.get(f"/v1/chat/{cid}/poll?timeout=0",
                                         headers=victim.headers).json()["messages"]]  # fmt: skip
    assert "查余额" not in texts and texts[0] == f"我的号码是{DEMO_PHONE}"


def _tracker(stack: Stack, conversation_id: str) -> dict[str, Any]:
    token = stack.secrets["ASSISTANT_RASA_TOKEN"]
    reply = httpx.get(f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
                      params={"token": token}, timeout=30)  # fmt: skip
    assert reply.status_code == 200, reply.text[:300]
    tracker: dict[str, Any] = reply.json()
    return tracker


def _signed(secret: str, phone: str, conversation_id: str) -> dict[str, Any]:
    ts, nonce = int(time.time()), "attacker-nonce-0123456789"
    message = f"{phone}|{ts}|{conversation_id}|{nonce}".encode()
    sig = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"phone": phone, "ts": ts, "nonce": nonce, "sig": sig}


def test_forged_metadata_neither_reaches_rasa_nor_verifies(
    stack: Stack, http: httpx.Client
) -> None:
    customer = open_conversation(http)
    cid = customer.conversation_id
    old_style_sig = hmac.new(PUBLISHED_SECRET.encode(), f"{DEMO_PHONE}|{int(time.time())}".encode(),
                             hashlib.sha256).hexdigest()  # fmt: skip
    forged: dict[str, object] = {
        "verified_level": "full",
        "channel": "voice",
        "client": "attacker-chosen-client-key",
        "slots": {"verified_level": "full", "phone": DEMO_PHONE},
        "login": _signed(PUBLISHED_SECRET, DEMO_PHONE, cid),
    }
    replies = customer.say("帮我查一下话费余额", metadata=forged)
    replies += customer.say("查余额", metadata={"login": {"phone": DEMO_PHONE,
                            "ts": int(time.time()), "sig": old_style_sig}})  # fmt: skip
    assert not any("当前余额" in t or "当前欠费" in t for t in replies), replies
    tracker = _tracker(stack, cid)
    metadata = [e.get("metadata") or {} for e in tracker["events"] if e.get("event") == "user"]
    assert metadata, tracker["events"][:3]
    rasas_own = {"model_id", "assistant_id"}  # Rasa adds these to every user event
    for seen in metadata:
        assert set(seen) - rasas_own <= {"channel", "client", "login"}, seen
        assert seen["channel"] == "app" and seen["client"] != "attacker-chosen-client-key"
    assert tracker["slots"].get("verified_level") in (None, "none", "", False)


def test_a_message_flood_gets_429_with_retry_after(http: httpx.Client) -> None:
    customer = open_conversation(http)
    url = f"/v1/chat/{customer.conversation_id}/messages"
    # blank turns cost the attacker nothing and the assistant nothing: they count all the same
    codes = [http.post(url, json={"text": " "}, headers=customer.headers) for _ in range(60)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, {r.status_code for r in codes}
    assert limited[0].json() == {"error": "rate_limited"}
    assert 1 <= int(limited[0].headers["Retry-After"]) <= 3600
    # a real turn in that conversation is refused too until the window moves on
    assert http.post(url, json={"text": "查余额"}, headers=customer.headers).status_code == 429


def test_hundreds_of_long_polls_from_one_address_starve_nobody(
    stack: Stack, http: httpx.Client
) -> None:
    hog = open_conversation(http)
    last = hog.say("你好")  # the bot's reply: polls after it wait
    assert last
    after = http.get(f"/v1/chat/{hog.conversation_id}/poll?timeout=0", headers=hog.headers)
    since = after.json()["messages"][-1]["seq"]
    agent_id, agent_token = next(iter(stack.agents().items()))

    async def attack() -> tuple[list[int], int, int, int]:
        limits = httpx.Limits(max_connections=700, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=stack.router_url, limits=limits,
                                     timeout=60) as client:  # fmt: skip

            async def long_poll() -> int:
                reply = await client.get(
                    f"/v1/chat/{hog.conversation_id}/poll",
                    params={"since": since, "timeout": 8}, headers=hog.headers,
                )  # fmt: skip
                return reply.status_code

            polls = [asyncio.create_task(long_poll()) for _ in range(600)]
            await asyncio.sleep(2)  # every poll has arrived and waits, or was refused
            # meanwhile: another customer talks to the bot, an agent reads its offers
            other = (await client.post("/v1/chat/conversations", json={})).json()
            headers = {"X-Resume-Token": other["resume_token"]}
            chat = f"/v1/chat/{other['conversation_id']}"
            agent = {"Authorization": f"Bearer {agent_token}"}
            turn = await client.post(f"{chat}/messages", json={"text": "你好"}, headers=headers)
            state = await client.get(f"{chat}/state", headers=headers)
            offers = await client.get(f"/v1/agents/{agent_id}/offers", headers=agent)
            return await asyncio.gather(*polls), turn.status_code, state.status_code, (
                offers.status_code)  # fmt: skip

    started = time.monotonic()
    polls, turn, state, offers = asyncio.run(attack())
    assert (turn, state, offers) == (201, 200, 200)
    assert set(polls) <= {200, 429} and polls.count(429) >= 500, sorted(set(polls))
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("origin", ["https://evil.example.net", "null"])
def test_a_socket_from_another_origin_is_refused(stack: Stack, http: httpx.Client,
                                                 origin: str) -> None:  # fmt: skip
    customer = open_conversation(http, channel="web")
    resume = json.dumps({"type": "resume", "conversation_id": customer.conversation_id,
                         "resume_token": customer.resume_token})  # fmt: skip
    url = f"{stack.ws_url}/v1/chat/ws"
    assert refused_socket(url, resume, additional_headers={"Origin": origin}) == "handshake 403"
    # the router's own pages (the widget's frame) are served
    with connect(url, additional_headers={"Origin": stack.router_url}) as ws:
        ws.send(resume)
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
