"""The watcher's tick against the real ticket service and Redis: notices into an open
conversation or by SMS, alerts forwarded once across ticks and router processes, the follow-up
answered through its link, the archive feed's entries and the counters."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.router.conftest import ADMIN, bearer
from tests.router.tickets.conftest import ActionServer, Router

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LINK = re.compile(r"https://cs\.example\.cn/feedback\?t=(T\d{8}-\d{6}\.[A-Za-z0-9_-]{22})")


def system_texts(history: list[dict[str, object]], ticket_id: str) -> list[str]:
    return [
        str(m["text"]) for m in history if m["sender"] == "system" and ticket_id in str(m["text"])
    ]


async def resolve(router: Router, ticket_id: str, agent: dict[str, str]) -> None:
    steps = f"/v1/tickets/{ticket_id}/steps"
    for body in (
        {"step": "claim"},
        {"step": "respond", "text": "已为您核查"},
        {"step": "resolve", "result": "已退还多收的流量费"},
    ):
        reply = await router.http.post(steps, json=body, headers=agent)
        assert reply.status_code == 200, reply.text


async def test_notices_reach_an_open_conversation_once(make_router, action_server: ActionServer):
    router = await make_router()
    agent = await router.agent("a-1")
    opened = await router.customer()
    ticket_id = action_server.seed(
        category="fee", severity="moderate", conversation=opened["conversation_id"], channel="web"
    )
    await resolve(router, ticket_id, agent)
    first = await router.tick()
    await router.tick()
    texts = system_texts(await router.history(opened), ticket_id)
    assert len(texts) == 2, texts  # the response and the result, each once
    assert "已为您核查" in texts[0]
    assert "已退还多收的流量费" in texts[1]
    assert first["delivered"]["sms"] == 0
    rows = action_server.sql(
        "SELECT kind, delivered_via FROM ticket_notices WHERE ticket_id = ? ORDER BY id", ticket_id
    )
    assert rows == [("response", "conversation"), ("result", "conversation")]


async def test_a_closed_or_gone_conversation_gets_an_sms(make_router, action_server: ActionServer):
    router = await make_router()
    agent = await router.agent("a-1")
    ended = await router.customer()
    # the gateway's mark of a conversation closed by its survey (router/gateway/service.py)
    await router.app.state.gateway.store.set_meta(ended["conversation_id"], rating_of="agent")
    ended_ticket = action_server.seed(
        category="fee", severity="moderate", conversation=ended["conversation_id"], channel="web"
    )
    gone_ticket = action_server.seed(
        category="fee", severity="moderate", conversation="c-expired-long-ago", channel="app"
    )
    phone_ticket = action_server.seed(
        category="fee", severity="moderate", conversation=ended["conversation_id"],
        channel="voice",
    )  # fmt: skip
    for ticket_id in (ended_ticket, gone_ticket, phone_ticket):
        await resolve(router, ticket_id, agent)
    await router.tick()
    assert system_texts(await router.history(ended), ended_ticket) == []
    for ticket_id in (ended_ticket, gone_ticket, phone_ticket):
        rows = action_server.sql(
            "SELECT delivered_via FROM ticket_notices WHERE ticket_id = ?", ticket_id
        )
        assert rows == [("sms",), ("sms",)], ticket_id
        sent = action_server.sql(
            "SELECT body FROM sms_outbox WHERE body LIKE ? AND body LIKE ?",
            f"%{ticket_id}%", "%已退还多收的流量费%",
        )  # fmt: skip
        assert len(sent) == 1, ticket_id


async def test_alerts_are_forwarded_once_across_ticks_and_routers(
    make_router, action_server: ActionServer
):
    one = await make_router()
    two = await make_router()  # another router process on the same Redis and prefix
    major = action_server.seed(severity="major", category="service")
    moderate = action_server.seed(severity="moderate", category="fee")
    await asyncio.gather(one.tick(), two.tick(), one.tick())
    action_server.advance(20)  # past 80 % of the 24 h respond window: a warning
    await asyncio.gather(two.tick(), one.tick())
    action_server.advance(5)  # past the respond deadline: a breach
    await asyncio.gather(one.tick(), two.tick())
    await one.tick()
    feed = await one.feed()
    kinds = {t: [(f["step"], f["window"]) for f in feed if f["ticket_id"] == t]
             for t in (major, moderate)}  # fmt: skip
    assert kinds[major].count(("page", "")) == 1, kinds
    assert kinds[moderate] == [("warning", "respond"), ("breach", "respond")], kinds
    page = next(f for f in feed if f["ticket_id"] == major and f["step"] == "page")
    assert (page["actor_role"], page["team"], page["severity"]) == (
        "system", "complaints_supervisors", "major",
    )  # fmt: skip
    ids = [int(f["ts"]) for f in feed]
    assert ids == sorted(ids)
    # every alert once in all: the two routers' counters add up to the alerts forwarded
    forwarded = len(feed)
    total = 0
    for router in (one, two):
        text = (await router.http.get("/metrics", headers=bearer(ADMIN))).text
        total += sum(
            int(float(v))
            for v in re.findall(r'router_ticket_alerts_total\{kind="\w+"\} (\S+)', text)
        )
    assert total == forwarded
    supervisor = await one.supervisor("s-1")
    alerts = (await one.http.get("/v1/ticket-alerts?since=0&limit=500", headers=supervisor)).json()
    assert {a["ticket_id"] for a in alerts["alerts"]} >= {major, moderate}
    summary = await one.http.get("/v1/tickets-summary", headers=supervisor)
    assert summary.json()["teams"]["billing"]["breached"] >= 1


async def test_the_follow_up_is_answered_through_its_link(make_router, action_server: ActionServer):
    router = await make_router()
    agent = await router.agent("a-1")
    opened = await router.customer()
    ticket_id = action_server.seed(
        severity="minor", category="fee", conversation=opened["conversation_id"], channel="web"
    )
    await resolve(router, ticket_id, agent)
    await router.tick()
    action_server.advance(25)  # a day after the resolution: the satisfaction question
    await router.tick()
    texts = system_texts(await router.history(opened), ticket_id)
    links = [m.group(1) for t in texts for m in [LINK.search(t)] if m]
    assert len(links) == 1, texts
    assert "{link}" not in texts[-1]
    token = links[0]
    page = await router.http.get(f"/v1/feedback/{token}")
    assert page.status_code == 200, page.text
    assert (page.json()["ticket_id"], page.json()["answered"]) == (ticket_id, False)
    answer = await router.http.post(
        "/v1/feedback", json={"token": token, "rating": 5, "comment": "很满意"}
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["reopened"]) == ("closed", False)
    again = await router.http.post("/v1/feedback", json={"token": token, "rating": 1})
    assert (again.status_code, again.json()["error"]) == (409, "already_answered")
    feed = [f for f in await router.feed() if f["ticket_id"] == ticket_id]
    assert feed[-1]["step"] == "follow_up_answer"
    assert (feed[-1]["actor_role"], feed[-1]["rating"], feed[-1]["state"]) == (
        "customer", "5", "closed",
    )  # fmt: skip
    assert feed[-1]["conversation"] == opened["conversation_id"]


async def test_a_dissatisfied_answer_reopens_and_the_sms_carries_the_link(
    make_router, action_server: ActionServer
):
    router = await make_router()
    agent = await router.agent("a-1")
    ticket_id = action_server.seed(severity="minor", category="fee", conversation="c-gone")
    await resolve(router, ticket_id, agent)
    await router.tick()
    action_server.advance(25)
    await router.tick()
    sent = action_server.sql(
        "SELECT body FROM sms_outbox WHERE body LIKE ? AND body LIKE ?",
        f"%{ticket_id}%", "%/feedback?t=%",
    )  # fmt: skip
    assert len(sent) == 1, sent
    match = LINK.search(sent[0][0])
    assert match is not None, sent
    answer = await router.http.post("/v1/feedback", json={"token": match.group(1), "rating": 1})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["reopened"]) == ("handling", True)


async def test_a_background_watcher_ticks_by_itself(make_router, action_server: ActionServer):
    router = await make_router(ticket_watch_s=0.2)
    opened = await router.customer()
    ticket_id = action_server.seed(
        severity="major", category="service", conversation=opened["conversation_id"]
    )
    for _ in range(300):  # the page is forwarded by the watcher, not by a forced tick
        if any(f["ticket_id"] == ticket_id for f in await router.feed()):
            break
        await asyncio.sleep(0.1)
    entries = [(f["step"], f["window"]) for f in await router.feed() if f["ticket_id"] == ticket_id]
    assert ("page", "") in entries
    assert len(entries) == len(set(entries))  # each alert once (a major one is also breached)


async def test_closing_an_outage_resolves_its_reports_tells_them_and_feeds_the_archive(
    make_router, action_server: ActionServer
):
    router = await make_router()
    supervisor = await router.supervisor("netops")
    declared = await router.http.post(
        "/v1/outages",
        json={"city": "深圳", "district": "南山区", "service": "broadband", "description": "断缆"},
        headers=supervisor,
    )
    assert declared.status_code == 201, declared.text
    outage_id = declared.json()["id"]
    opened = await router.customer()
    ticket_id = action_server.seed(
        "fault", outage=outage_id, conversation=opened["conversation_id"], channel="web"
    )
    closed = await router.http.post(
        f"/v1/outages/{outage_id}/close", json={"result": "光缆已接通"}, headers=supervisor
    )
    assert closed.status_code == 200, closed.text
    assert [t["id"] for t in closed.json()["tickets"]] == [ticket_id]
    await router.tick()
    texts = system_texts(await router.history(opened), ticket_id)
    assert len(texts) == 1 and "光缆已接通" in texts[0], texts
    resolves = [
        e for e in await router.feed() if e["ticket_id"] == ticket_id and e["step"] == "resolve"
    ]
    assert [(e["actor_role"], e["state"]) for e in resolves] == [("system", "feedback")]
