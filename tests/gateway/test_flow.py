"""The conversation loop over the wire: REST + long polling, WebSocket, SSE, handoff to an agent
on another router process, messages both ways, completion and the satisfaction survey."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.gateway.conftest import ADMIN, Conversation, Router, bearer, open_conversation

pytestmark = pytest.mark.slow


class Socket:
    """A customer's WebSocket, resumed with the conversation's token in its first frame;
    `wait(pred)` returns the first received event matching it."""

    def __init__(self, url: str, conversation: Conversation) -> None:
        self._connection = connect(url)
        self.ws = self._connection.__enter__()
        self.ws.send(conversation.resume_frame())
        self.events: list[dict[str, Any]] = []

    def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if pred(event):
                self.events.remove(event)
                return event
        while time.monotonic() < deadline:
            try:
                event = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                break
            if pred(event):
                return event
            self.events.append(event)
        raise AssertionError(f"no matching event; got {self.events}")

    def say(self, text: str, payload: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "message", "text": text}
        if payload:
            frame["payload"] = payload
        self.ws.send(json.dumps(frame))

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


class AgentEvents:
    """The agent's SSE stream read in a thread."""

    def __init__(self, router: Router, agent_id: str, token: str) -> None:
        self.items: queue.Queue[dict[str, str]] = queue.Queue()
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(router, agent_id, token), daemon=True
        )
        self._thread.start()
        assert self.ready.wait(10)

    def _run(self, router: Router, agent_id: str, token: str) -> None:
        url = f"{router.url}/v1/agents/{agent_id}/events"
        try:
            with httpx.stream("GET", url, headers=bearer(token), timeout=None) as response:
                self.ready.set()
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("data: "):
                        self.items.put(json.loads(line[6:]))
        except httpx.HTTPError:
            return  # the router stopped at the end of the test

    def wait(self, kind: str, timeout: float = 10) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item.get("type") == kind:
                return item
        raise AssertionError(f"no {kind} event")

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture
def sockets() -> Iterator[Callable[[Router, Conversation], Socket]]:
    opened: list[Socket] = []

    def open_socket(router: Router, conversation: Conversation) -> Socket:
        opened.append(Socket(f"{router.ws_url}/v1/chat/ws", conversation))
        return opened[-1]

    yield open_socket
    for s in opened:
        s.close()


def is_message(sender: str, contains: str = "") -> Callable[[dict[str, Any]], bool]:
    return lambda e: (
        e.get("type") == "message" and e.get("sender") == sender and contains in e.get("text", "")
    )


def test_rest_turn_long_poll_and_sse_replay(start_routers: Callable[..., list[Router]]) -> None:
    (router,) = start_routers(1)
    conv = open_conversation(router)
    cid, auth = conv.id, conv.headers
    sent = httpx.post(f"{router.url}/v1/chat/{cid}/messages", json={"text": "查余额"}, headers=auth)
    assert sent.status_code == 201
    seq = sent.json()["seq"]
    polled = httpx.get(
        f"{router.url}/v1/chat/{cid}/poll", params={"timeout": 0}, headers=auth
    ).json()
    assert [(m["sender"], m["text"][:6]) for m in polled["messages"]] == [
        ("customer", "查余额"),
        ("bot", "您的话费余额"),
    ]
    assert polled["messages"][1]["buttons"][0] == {
        "title": "查流量",
        "payload": "/query_data_usage",
    }
    assert polled["state"]["owner"] == "bot"
    # after the customer's own message: only the reply
    after = httpx.get(
        f"{router.url}/v1/chat/{cid}/poll", params={"since": seq, "timeout": 0}, headers=auth
    ).json()
    assert [m["sender"] for m in after["messages"]] == ["bot"]
    # long poll: waits for the next message
    last = after["messages"][-1]["seq"]
    waiter: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: waiter.update(
            httpx.get(
                f"{router.url}/v1/chat/{cid}/poll",
                params={"since": last, "timeout": 10},
                headers=auth,
                timeout=15,
            ).json()
        )
    )
    thread.start()
    time.sleep(0.3)
    httpx.post(f"{router.url}/v1/chat/{cid}/messages", json={"text": "谢谢"}, headers=auth)
    thread.join(15)
    assert waiter["messages"][0]["text"] == "谢谢"
    # SSE resume replays the history after Last-Event-ID
    with httpx.stream(
        "GET",
        f"{router.url}/v1/chat/{cid}/events",
        headers={"Last-Event-ID": seq, **auth},
        timeout=10,
    ) as response:
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if sum(1 for x in lines if x.startswith("event: message")) == 3:
                break
    assert lines[0] == "event: state"
    texts = [json.loads(x[6:])["text"] for x in lines if x.startswith("data: ") and '"seq"' in x]
    assert texts[0].startswith("您的话费余额") and texts[1] == "谢谢"
    bad = httpx.post(f"{router.url}/v1/chat/x/messages", json={"text": "hi"}, headers=auth)
    assert bad.status_code == 422
    blank = httpx.post(f"{router.url}/v1/chat/{cid}/messages", json={"text": " "}, headers=auth)
    assert blank.status_code == 400


