"""actions/handoff.py: the handoff payload and the calls to the router (a local stand-in server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from actions import handoff

SECRET = "test-secret"


def user(text: str, intent: str, ts: float = 1_795_000_000.0) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": ts,
        "parse_data": {"intent": {"name": intent}},
    }


def bot(text: str, ts: float = 1_795_000_001.0) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": ts}


EVENTS = [
    {"event": "action", "name": "action_listen"},
    user("你好", "greet"),
    bot("您好，我是智能客服"),
    user("查一下话费余额", "query_balance"),
    bot("请提供手机号"),
    user("13800138000", "inform"),
    user("/affirm", "affirm"),
    {"event": "slot", "name": "phone_number", "value": "13800138000"},
    user("转人工", "request_human"),
]


@pytest.mark.parametrize(
    ("intent", "reason", "skills"),
    [
        ("query_balance", "request_human", ["billing"]),
        ("change_plan", None, ["plans_data"]),
        ("faq/data_pack", None, ["plans_data"]),
        ("roaming", "fallback", ["roaming"]),
        ("reset_password", None, ["account_security"]),
        ("query_balance", "verification_locked", ["account_security"]),
        ("query_plan", "major_complaint", ["complaints"]),
        ("complain", None, ["complaints"]),
        ("report_fault", "critical_urgency", ["network_faults"]),
        (None, "request_human", [handoff.DEFAULT_SKILL]),
    ],
)
def test_skills_for_intent_and_reason(
    intent: str | None, reason: str | None, skills: list[str]
) -> None:
    assert handoff.skills_for(intent, reason) == skills


def test_handoff_intent_skips_requests_without_content() -> None:
    assert handoff.handoff_intent(EVENTS) == "query_balance"
    assert handoff.handoff_intent([user("转人工", "request_human")]) is None


def test_transcript_masks_numbers_and_skips_payloads() -> None:
    turns = handoff.transcript_from_events(EVENTS)
    assert [t["role"] for t in turns] == [
        "customer",
        "bot",
        "customer",
        "bot",
        "customer",
        "customer",
    ]
    assert turns[4]["text"] == "138****8000"
    assert all("13800138000" not in t["text"] for t in turns)
    assert turns[0]["ts"].startswith("2026-")
    assert handoff.transcript_from_events(EVENTS, limit=2) == turns[-2:]


def test_build_handoff_payload() -> None:
    payload = handoff.build_handoff(
        "conv-1",
        intent="request_human",
        events=EVENTS,
        phone="13800138000",
        tier="gold",
        verified_level="basic",
        secret=SECRET,
        bot_actions=["已为客户 13800138000 查询余额"],
    )
    assert payload["intent"] == "query_balance"
    assert payload["skills"] == ["billing"]
    assert payload["language"] == "zh"
    assert payload["urgency"] == "normal"
    customer = payload["customer"]
    assert customer["tier"] == "gold"
    assert customer["id"] == handoff.customer_ref("13800138000", SECRET)
    assert customer["id"].startswith("c-") and "138" not in customer["id"]
    summary = payload["summary"]
    assert "查询话费余额" in summary and "客户要求转人工" in summary
    assert "138****8000" in summary and "金卡" in summary and "已验证" in summary
    assert "13800138000" not in json.dumps(payload, ensure_ascii=False)


def test_reasons_raise_urgency() -> None:
    assert (
        handoff.build_handoff("c", intent="complain", reason="major_complaint")["urgency"] == "high"
    )
    critical = handoff.build_handoff("c", intent="report_fault", reason="critical_urgency")
    assert critical["urgency"] == "critical"
    assert handoff.build_handoff("c", urgency="bogus")["urgency"] == "normal"
    unverified = handoff.build_summary(intent=None, reason="fallback")
    assert "未验证" in unverified and "未提供手机号" in unverified


class FakeRouter(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str, str | None, Any]]] = []

    def _reply(self, status: int, body: Any = None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.calls.append(("POST", self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != "Bearer svc":
            return self._reply(401, {"detail": "unauthorized"})
        return self._reply(
            201,
            {"handoff_id": "h1", "status": "queued", "queue_position": 1, "estimated_wait_s": 30},
        )

    def do_DELETE(self) -> None:
        self.calls.append(("DELETE", self.path, self.headers.get("Authorization"), None))
        self._reply(204 if self.path.endswith("/h1") else 404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def router_url() -> Iterator[str]:
    FakeRouter.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRouter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_create_and_cancel(router_url: str) -> None:
    payload = handoff.build_handoff("conv-9", intent="roaming", secret=SECRET)
    created = handoff.create_handoff(router_url, "svc", payload)
    assert created == {
        "handoff_id": "h1",
        "status": "queued",
        "queue_position": 1,
        "estimated_wait_s": 30,
    }
    assert handoff.cancel_handoff(router_url, "svc", "h1") is True
    assert handoff.cancel_handoff(router_url, "svc", "gone") is False
    assert [(m, p, a) for m, p, a, _ in FakeRouter.calls] == [
        ("POST", "/v1/handoffs", "Bearer svc"),
        ("DELETE", "/v1/handoffs/h1", "Bearer svc"),
        ("DELETE", "/v1/handoffs/gone", "Bearer svc"),
    ]
    assert FakeRouter.calls[0][3] == payload


def test_errors_carry_the_status(router_url: str) -> None:
    with pytest.raises(handoff.HandoffError) as refused:
        handoff.create_handoff(router_url, "wrong", {"conversation_id": "c"})
    assert refused.value.status == 401
    with pytest.raises(handoff.HandoffError) as down:
        handoff.create_handoff("http://127.0.0.1:9", "svc", {}, timeout=1)
    assert down.value.status == 0
