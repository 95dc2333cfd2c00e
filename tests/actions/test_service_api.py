"""The ticket service over HTTP, on the real action server process (scripts/services.start_actions)
with a throwaway store and a clock file: who may call it, every endpoint's answer and refusals,
idempotent watcher runs and deliveries, deadlines moved by the clock file, an outage's close
resolving its reports. Tickets are opened in the store file the server uses, at the server's time.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest

from actions.service_loop import links
from actions.store.sqlite import SQLiteStore
from scripts import services
from scripts.paths import ROOT
from tests.actions.conftest import CHEAP_ID_HASH_COST
from tests.actions.secrets_support import IDENTITY_SECRET, PEPPER

PHONE = "13800138000"
AGENT, SUP = "agent:a1", "supervisor:s1"


class Server:
    def __init__(self, service: services.Service, env: dict[str, str], clock, store: SQLiteStore):
        self.service, self.env, self.clock_file, self.store = service, env, clock, store
        self.offset = 0.0

    def call(self, method, path, body=None, *, token="tickets", raw=None, query_token=None):
        headers = {"Content-Type": "application/json"}
        value = {
            "tickets": self.env["ASSISTANT_TICKETS_TOKEN"],
            "rasa": self.env["ASSISTANT_ACTIONS_TOKEN"],
        }
        if token:
            headers["Authorization"] = f"Bearer {value.get(token, token)}"
        url = self.service.url + path
        if query_token:
            url += ("&" if "?" in url else "?") + f"token={value[query_token]}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, json.loads(text) if text else None

    def ok(self, method, path, body=None, status=200):
        code, answer = self.call(method, path, body)
        assert code == status, answer
        return answer

    def now(self) -> datetime:
        return datetime.fromisoformat(self.ok("GET", "/v1/tickets-summary")["now"])

    def advance(self, hours: float) -> None:
        """Move the service clock forward (never back: tickets opened stay in the past)."""
        self.offset += hours * 3600
        self.clock_file.write_text(str(self.offset))

    def complaint(self, severity="moderate", phone=PHONE, **extra):
        return self.store.create_ticket(
            "complaint", "network", "网速很慢", phone, self.now(), severity=severity,
            extra={"conversation": "conv-1", "channel": "web", **extra},
        )  # fmt: skip

    def step(self, ticket_id, step, actor=AGENT, status=200, **fields):
        code, answer = self.call(
            "POST", f"/v1/tickets/{ticket_id}/steps", {"step": step, "actor": actor, **fields}
        )
        assert code == status, answer
        return answer


@pytest.fixture(scope="module")
def server(tmp_path_factory, catalog_root):
    base = tmp_path_factory.mktemp("ticket_service")
    db = base / "subscribers.sqlite3"
    store = SQLiteStore(db, catalog_root, id_pepper=PEPPER, id_hash_cost=CHEAP_ID_HASH_COST)
    store.initialise(count=30)  # the server finds it filled: no slow generation
    clock = base / "clock"
    env = services.assistant_env(
        ASSISTANT_DB_PATH=str(db),
        ASSISTANT_IDENTITY_SECRET=IDENTITY_SECRET,
        ASSISTANT_ID_PEPPER=PEPPER,
        ASSISTANT_DEMO_MODE="true",
        ASSISTANT_CLOCK_OFFSET_FILE=str(clock),
    )
    service = services.start_actions(services.free_port(), base / "logs", env)
    try:
        yield Server(service, env, clock, store)
    finally:
        service.stop()


def test_only_the_tickets_token_opens_v1_and_it_opens_nothing_else(server):
    assert server.call("GET", "/v1/tickets-summary", token=None) == (401, {"error": "unauthorized"})
    for token in ("wrong-token-0123456789abcdefghijklmnop", "rasa"):
        assert server.call("GET", "/v1/tickets-summary", token=token)[0] == 401
    assert server.call("GET", "/v1/tickets-summary", token=None, query_token="rasa")[0] == 401
    assert server.call("GET", "/v1/nothing-here", token=None)[0] == 401  # before any 404
    assert server.call("GET", "/actions", token="tickets")[0] == 401
    assert server.call("GET", "/actions", token=None, query_token="rasa")[0] == 200
    code, _ = server.call(
        "POST", "/webhook", {"next_action": "action_list_tickets"}, token="tickets"
    )
    assert code == 401
    assert server.call("GET", "/v1/nothing-here")[0] == 404
    assert server.call("DELETE", "/v1/tickets-summary")[0] == 405


def test_a_ticket_worked_through_the_api(server):
    ticket = server.complaint()
    queue = server.ok("GET", "/v1/tickets?team=frontline")
    assert queue["team"] == "frontline" and ticket.id in [t["id"] for t in queue["tickets"]]
    view = server.ok("GET", f"/v1/tickets/{ticket.id}")
    assert view["ticket"]["state"] == "intake" and view["ticket"]["state_label"] == "已受理"
    assert view["ticket"]["customer"] == "138****8000" and PHONE not in json.dumps(view)
    assert view["ticket"]["conversation_id"] == "conv-1" and view["ticket"]["channel"] == "web"
    assert [e["step"] for e in view["events"]] == ["open"]
    assert server.step(ticket.id, "claim")["notices"] == []
    assert server.step(ticket.id, "claim", SUP, status=409)  # already_claimed
    refused = server.step(ticket.id, "resolve", result="好了", status=409)
    assert refused == {"error": "not_responded", "detail": refused["detail"]}
    answer = server.step(ticket.id, "respond", text="<b>您好</b>，已在处理")
    [notice] = answer["notices"]
    assert notice["kind"] == "response" and "&lt;b&gt;" in notice["text"]
    assert notice["conversation_id"] == "conv-1" and notice["feedback_token"] is None
    assert answer["ticket"]["last_reply"] == "&lt;b&gt;您好&lt;/b&gt;，已在处理"
    done = server.step(ticket.id, "resolve", result="已优化基站", remedy="赠送5GB流量")
    assert done["ticket"]["state"] == "feedback" and done["notices"][0]["kind"] == "result"
    assert [e["step_label"] for e in done["events"]][-1] == "办结并告知结果"


def test_bad_requests_are_refused_with_4xx(server):
    ticket = server.complaint()
    path = f"/v1/tickets/{ticket.id}/steps"
    for body in (
        {"step": "claim", "actor": AGENT, "colour": "red"},
        {"step": "claim"},
        {"step": "claim", "actor": 7},
        {"step": "note", "actor": AGENT, "text": "长" * 2001},
        {"step": "reassign", "actor": AGENT, "team": "marketing"},
    ):
        code, answer = server.call("POST", path, body)
        assert (code, answer["error"]) == (422, "invalid"), body
    assert server.call("POST", path, raw=b"{not json")[1]["error"] == "invalid"
    assert server.call("POST", path, raw=b"[]")[0] == 422
    assert server.call("GET", "/v1/tickets?team=marketing")[0] == 422
    assert server.call("GET", "/v1/tickets")[0] == 422
    assert server.call("GET", "/v1/tickets/T20991231-000001")[1]["error"] == "no_such_ticket"
    code, answer = server.call(
        "POST", "/v1/tickets/T20991231-000001/steps", {"step": "claim", "actor": AGENT}
    )
    assert (code, answer["error"]) == (404, "no_such_ticket")
    assert server.call("GET", "/v1/alerts?limit=501")[0] == 422
    assert server.call("GET", "/v1/alerts?since=-1")[0] == 422
    assert server.call("GET", "/v1/notices?limit=0")[0] == 422
    assert server.call("POST", "/v1/tickets/watch", {"now": "2030-01-01"})[0] == 422


def test_the_clock_file_moves_deadlines_and_the_watcher_runs_once(server):
    ticket = server.complaint()
    major = server.complaint("major")
    first = server.ok("POST", "/v1/tickets/watch", {})
    assert ("page", major.id) in {(a["kind"], a["ticket_id"]) for a in first["alerts"]}
    server.advance(20)  # 20 h: past 80 % of the 24 h respond window
    view = server.ok("GET", f"/v1/tickets/{ticket.id}")["ticket"]
    assert view["breached"] == [] and view["warned"] == []
    run = server.ok("POST", "/v1/tickets/watch", {})
    mine = [a for a in run["alerts"] if a["ticket_id"] == ticket.id]
    assert [(a["kind"], a["window"], a["team_label"]) for a in mine] == [
        ("warning", "respond", "一线客服")
    ]
    assert "已升级至一线客服主管" in mine[0]["text"]
    again = server.ok("POST", "/v1/tickets/watch", {})
    assert [a for a in again["alerts"] if a["ticket_id"] == ticket.id] == []
    assert server.ok("GET", f"/v1/tickets/{ticket.id}")["ticket"]["warned"] == ["respond"]
    server.advance(5)  # 25 h: breached
    assert server.ok("GET", f"/v1/tickets/{ticket.id}")["ticket"]["breached"] == ["respond"]
    breach = server.ok("POST", "/v1/tickets/watch", {})["alerts"]
    assert ("breach", ticket.id, "respond") in {
        (a["kind"], a["ticket_id"], a["window"]) for a in breach
    }
    since = mine[0]["id"]
    listed = server.ok("GET", f"/v1/alerts?since={since}")["alerts"]
    assert listed and all(a["id"] > since for a in listed)
    assert [a["id"] for a in listed] == sorted(a["id"] for a in listed)
    assert len(server.ok("GET", "/v1/alerts?since=0&limit=1")["alerts"]) == 1
    summary = server.ok("GET", "/v1/tickets-summary")
    assert (
        summary["teams"]["frontline"]["breached"] >= 1
        and summary["teams"]["frontline"]["warned"] >= 1
    )
    assert set(summary["alerts_today"]) == {"warning", "breach", "page"}


def test_notices_are_delivered_once(server):
    ticket = server.complaint()
    anonymous = server.complaint(phone=None)
    notices = []
    for each in (ticket, anonymous):
        server.step(each.id, "claim")
        notices += server.step(each.id, "respond", text="您好")["notices"]
    pending = [n["id"] for n in server.ok("GET", "/v1/notices?limit=200")["notices"]]
    assert notices[0]["id"] in pending and pending == sorted(pending)
    first, second = notices
    path = f"/v1/notices/{first['id']}"
    assert server.ok("POST", path + "/delivered", {"via": "conversation"}) == {
        "id": first["id"], "delivered_via": "conversation",
    }  # fmt: skip
    assert (
        server.ok("POST", path + "/delivered", {"via": "conversation"})["delivered_via"]
        == "conversation"
    )
    assert server.ok("POST", path + "/sms", {})["delivered_via"] == "conversation"  # once
    assert server.ok("POST", f"/v1/notices/{second['id']}/sms", {})["delivered_via"] == "none"
    pending = [n["id"] for n in server.ok("GET", "/v1/notices?limit=200")["notices"]]
    assert first["id"] not in pending and second["id"] not in pending
    assert server.call("POST", path + "/delivered", {"via": "pigeon"})[0] == 422
    assert (
        server.call("POST", "/v1/notices/99999999/delivered", {"via": "conversation"})[1]["error"]
        == "no_such_notice"
    )
    assert server.call("POST", "/v1/notices/99999999/sms", {})[0] == 404


def test_the_follow_up_is_answered_with_its_token(server):
    ticket = server.complaint()
    server.step(ticket.id, "claim")
    server.step(ticket.id, "respond", text="您好")
    server.step(ticket.id, "resolve", result="已处理")
    server.advance(25)
    assert server.ok("POST", "/v1/tickets/watch", {})["notices"] >= 1
    [question] = [
        n for n in server.ok("GET", "/v1/notices?limit=200")["notices"]
        if n["ticket_id"] == ticket.id and n["kind"] == "follow_up"
    ]  # fmt: skip
    token = question["feedback_token"]
    assert (
        token == links.feedback_token(IDENTITY_SECRET, ticket.id) and "{link}" in question["text"]
    )
    assert server.ok("POST", "/v1/tickets/watch", {})["notices"] == 0  # asked once
    link = f"https://cs.example/feedback?t={token}"
    assert (
        server.ok("POST", f"/v1/notices/{question['id']}/sms", {"link": link})["delivered_via"]
        == "sms"
    )
    assert any(link in sms.body for sms in server.store.outbox(PHONE))
    page = server.ok("GET", f"/v1/feedback/{token}")
    assert page == {
        "ticket_id": ticket.id, "kind": "complaint", "kind_label": "投诉", "result": "已处理",
        "remedy": None, "answered": False,
    }  # fmt: skip
    assert server.call("POST", "/v1/feedback", {"token": token, "rating": 0})[0] == 422
    assert server.call("POST", "/v1/feedback", {"token": token + "x", "rating": 5})[0] == 404
    assert server.call("GET", f"/v1/feedback/{ticket.id}.{'A' * 22}")[0] == 404
    answer = server.ok("POST", "/v1/feedback", {"token": token, "rating": 5, "comment": "很满意"})
    assert answer == {"ticket_id": ticket.id, "state": "closed", "reopened": False}
    code, again = server.call("POST", "/v1/feedback", {"token": token, "rating": 1})
    assert (code, again["error"]) == (409, "already_answered")
    assert server.ok("GET", f"/v1/feedback/{token}")["answered"] is True
    assert server.ok("GET", f"/v1/tickets/{ticket.id}")["ticket"]["rating"] == 5


def test_a_low_rating_reopens_the_ticket(server):
    ticket = server.complaint()
    server.step(ticket.id, "claim")
    server.step(ticket.id, "respond", text="您好")
    server.step(ticket.id, "resolve", result="已处理")
    token = links.feedback_token(IDENTITY_SECRET, ticket.id)
    answer = server.ok("POST", "/v1/feedback", {"token": token, "rating": 2})
    assert answer == {"ticket_id": ticket.id, "state": "handling", "reopened": True}


def test_an_outage_declared_updated_and_closed(server):
    restore = server.now() + timedelta(hours=4)
    body = {
        "actor": SUP, "city": "深圳", "district": "龙岗区", "service": "broadband",
        "description": "光缆被挖断", "expected_restore_at": restore.isoformat(),
    }  # fmt: skip
    outage = server.ok("POST", "/v1/outages", body, status=201)
    assert (
        outage["status"] == "open" and outage["service_label"] == "宽带" and outage["attached"] == 0
    )
    listed = server.ok("GET", "/v1/outages")["outages"]
    assert outage["id"] in [o["id"] for o in listed]
    report = server.store.attach_outage_report(
        outage["id"],
        "家里断网",
        PHONE,
        server.now(),
        extra={"conversation": "conv-9", "channel": "app"},
    )
    later = (server.now() + timedelta(hours=6)).isoformat()
    moved = server.ok(
        "PATCH", f"/v1/outages/{outage['id']}", {"actor": SUP, "expected_restore_at": later}
    )
    assert (
        moved["attached"] == 1
        and moved["expected_restore_at"] == datetime.fromisoformat(later).isoformat()
    )
    closed = server.ok("POST", f"/v1/outages/{outage['id']}/close", {"actor": SUP})
    assert closed["resolved"] == 1 and closed["outage"]["status"] == "closed"
    assert [t["state"] for t in closed["tickets"]] == ["feedback"]
    ticket = server.ok("GET", f"/v1/tickets/{report.id}")["ticket"]
    assert ticket["state"] == "feedback" and ticket["result"] == "网络故障已修复"
    assert ticket["outage_id"] == outage["id"] and ticket["channel"] == "app"
    kinds = [
        n["kind"]
        for n in server.ok("GET", "/v1/notices?limit=200")["notices"]
        if n["ticket_id"] == report.id
    ]
    assert kinds == ["outage_update", "outage_closed"]
    code, answer = server.call("POST", f"/v1/outages/{outage['id']}/close", {"actor": SUP})
    assert (code, answer["error"]) == (409, "outage_closed")
    assert (
        server.call("PATCH", f"/v1/outages/{outage['id']}", {"actor": SUP, "description": "x"})[0]
        == 409
    )
    assert (
        server.call("POST", "/v1/outages/O19990101-01/close", {"actor": SUP})[1]["error"]
        == "no_such_outage"
    )
    assert outage["id"] in [
        o["id"] for o in server.ok("GET", "/v1/outages?status=closed")["outages"]
    ]
    for bad in (
        {**body, "service": "radio"},
        {**body, "district": ""},
        {**body, "expected_restore_at": "soon"},
    ):
        assert server.call("POST", "/v1/outages", bad)[0] == 422
    assert server.call("GET", "/v1/outages?status=maybe")[0] == 422


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"ASSISTANT_TICKETS_TOKEN": None}, "ASSISTANT_TICKETS_TOKEN"),
        ({"ASSISTANT_TICKETS_TOKEN": "short"}, "ASSISTANT_TICKETS_TOKEN"),
        ({"ASSISTANT_CLOCK_OFFSET_FILE": "var/clock"}, "ASSISTANT_CLOCK_OFFSET_FILE"),
    ],
)
def test_the_server_does_not_start_with_a_bad_tickets_token_or_a_clock_outside_demos(
    change, named, tmp_path
):
    env = services.assistant_env(
        ASSISTANT_DB_PATH=str(tmp_path / "s.sqlite3"),
        ASSISTANT_IDENTITY_SECRET=IDENTITY_SECRET,
        ASSISTANT_ID_PEPPER=PEPPER,
    )
    env.pop("ASSISTANT_DEMO_MODE", None)
    for name, value in change.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    command = [str(services.BIN / "python"), "-m", "actions.server", "--port", "1"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and named in result.stderr.splitlines()[-1]