def test_only_the_token_holder_acts_in_a_conversation(
    start_routers: Callable[..., list[Router]],
) -> None:
    (router,) = start_routers(1)
    conv = open_conversation(router)
    other = open_conversation(router)
    assert len(conv.id) >= 22 and conv.id != other.id and conv.token != other.token
    httpx.post(f"{router.url}/v1/chat/{conv.id}/messages", json={"text": "查余额"},
               headers=conv.headers)  # fmt: skip
    made_up = "client-chosen-id-123"
    for cid, headers in (
        (conv.id, {}),  # the id alone
        (conv.id, other.headers),  # someone else's token
        (conv.id, {"X-Resume-Token": conv.token[:-1] + "x"}),
        (made_up, conv.headers),  # an id nobody issued
        (made_up, {}),
    ):
        for method, path, body in (
            ("POST", "messages", {"text": "hi"}),
            ("GET", "poll?timeout=0", None),
            ("GET", "state", None),
            ("GET", "events", None),
            ("DELETE", "handoff", None),
        ):
            reply = httpx.request(method, f"{router.url}/v1/chat/{cid}/{path}", json=body,
                                  headers=headers)  # fmt: skip
            assert (reply.status_code, reply.json()) == (401, {"error": "unauthorized"}), path
    # the socket: an id in the URL is refused at the handshake (403, nothing accepted)
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{router.ws_url}/v1/chat/ws?conversation_id={made_up}").close()
    assert refused.value.response.status_code == 403
    # a wrong token, or a first frame that is not a resume: accepted, then closed with 1008
    for case, first in (
        (
            "wrong token",
            {"type": "resume", "conversation_id": conv.id, "resume_token": other.token},
        ),
        ("no resume frame", {"type": "message", "text": "hi"}),
    ):
        with connect(f"{router.ws_url}/v1/chat/ws") as ws:
            ws.send(json.dumps(first))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, case
    # the history stayed with its owner
    own = httpx.get(f"{router.url}/v1/chat/{conv.id}/poll?timeout=0", headers=conv.headers)
    assert [m["sender"] for m in own.json()["messages"]] == ["customer", "bot"]


