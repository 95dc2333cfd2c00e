"""Handoff to a human: the triggers, and action_handoff / action_cancel_handoff against a REAL
router process (`.venv-router/bin/python -m router` with its own embedded Redis in tmp_path)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from actions.flows import common
from actions.flows.fallback import ActionFallbackStage
from actions.flows.handoff import ActionCancelHandoff, ActionHandoff
from actions.flows.tickets import ActionCreateTicket, ActionStartTicket
from actions.store.generate import DEMO_SUBSCRIBERS
from telecom.secrets import new_secret
from tests.actions.flows_support import (  # noqa: F401
    REPO_ROOT,
    SECRET,
    flows_fixture,
    run,
    settings_for,
    slot,
    snapshot,
    texts,
    verified,
)

DEMO = DEMO_SUBSCRIBERS[0]
ROUTER_PYTHON = REPO_ROOT / ".venv-router" / "bin" / "python"
SERVICE_TOKEN = new_secret()
ADMIN_TOKEN = new_secret()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.loads(response.read())


@pytest.fixture
def router_url(tmp_path: Path):
    """A router process on a free loopback port; its embedded Redis lives in tmp_path."""
    if not ROUTER_PYTHON.exists():
        pytest.skip(f"router environment missing: {ROUTER_PYTHON} (make the router venv first)")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ROUTER_REDIS_URL")}
    env.update(
        ROUTER_HOST="127.0.0.1",
        ROUTER_PORT=str(port),
        ROUTER_ADMIN_TOKEN=ADMIN_TOKEN,
        ROUTER_SERVICE_TOKEN=SERVICE_TOKEN,
        ROUTER_PSEUDONYM_SECRET=new_secret(),
        ROUTER_RASA_TOKEN=new_secret(),
        ROUTER_DATA_DIR=str(tmp_path / "router"),
        ROUTER_LOG_LEVEL="warning",
    )
    log = (tmp_path / "router.log").open("wb")
    process = subprocess.Popen(
        [str(ROUTER_PYTHON), "-m", "router"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if _get(url + "/healthz").get("status") == "ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "router did not start: " + (tmp_path / "router.log").read_text()[-2000:]
                )
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def online(flows, router_url, catalog_root, tmp_path):
    """The flows with settings pointing at the live router."""
    common.use_store(
        flows,
        settings_for(
            catalog_root,
            tmp_path,
            router_url=router_url,
            service_token=SERVICE_TOKEN,
        ),
    )
    return router_url


def offline(flows, catalog_root, tmp_path) -> None:
    """Settings pointing at a port nobody listens on."""
    common.use_store(
        flows,
        settings_for(
            catalog_root,
            tmp_path,
            router_url=f"http://127.0.0.1:{_free_port()}",
            service_token=SERVICE_TOKEN,
        ),
    )


HISTORY = [
    {"event": "action", "name": "action_listen"},
    {
        "event": "user",
        "text": "查一下13800138000的话费",
        "timestamp": 1_795_000_000.0,
        "parse_data": {"intent": {"name": "query_balance"}},
    },
    {"event": "action", "name": "action_answer_balance"},
    {"event": "bot", "text": "您的余额是38.50元", "timestamp": 1_795_000_001.0},
    {"event": "action", "name": "action_listen"},
]


def human_request(conversation: str, **slots) -> dict:
    state = snapshot(text="转人工", intent="request_human", slots=slots, history=HISTORY)
    state["sender_id"] = conversation
    return state


def queued(handoff_id: str) -> list:
    return [
        slot("handoff_now", None),
        slot("handoff_reason", None),
        slot("handoff_id", handoff_id),
        slot("handoff_status", "queued"),
        slot("ticket_kind", None),
        slot("ticket_description", None),
    ]


# ---------------------------------------------------------------------------- with the router


def test_request_human_is_queued_with_position_and_masked_customer(online):
    events, messages = run(ActionHandoff(), human_request("conv-1", **verified(DEMO.phone)))
    handoff_id = events[2]["value"]
    assert events == queued(handoff_id)
    assert texts(messages) == (
        "已为您转接人工客服，您已排在最前面，预计等待不到1分钟；"
        "等待期间您也可以继续问我问题，说“不用转了”可以取消。"
    )
    stored = _get(f"{online}/v1/handoffs/{handoff_id}", SERVICE_TOKEN)
    assert (stored["status"], stored["intent"], stored["skills"]) == (
        "queued",
        "query_balance",
        ["billing"],
    )
    assert stored["customer"]["id"].startswith("c-") and DEMO.phone not in json.dumps(stored)
    assert "客户要求转人工" in stored["summary"] and "已答复话费余额/账单" in stored["summary"]
    assert stored["transcript"][0]["text"] == "查一下138****8000的话费"

    _, messages = run(ActionHandoff(), human_request("conv-2"))
    assert "您前面还有1位" in texts(messages)


def test_same_conversation_twice_is_the_same_handoff(online):
    first, _ = run(ActionHandoff(), human_request("conv-again"))
    handoff_id = first[2]["value"]
    again, messages = run(
        ActionHandoff(),
        human_request("conv-again", handoff_id=handoff_id, handoff_status="queued"),
    )
    assert again == queued(handoff_id)
    assert texts(messages).startswith("您的转人工请求正在排队中，您已排在最前面")


def test_cancel_withdraws_the_handoff(online):
    events, _ = run(ActionHandoff(), human_request("conv-cancel"))
    handoff_id = events[2]["value"]
    state = snapshot(
        text="不用转了",
        intent="cancel_handoff",
        slots={"handoff_id": handoff_id, "handoff_status": "queued"},
    )
    events, messages = run(ActionCancelHandoff(), state)
    assert events == [slot("handoff_id", None), slot("handoff_status", None)]
    assert texts(messages) == "好的，已为您取消转人工。还有什么可以帮您的吗？"
    assert _get(f"{online}/v1/handoffs/{handoff_id}", SERVICE_TOKEN)["status"] == "abandoned"


def test_major_complaint_goes_to_supervisors_at_once_with_high_urgency(online):
    text = "你们泄露了我的个人信息，天天接到骚扰电话，我要去工信部投诉"
    state = snapshot(text=text, intent="complain", slots=verified(DEMO.phone))
    state["sender_id"] = "conv-major"
    events, _ = run(ActionStartTicket(), state)
    assert events[-2:] == [slot("handoff_now", True), slot("handoff_reason", "major_complaint")]
    state["slots"].update(handoff_now=True, handoff_reason="major_complaint")
    events, _ = run(ActionHandoff(), state)
    stored = _get(f"{online}/v1/handoffs/{events[2]['value']}", SERVICE_TOKEN)
    assert (stored["skills"], stored["urgency"]) == (["complaints_supervisor"], "high")
    assert "重大投诉" in stored["summary"]


def test_critical_urgency_is_queued_as_critical(online):
    state = snapshot(text="我的卡被人盗用了正在被转账，快帮我停机！！", intent="request_human")
    state["latest_message"]["urgency"] = {"name": "critical", "confidence": 0.97}
    state["sender_id"] = "conv-critical"
    events, _ = run(ActionHandoff(), state)
    stored = _get(f"{online}/v1/handoffs/{events[2]['value']}", SERVICE_TOKEN)
    assert stored["urgency"] == "critical"


def test_fallback_offer_accepted_is_reason_fallback(online):
    history = [
        {"event": "action", "name": "utter_offer_human"},
        {"event": "action", "name": "action_listen"},
    ]
    state = snapshot(text="好的", intent="affirm", history=history)
    state["sender_id"] = "conv-fallback"
    events, _ = run(ActionHandoff(), state)
    stored = _get(f"{online}/v1/handoffs/{events[2]['value']}", SERVICE_TOKEN)
    assert "机器人连续两次未能理解客户" in stored["summary"]


# ---------------------------------------------------------------------------- router down


def test_router_down_records_a_callback_ticket(flows, catalog_root, tmp_path):
    offline(flows, catalog_root, tmp_path)
    events, messages = run(ActionHandoff(), human_request("conv-down", **verified(DEMO.phone)))
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.kind == "callback" and DEMO.phone not in ticket.description
    assert events == [
        slot("handoff_now", None),
        slot("handoff_reason", None),
        slot("handoff_status", "callback"),
        slot("handoff_id", None),
        slot("ticket_kind", None),
        slot("ticket_description", None),
    ]
    assert texts(messages).startswith("抱歉，现在暂时无法接通人工客服。已为您登记人工回电")
    assert ticket.id in texts(messages) and "138****8000" in texts(messages)


def test_router_down_without_a_phone_asks_for_one(flows, catalog_root, tmp_path):
    offline(flows, catalog_root, tmp_path)
    events, messages = run(ActionHandoff(), human_request("conv-anon"))
    assert events[:4] == [
        slot("handoff_now", None),
        slot("handoff_reason", None),
        slot("handoff_status", None),
        slot("ticket_kind", "callback"),
    ]
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "ticket_form"
    assert "暂时无法接通人工客服" in texts(messages)
    assert flows.get_tickets(DEMO.phone) == []


def test_no_router_configured_is_the_same_as_router_down(flows):
    events, messages = run(ActionHandoff(), human_request("conv-none", **verified(DEMO.phone)))
    assert slot("handoff_status", "callback") in events
    assert "工单号 T" in texts(messages)


# ---------------------------------------------------------------------------- triggers


def test_same_fault_within_24h_is_a_repeat_contact(flows, now):
    earlier = flows.create_ticket(
        "fault", "hardware", "光猫亮红灯", DEMO.phone, now - timedelta(hours=3)
    )
    state = snapshot(
        text="家里宽带又断了，光猫还是亮红灯", intent="report_fault", slots=verified(DEMO.phone)
    )
    events, messages = run(ActionStartTicket(), state)
    assert events[-2:] == [slot("handoff_now", True), slot("handoff_reason", "repeat_contact")]
    assert earlier.id in texts(messages)


def test_same_fault_after_24h_is_a_new_ticket(flows, now):
    flows.create_ticket("fault", "hardware", "光猫亮红灯", DEMO.phone, now - timedelta(hours=30))
    state = snapshot(
        text="家里宽带又断了，光猫还是亮红灯", intent="report_fault", slots=verified(DEMO.phone)
    )
    events, messages = run(ActionStartTicket(), state)
    assert [e["name"] for e in events] == ["ticket_kind", "ticket_description", "phone_number"]
    assert messages == []


def test_repeat_found_when_the_form_collected_the_phone(flows, now):
    earlier = flows.create_ticket(
        "complaint", "fee", "乱扣费20元", DEMO.phone, now - timedelta(hours=1)
    )
    state = snapshot(
        slots={
            "ticket_kind": "complaint",
            "ticket_description": "又乱扣了我的话费，还是增值业务费",
            "phone_number": DEMO.phone,
        }
    )
    events, messages = run(ActionCreateTicket(), state)
    assert events[-2:] == [slot("handoff_now", True), slot("handoff_reason", "repeat_contact")]
    assert earlier.id in texts(messages)
    assert len(flows.get_tickets(DEMO.phone)) == 1  # no duplicate ticket


def test_major_complaint_from_the_form_is_recorded_then_handed_off(flows):
    state = snapshot(
        slots={
            "ticket_kind": "complaint",
            "ticket_description": "营业厅泄露了我的身份证信息，我要找媒体曝光",
            "phone_number": DEMO.phone,
        }
    )
    events, messages = run(ActionCreateTicket(), state)
    assert events[-2:] == [slot("handoff_now", True), slot("handoff_reason", "major_complaint")]
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.severity == "major" and ticket.id in texts(messages)


def test_severity_major_from_the_parse_result_is_enough(flows):
    state = snapshot(text="你们服务太差了，我要投诉", intent="complain")
    state["latest_message"]["complaint"] = {"category": "service", "severity": "major"}
    events, _ = run(ActionStartTicket(), state)
    assert events[-1] == slot("handoff_reason", "major_complaint")


def test_ordinary_complaint_is_not_escalated(flows):
    events, _ = run(ActionStartTicket(), snapshot(text="我要投诉", intent="complain"))
    assert [e["name"] for e in events] == ["ticket_kind", "ticket_description", "phone_number"]


def test_critical_message_not_understood_goes_to_a_human(flows):
    state = snapshot(text="救命 停机了 老人联系不上", intent="nlu_fallback")
    state["latest_message"]["urgency"] = {"name": "critical", "confidence": 0.9}
    events, _ = run(ActionFallbackStage(), state)
    assert events == [
        slot("fallback_stage", "first"),
        slot("handoff_now", True),
        slot("handoff_reason", "critical_urgency"),
    ]


def test_an_open_outage_in_the_customers_district_raises_urgency(online):
    outage_customer = DEMO_SUBSCRIBERS[2]  # 深圳南山区, where a broadband outage is open
    assert common.store().get_subscriber(outage_customer.phone).tier == "regular"
    events, _ = run(
        ActionHandoff(), human_request("conv-outage", **verified(outage_customer.phone))
    )
    stored = _get(f"{online}/v1/handoffs/{events[2]['value']}", SERVICE_TOKEN)
    assert stored["urgency"] == "high"
