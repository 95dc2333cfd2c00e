"""The router's ticket, outage, alert and follow-up routes against the real ticket service (the
action server as a process): who may call each, what is passed on, how refusals come back, what
is audited and what the archive's feed gets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from tests.router.conftest import ADMIN, SERVICE, bearer
from tests.router.tickets.conftest import TICKETS_TOKEN, ActionServer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

NO_TICKET = "T20990101-000001"
NO_OUTAGE = "O20990101-99"
OUTAGE = {"city": "深圳", "district": "福田区", "service": "tv", "description": "光缆中断"}
# (method, path, body, roles allowed)
ROUTES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/v1/tickets?team=billing", None, {"agent", "supervisor"}),
    ("GET", f"/v1/tickets/{NO_TICKET}", None, {"agent", "supervisor"}),
    ("POST", f"/v1/tickets/{NO_TICKET}/steps", {"step": "note", "text": "备注"},
     {"agent", "supervisor"}),
    ("POST", "/v1/tickets/watch", {}, {"admin"}),
    ("GET", "/v1/ticket-alerts?since=0", None, {"supervisor", "admin"}),
    ("GET", "/v1/tickets-summary", None, {"supervisor", "admin"}),
    ("GET", "/v1/outages?status=all", None, {"agent", "supervisor", "admin"}),
    ("POST", "/v1/outages", {**OUTAGE, "expected_restore_at": "soon"}, {"supervisor", "admin"}),
    ("PATCH", f"/v1/outages/{NO_OUTAGE}", {"description": "抢修中"}, {"supervisor", "admin"}),
    ("POST", f"/v1/outages/{NO_OUTAGE}/close", {}, {"supervisor", "admin"}),
]  # fmt: skip


async def test_who_may_call_each_route(make_router):
    router = await make_router()
    tokens = {
        "nobody": {},
        "wrong": bearer("x" * 43),
        "tickets token": bearer(TICKETS_TOKEN),  # the service's token opens nothing here
        "service": bearer(SERVICE),
        "agent": await router.agent("a-1"),
        "supervisor": await router.supervisor("s-1"),
        "admin": bearer(ADMIN),
    }
    for method, path, body, allowed in ROUTES:
        for role, headers in tokens.items():
            reply = await router.http.request(method, path, json=body, headers=headers)
            if role in ("nobody", "wrong", "tickets token"):
                assert reply.status_code == 401, (method, path, role, reply.text)
            elif role in allowed:
                assert reply.status_code not in (401, 403), (method, path, role, reply.text)
                assert reply.status_code < 500, (method, path, role, reply.text)
            else:
                assert reply.status_code == 403, (method, path, role, reply.text)


async def test_a_ticket_is_worked_through_the_router(make_router, action_server: ActionServer):
    router = await make_router()
    agent = await router.agent("a-1")
    supervisor = await router.supervisor("s-1")
    opened = await router.customer()
    ticket_id = action_server.seed(
        severity="moderate", category="fee", conversation=opened["conversation_id"],
        channel="web",
    )  # fmt: skip
    steps = f"/v1/tickets/{ticket_id}/steps"

    queue = await router.http.get("/v1/tickets?team=billing", headers=agent)
    assert queue.status_code == 200, queue.text
    assert ticket_id in [t["id"] for t in queue.json()["tickets"]]
    claimed = await router.http.post(steps, json={"step": "claim"}, headers=agent)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["ticket"]["assignee"] == "agent:a-1"
    # the state machine's refusals come back with their codes
    early = await router.http.post(
        steps, json={"step": "resolve", "result": "已退费"}, headers=agent
    )
    assert (early.status_code, early.json()) == (409, {"error": "not_responded"})
    again = await router.http.post(steps, json={"step": "claim"}, headers=supervisor)
    assert (again.status_code, again.json()["error"]) == (409, "already_claimed")
    answered = await router.http.post(
        steps, json={"step": "respond", "text": "已核实，正在为您退费"}, headers=agent
    )
    assert answered.status_code == 200, answered.text
    assert [n["kind"] for n in answered.json()["notices"]] == ["response"]
    assert answered.json()["ticket"]["state"] == "handling"
    moved = await router.http.post(
        steps, json={"step": "reassign", "team": "complaints_supervisors"}, headers=supervisor
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["ticket"]["team"] == "complaints_supervisors"

    read = await router.http.get(f"/v1/tickets/{ticket_id}", headers=supervisor)
    assert read.status_code == 200, read.text
    assert [e["step"] for e in read.json()["events"]][-3:] == ["claim", "respond", "reassign"]
    assert read.json()["ticket"]["conversation_id"] == opened["conversation_id"]

    audit = await router.http.get(
        f"/v1/audit?conversation={opened['conversation_id']}", headers=bearer(ADMIN)
    )
    actions = [(e["actor"], e["action"]) for e in audit.json()]
    assert ("agent:a-1", "tickets") in actions
    assert ("supervisor:s-1", "ticket") in actions

    feed = [f for f in await router.feed() if f["ticket_id"] == ticket_id]
    assert [(f["step"], f["actor_role"], f["state"]) for f in feed] == [
        ("claim", "agent", "assessing"),
        ("respond", "agent", "handling"),
        ("reassign", "supervisor", "handling"),
    ]
    assert {f["conversation"] for f in feed} == {opened["conversation_id"]}
    assert feed[-1]["team"] == "complaints_supervisors"
    assert feed[0]["severity"] == "moderate"
    metrics = await router.http.get("/metrics", headers=bearer(ADMIN))
    assert 'router_ticket_steps_total{step="respond"} 1.0' in metrics.text


async def test_bad_requests_are_clear_4xx(make_router, action_server: ActionServer):
    router = await make_router()
    agent = await router.agent("a-1")
    ticket_id = action_server.seed(severity="minor")
    steps = f"/v1/tickets/{ticket_id}/steps"
    cases = [
        ("GET", f"/v1/tickets/{NO_TICKET}", None, 404, "no_such_ticket"),
        ("POST", f"/v1/tickets/{NO_TICKET}/steps", {"step": "claim"}, 404, "no_such_ticket"),
        ("GET", "/v1/tickets?team=nosuch", None, 422, "invalid"),
        ("GET", "/v1/tickets?team=Bad-Team", None, 422, "validation_error"),
        ("POST", steps, {"step": "follow_up_answer", "rating": 5}, 422, "validation_error"),
        ("POST", steps, {"step": "follow_up_answer"}, 403, "forbidden"),
        ("POST", steps, {"step": "claim", "actor": "supervisor:x"}, 422, "validation_error"),
        ("POST", steps, {"step": "fly"}, 422, "validation_error"),
        ("POST", steps, {"step": "note", "text": "长" * 2001}, 422, "validation_error"),
        ("POST", steps, {"step": "note"}, 409, "text_required"),
    ]
    for method, path, body, status, code in cases:
        reply = await router.http.request(method, path, json=body, headers=agent)
        assert reply.status_code == status, (method, path, body, reply.text)
        if code is not None:
            assert reply.json()["error"] == code, (method, path, body, reply.text)


async def test_outages_are_declared_updated_and_closed(make_router):
    router = await make_router()
    supervisor = await router.supervisor("netops")
    agent = await router.agent("a-1")
    declared = await router.http.post(
        "/v1/outages", json={**OUTAGE, "expected_restore_at": "2099-01-01T10:00:00+08:00"},
        headers=supervisor,
    )  # fmt: skip
    assert declared.status_code == 201, declared.text
    outage = declared.json()
    assert (outage["district"], outage["status"], outage["attached"]) == ("福田区", "open", 0)
    listed = await router.http.get("/v1/outages", headers=agent)
    assert outage["id"] in [o["id"] for o in listed.json()["outages"]]
    path = f"/v1/outages/{outage['id']}"
    updated = await router.http.patch(path, json={"description": "光缆抢修中"}, headers=supervisor)
    assert (updated.status_code, updated.json()["description"]) == (200, "光缆抢修中")
    closed = await router.http.post(f"{path}/close", json={"result": "已修复"}, headers=supervisor)
    assert closed.status_code == 200, closed.text
    assert closed.json()["outage"]["status"] == "closed"
    again = await router.http.post(f"{path}/close", json={}, headers=bearer(ADMIN))
    assert (again.status_code, again.json()["error"]) == (409, "outage_closed")
    late = await router.http.patch(path, json={"description": "x"}, headers=supervisor)
    assert (late.status_code, late.json()["error"]) == (409, "outage_closed")
    missing = await router.http.patch(
        f"/v1/outages/{NO_OUTAGE}", json={"description": "x"}, headers=supervisor
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "no_such_outage")
    bad = await router.http.post(
        "/v1/outages", json={**OUTAGE, "service": "radio"}, headers=supervisor
    )
    assert bad.status_code == 422


async def test_a_bad_feedback_token_is_not_found(make_router):
    router = await make_router()
    forged = f"{NO_TICKET}.{'A' * 22}"
    assert (await router.http.get(f"/v1/feedback/{forged}")).status_code == 404
    reply = await router.http.post("/v1/feedback", json={"token": forged, "rating": 5})
    assert reply.status_code == 404, reply.text
    assert (await router.http.get("/v1/feedback/not-a-token")).status_code == 422
    wrong = await router.http.post("/v1/feedback", json={"token": forged, "rating": 9})
    assert wrong.status_code == 422


async def test_without_the_service_or_with_a_wrong_token_it_is_unavailable(
    make_router, action_server: ActionServer
):
    off = await make_router(tickets_url=None)
    wrong = await make_router(tickets_token=SecretStr("w" * 43))
    for n, router in enumerate((off, wrong)):
        agent = await router.agent(f"a-{n}")
        for path in ("/v1/tickets?team=billing", f"/v1/tickets/{NO_TICKET}"):
            reply = await router.http.get(path, headers=agent)
            assert (reply.status_code, reply.json()) == (503, {"error": "tickets_unavailable"})
        reply = await router.http.post("/v1/tickets/watch", headers=bearer(ADMIN))
        assert reply.status_code == 503