def test_only_allow_listed_metadata_reaches_the_assistant(
    start_routers: Callable[..., list[Router]],
) -> None:
    (router,) = start_routers(1)
    conv = open_conversation(router, channel="app")
    login = {"phone": "13800138000", "ts": 1_800_000_000, "nonce": "n" * 16, "sig": "ab" * 32}

    def seen(metadata: dict[str, Any]) -> dict[str, Any]:
        sent = httpx.post(f"{router.url}/v1/chat/{conv.id}/messages", headers=conv.headers,
                          json={"text": "元数据", "metadata": metadata})  # fmt: skip
        assert sent.status_code == 201, sent.text
        got = httpx.get(
            f"{router.url}/v1/chat/{conv.id}/poll",
            params={"since": sent.json()["seq"], "timeout": 0},
            headers=conv.headers,
        )
        reply: dict[str, Any] = json.loads(got.json()["messages"][0]["text"])
        return reply  # fmt: skip

    forged = seen({"verified_level": "full", "channel": "voice", "client": "x" * 20})
    assert set(forged) == {"channel", "client"} and forged["channel"] == "app"
    assert forged["client"] != "x" * 20 and len(forged["client"]) == 32
    assert seen({"login": login, "extra": 1}) == {**forged, "login": login}
    for bad in ({**login, "ts": "1"}, {**login, "sig": "x"}, {**login, "more": 1}, "login"):
        assert seen({"login": bad}) == forged
    big = httpx.post(f"{router.url}/v1/chat/{conv.id}/messages", headers=conv.headers,
                     json={"text": "hi", "metadata": {"x": "y" * 5000}})  # fmt: skip
    assert big.status_code == 422
    huge = httpx.post(f"{router.url}/v1/chat/{conv.id}/messages", headers=conv.headers,
                      json={"text": "长" * 7000})  # fmt: skip
    assert huge.status_code == 413
    # bidi and control characters never reach the log an agent reads
    sent = httpx.post(f"{router.url}/v1/chat/{conv.id}/messages", headers=conv.headers,
                      json={"text": "abc\u202edcba\u2066x\u0007y\u200bz"})  # fmt: skip
    got = httpx.get(f"{router.url}/v1/chat/{conv.id}/poll",
                    params={"timeout": 0}, headers=conv.headers).json()["messages"]  # fmt: skip
    assert [m["text"] for m in got if m["seq"] == sent.json()["seq"]] == ["abcdcbaxyz"]


def test_rate_limits_and_stream_slots(start_routers: Callable[..., list[Router]]) -> None:
    (router,) = start_routers(1, gateway={
        "rate_conversation_messages": "3/minute", "rate_conversations": "4/minute",
        "max_streams_per_client": 2,
    })  # fmt: skip
    conv = open_conversation(router)
    url = f"{router.url}/v1/chat/{conv.id}"
    codes = [httpx.post(f"{url}/messages", json={"text": "hi"}, headers=conv.headers).status_code
             for _ in range(4)]  # fmt: skip
    assert codes == [201, 201, 201, 429]
    limited = httpx.post(f"{url}/messages", json={"text": "hi"}, headers=conv.headers)
    assert limited.json() == {"error": "rate_limited"}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # another conversation of the same client is not limited by this one's rate
    other = open_conversation(router)
    assert httpx.post(f"{router.url}/v1/chat/{other.id}/messages", json={"text": "hi"},
                      headers=other.headers).status_code == 201  # fmt: skip
    # new conversations per client address
    opened = [httpx.post(f"{router.url}/v1/chat/conversations").status_code for _ in range(3)]
    assert opened == [201, 201, 429]
    # two waiting long-polls per client: the third is refused at once
    last = httpx.get(f"{url}/poll", params={"timeout": 0}, headers=conv.headers).json()
    wait = {"since": last["messages"][-1]["seq"], "timeout": 3}
    results: list[int] = []
    waiting = [threading.Thread(target=lambda: results.append(httpx.get(
        f"{url}/poll", params=wait, headers=conv.headers, timeout=10).status_code))
        for _ in range(2)]  # fmt: skip
    for thread in waiting:
        thread.start()
    time.sleep(0.5)
    third = httpx.get(f"{url}/poll", params=wait, headers=conv.headers)
    assert third.status_code == 429 and "Retry-After" in third.headers
    assert httpx.get(f"{url}/poll", params={"timeout": 0}, headers=conv.headers).status_code == 200
    for thread in waiting:
        thread.join(10)
    assert results == [200, 200]
    assert (
        httpx.get(f"{url}/poll", params={"timeout": 0.2}, headers=conv.headers).status_code == 200
    )


def test_socket_origin_allow_list(start_routers: Callable[..., list[Router]]) -> None:
    (router,) = start_routers(1, gateway={"chat_allowed_origins": "https://shop.example.com"})
    conv = open_conversation(router, channel="web")
    ws_url = f"{router.ws_url}/v1/chat/ws"
    for origin in (router.url, "https://shop.example.com", None):
        headers = {"Origin": origin} if origin else {}
        with connect(ws_url, additional_headers=headers) as ws:
            ws.send(conv.resume_frame())
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    for origin in ("https://evil.example.net", "null", "http://shop.example.com"):
        with pytest.raises(Exception, match="403"):
            connect(ws_url, additional_headers={"Origin": origin})


def test_handoff_across_two_processes_and_survey(
    start_routers: Callable[..., list[Router]], make_agent: Callable[..., str],
    sockets: Callable[[Router, Conversation], Socket],
) -> None:  # fmt: skip
    customer_side, agent_side = start_routers(2)
    token = make_agent(agent_side, "li.na", name="李娜")
    other = make_agent(agent_side, "wang.wu", name="王五", skills={"roaming": 3}, available=False)
    events = AgentEvents(agent_side, "li.na", token)
    conv = open_conversation(customer_side, channel="web")
    cid = conv.id
    customer = sockets(customer_side, conv)
    hello = customer.wait(lambda e: e["type"] == "hello")
    assert hello["conversation_id"] == cid and hello["state"]["owner"] == "bot"

    customer.say("转人工")
    customer.wait(is_message("bot", "转接"))
    offered = events.wait("offered")
    accepted = httpx.post(
        f"{agent_side.url}/v1/offers/{offered['offer']}/accept", headers=bearer(token)
    )
    assert accepted.status_code == 200, accepted.text
    joined = customer.wait(is_message("system", "李娜"))
    assert joined["agent_name"] == "李娜"
    customer.wait(
        lambda e: e["type"] == "state" and e["owner"] == "agent" and e["agent_name"] == "李娜"
    )

    # the agent sees the summary, the transcript and the history, masked
    view = httpx.get(f"{agent_side.url}/v1/conversations/{cid}", headers=bearer(token)).json()
    assert "查询话费余额" in view["handoff"]["summary"]
    # the queue notice (router event) and the bot's reply (same turn) may come in either order
    assert sorted(m["sender"] for m in view["messages"][:3]) == ["bot", "customer", "system"]

    customer.say("我的号码是13800138000")
    message = events.wait("customer_message")
    assert message["text"] == "我的号码是138****8000" and message["conversation"] == cid
    reply = httpx.post(
        f"{agent_side.url}/v1/conversations/{cid}/messages",
        json={"text": "您好，我是李娜"},
        headers=bearer(token),
    )
    assert reply.status_code == 201
    got = customer.wait(is_message("agent", "我是李娜"))
    assert got["agent_name"] == "李娜"
    assert (
        httpx.post(
            f"{agent_side.url}/v1/conversations/{cid}/messages",
            json={"text": "x"},
            headers=bearer(other),
        ).status_code
        == 403
    )
    assert (
        httpx.get(f"{agent_side.url}/v1/conversations/{cid}", headers=bearer(other)).status_code
        == 403
    )
    assert (
        httpx.post(
            f"{agent_side.url}/v1/conversations/{cid}/messages", json={"text": "x"}
        ).status_code
        == 401
    )
    # what the fast path (router/gateway/fast.py) does not serve falls through to the route:
    # a body that does not validate, a conversation without a handoff, a body over the limit
    for url, body, status in (
        (f"{agent_side.url}/v1/conversations/{cid}/messages", {"text": ""}, 422),
        (f"{agent_side.url}/v1/conversations/{cid}/messages", {"text": "x", "y": 1}, 422),
        (f"{agent_side.url}/v1/conversations/no-such-conversation/messages", {"text": "x"}, 404),
        (f"{agent_side.url}/v1/conversations/{cid}/messages", {"text": "x" * 300_000}, 413),
    ):
        assert httpx.post(url, json=body, headers=bearer(token)).status_code == status, body
    # the agent's id with a wrong secret, a token of no agent, and the admin token
    for forged, status in (("li.na.wrong", 401), ("nobody.secret", 401), (ADMIN, 403)):
        assert (
            httpx.post(
                f"{agent_side.url}/v1/conversations/{cid}/messages",
                json={"text": "x"},
                headers=bearer(forged),
            ).status_code
            == status
        ), forged

    # a reconnect on the other process resumes with the history
    customer.close()
    again = sockets(agent_side, conv)
    assert again.wait(lambda e: e["type"] == "hello")["state"]["owner"] == "agent"
    again.wait(is_message("agent", "我是李娜"))

    done = httpx.post(
        f"{agent_side.url}/v1/handoffs/{offered['handoff']}/complete",
        json={"disposition": "resolved"},
        headers=bearer(token),
    )
    assert done.status_code in (200, 204), done.text
    prompt = again.wait(is_message("bot", "打分"))
    assert [b["title"] for b in prompt["buttons"]] == ["5 分", "4 分", "3 分", "2 分", "1 分"]
    again.say("5 分", prompt["buttons"][0]["payload"])
    again.wait(is_message("bot", "意见"))
    again.say("服务很好")
    again.wait(is_message("bot", "感谢您的反馈"))
    admin_view = httpx.get(f"{agent_side.url}/v1/conversations/{cid}", headers=bearer(ADMIN)).json()
    assert admin_view["rating"] == 5 and admin_view["comment"] == "服务很好"
    # the bot owns it again
    again.say("查余额")
    again.wait(is_message("bot", "余额"))
    events.stop()


def test_queue_position_and_customer_cancel(
    start_routers: Callable[..., list[Router]],
    sockets: Callable[[Router, Conversation], Socket],
) -> None:
    (router,) = start_routers(1)
    first = sockets(router, open_conversation(router, channel="web"))
    first.wait(lambda e: e["type"] == "hello")
    first.say("转人工")
    first.wait(
        lambda e: e["type"] == "state" and e["owner"] == "queue" and e["queue_position"] == 1
    )
    conv = open_conversation(router, channel="web")
    second = sockets(router, conv)
    cid = second.wait(lambda e: e["type"] == "hello")["conversation_id"]
    assert cid == conv.id
    second.say("人工")
    queued = second.wait(is_message("system", "前面还有 1 位"))
    assert "预计等待" in queued["text"]
    state = second.wait(lambda e: e["type"] == "state" and e["queue_position"] == 2)
    # the same words (telecom.wait) in the message and in the state the widget shows
    assert state["estimated_wait_text"].startswith("预计等待")
    assert state["estimated_wait_text"] in queued["text"]
    # the first customer gives up: the second moves up
    first.ws.send(json.dumps({"type": "cancel_handoff"}))
    first.wait(is_message("system", "已取消"))
    second.wait(lambda e: e["type"] == "state" and e["queue_position"] == 1, timeout=10)
    assert (
        httpx.delete(f"{router.url}/v1/chat/{cid}/handoff", headers=conv.headers).status_code == 204
    )
    second.wait(lambda e: e["type"] == "state" and e["owner"] == "bot")
    assert (
        httpx.delete(f"{router.url}/v1/chat/{cid}/handoff", headers=conv.headers).status_code == 404
    )


def test_a_more_urgent_message_while_queued_raises_the_handoff(
    start_routers: Callable[..., list[Router]],
    sockets: Callable[[Router, Conversation], Socket],
) -> None:
    (router,) = start_routers(1)
    first = sockets(router, open_conversation(router, channel="web"))
    first.wait(lambda e: e["type"] == "hello")
    first.say("转人工")
    first.wait(lambda e: e["type"] == "state" and e["queue_position"] == 1)
    second = sockets(router, open_conversation(router, channel="web"))
    second.wait(lambda e: e["type"] == "hello")
    second.say("转人工")
    state = second.wait(lambda e: e["type"] == "state" and e["queue_position"] == 2)
    # waiting, the second customer writes something critical: it now goes first
    second.say("救命，老人手机停了联系不上")
    second.wait(lambda e: e["type"] == "state" and e["queue_position"] == 1, timeout=10)
    handoff = httpx.get(f"{router.url}/v1/handoffs/{state['handoff_id']}", headers=bearer(ADMIN))
    assert handoff.json()["urgency"] == "critical"
    first.wait(lambda e: e["type"] == "state" and e["queue_position"] == 2, timeout=10)
    # something less urgent never lowers it
    second.say("好的我等等")
    assert (
        httpx.get(f"{router.url}/v1/handoffs/{state['handoff_id']}", headers=bearer(ADMIN)).json()[
            "urgency"
        ]
        == "critical"
    )
