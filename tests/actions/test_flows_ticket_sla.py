"""Ticket SLAs in replies and storage, known-outage attachment, and check_ticket: the ticket's
state, its deadlines and the latest reply."""

from __future__ import annotations

from datetime import timedelta

from actions.flows import common
from actions.flows.tickets import ActionCreateTicket, ActionListTickets
from actions.store.generate import DEMO_SUBSCRIBERS, OUTAGE_DEMO_PHONE
from telecom import tickets
from tests.actions.conftest import NOW
from tests.actions.flows_support import flows_fixture, run, slot, snapshot, texts, verified  # noqa: F401

DEMO = DEMO_SUBSCRIBERS[0]  # 北京 朝阳区: its broadband outage is closed
AGENT = "agent:a1"


def ticket_state(kind: str, description: str, phone: str, *, parsed: dict | None = None, **kw):
    """The ticket form's end: slots filled; `parsed` adds triage keys to the report message."""
    state = snapshot(
        slots={"ticket_kind": kind, "ticket_description": description, "phone_number": phone},
        **kw,
    )
    if parsed:
        state["latest_message"].update(parsed)
        state["events"][-1]["parse_data"].update(parsed)
    return state


def reset(phone: str) -> list:
    """The form's slots cleared; the number (verified, or the contact number) stays the
    candidate of a later verification."""
    return [
        slot("ticket_description", None),
        slot("ticket_kind", None),
        slot("phone_number", phone),
    ]


def test_moderate_complaint_reply_and_stored_deadlines(flows):
    events, messages = run(
        ActionCreateTicket(), ticket_state("complaint", "网速很慢，信号一直不稳定", DEMO.phone)
    )
    assert events == reset(DEMO.phone)
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.severity == "moderate" and ticket.status == "open"
    assert ticket.extra == {
        "respond_by": (NOW + timedelta(hours=24)).isoformat(),
        "resolve_by": (NOW + timedelta(hours=48)).isoformat(),
        "result_by": (NOW + timedelta(hours=48)).isoformat(),
        "satisfaction_by": (NOW + timedelta(days=7)).isoformat(),
        "escalate_now": False,
        "conversation": "test",  # where the customer was: the sender id (the router's id)
    }
    text = texts(messages)
    assert f"工单号 {ticket.id}" in text
    assert "我们会在24小时内联系您（11月24日 12:00 前）" in text
    assert "48小时内给出处理结果（11月25日 12:00 前）" in text
    assert "138****8000" in text and DEMO.phone not in text


def test_minor_complaint_is_answered_at_once(flows):
    _, messages = run(
        ActionCreateTicket(), ticket_state("complaint", "想问一下套餐里的流量怎么算", DEMO.phone)
    )
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.severity == "minor"
    assert ticket.extra["respond_by"] == NOW.isoformat()
    assert "客服会尽快与您联系答复，48小时内给出处理结果" in texts(messages)


def test_major_complaint_reply_keeps_the_handoff(flows):
    events, messages = run(
        ActionCreateTicket(), ticket_state("complaint", "网速太慢，我要打12300投诉", DEMO.phone)
    )
    assert events == [
        *reset(DEMO.phone),
        slot("handoff_now", True),
        slot("handoff_reason", "major_complaint"),
    ]
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.extra["handoff_skill"] == "complaints_supervisor"
    respond_by = (NOW + tickets.AT_ONCE_RESPOND).isoformat()
    assert ticket.extra["respond_by"] == respond_by and ticket.extra["escalate_now"] is True
    assert "重大问题" in texts(messages) and "48小时内给出处理结果" in texts(messages)


def test_network_fault_is_responded_to_within_45_minutes(flows):
    events, messages = run(
        ActionCreateTicket(), ticket_state("fault", "手机没信号，打不了电话也上不了网", DEMO.phone)
    )
    assert events == reset(DEMO.phone)
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.extra["respond_by"] == (NOW + timedelta(minutes=45)).isoformat()
    assert ticket.extra["respond_target"] == (NOW + timedelta(minutes=30)).isoformat()
    assert "网络类故障会在45分钟内响应（11月23日 12:45 前" in texts(messages)


def test_parsed_fault_category_and_urgency_set_the_sla(flows):
    parsed = {
        "fault": {"category": "network", "service": "broadband", "area": None},
        "urgency": {"name": "normal", "confidence": 0.9},
    }
    run(
        ActionCreateTicket(),
        ticket_state("fault", "家里宽带一直断网，光猫亮红灯", DEMO.phone, parsed=parsed),
    )
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.category == "hardware"  # stored category unchanged (keyword check)
    assert ticket.extra["respond_by"] == (NOW + timedelta(minutes=45)).isoformat()
    assert ticket.status == "open"  # 朝阳区's broadband outage is closed: a new case


def test_known_outage_attaches_the_report_instead_of_a_new_case(flows):
    state = snapshot(
        slots=verified(
            OUTAGE_DEMO_PHONE,
            ticket_kind="fault",
            ticket_description="家里宽带断网了，一直连不上",
            phone_number=OUTAGE_DEMO_PHONE,
        )
    )
    events, messages = run(ActionCreateTicket(), state)
    assert events == reset(OUTAGE_DEMO_PHONE)  # same events as an ordinary ticket
    [ticket] = flows.get_tickets(OUTAGE_DEMO_PHONE)
    outage = flows.open_outage("深圳", "南山区", "broadband", NOW)
    assert (ticket.kind, ticket.status, ticket.extra["outage_id"]) == (
        "fault",
        "attached",
        outage.id,
    )
    text = texts(messages)
    assert "深圳南山区目前有一起已知的宽带故障" in text
    assert "预计 11月24日 18:00 恢复" in text
    assert f"参考编号 {ticket.id}" in text and "不再另开新单" in text
    assert "138****8002" in text and OUTAGE_DEMO_PHONE not in text


def test_area_from_the_parse_result_finds_the_outage(flows):
    parsed = {"fault": {"category": "network", "service": "broadband", "area": "南山区"}}
    run(ActionCreateTicket(), ticket_state("fault", "宽带上不了网", DEMO.phone, parsed=parsed))
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.status == "attached"


def test_area_entity_and_other_service(flows):
    entities = [{"entity": "area", "value": "浦东新区", "start": 0, "end": 4}]
    run(
        ActionCreateTicket(),
        ticket_state("fault", "浦东新区手机没信号", DEMO.phone, entities=entities),
    )
    assert flows.get_tickets(DEMO.phone)[0].status == "attached"
    other = DEMO_SUBSCRIBERS[3].phone  # another number: DEMO's second fault would be a repeat
    run(
        ActionCreateTicket(),
        ticket_state("fault", "浦东新区宽带上不了网", other, entities=entities),
    )
    assert flows.get_tickets(other)[0].status == "open"  # no broadband outage there


def _list(phone: str) -> str:
    _, messages = run(ActionListTickets(), snapshot(slots=verified(phone)))
    return texts(messages)


def test_check_ticket_shows_the_state_its_deadlines_and_the_latest_reply(flows):
    run(ActionCreateTicket(), ticket_state("complaint", "网速很慢，信号一直不稳定", DEMO.phone))
    [ticket] = flows.get_tickets(DEMO.phone)
    text = _list(DEMO.phone)
    assert "138****8000 的工单" in text and DEMO.phone not in text
    assert f"{ticket.id}（投诉，11月23日 12:00登记）" in text
    assert "：处理中，等待客服联系（11月24日 12:00 前响应），11月25日 12:00 前给出处理结果" in text

    late = NOW + timedelta(hours=25)
    common.use_clock(lambda: late)
    assert "：处理中，已超过承诺的响应时间（11月24日 12:00），非常抱歉" in _list(DEMO.phone)
    flows.apply_ticket_step(ticket.id, "claim", AGENT, late)
    assert "：客服已接单，正在核实，已超过承诺的响应时间（11月24日 12:00）" in _list(DEMO.phone)

    flows.apply_ticket_step(ticket.id, "respond", AGENT, late, text="已安排工程师<b>检测</b>")
    flows.apply_ticket_step(ticket.id, "note", AGENT, late, text="内部：基站告警")
    text = _list(DEMO.phone)
    assert (
        "：处理中，11月25日 12:00 前给出处理结果。"
        "客服最新答复：“已安排工程师&lt;b&gt;检测&lt;/b&gt;”"
    ) in text
    assert "基站告警" not in text  # internal notes stay internal
    flows.apply_ticket_step(ticket.id, "respond", AGENT, late, text="工程师明天上午到场")
    assert "客服最新答复：“工程师明天上午到场”" in _list(DEMO.phone)

    common.use_clock(lambda: NOW + timedelta(hours=49))
    assert "：处理中，已超过承诺的处理时限（11月25日 12:00），非常抱歉" in _list(DEMO.phone)

    resolved_at = NOW + timedelta(hours=49)
    flows.apply_ticket_step(ticket.id, "resolve", AGENT, resolved_at, result="已优化基站参数")
    assert "：已处理，处理结果：“已优化基站参数”。如对结果不满意" in _list(DEMO.phone)

    flows.apply_ticket_step(
        ticket.id, "follow_up_answer", "customer", resolved_at, rating=1, text="还是很慢"
    )
    assert "：已重新处理，11月27日 13:00 前给出处理结果。客服最新答复" in _list(DEMO.phone)
    flows.apply_ticket_step(
        ticket.id, "resolve", AGENT, resolved_at, result="已更换设备", remedy="赠送10GB流量"
    )
    flows.apply_ticket_step(ticket.id, "follow_up_answer", "customer", resolved_at, rating=5)
    assert "：已办结，处理结果：“已更换设备”，补偿方案：“赠送10GB流量”" in _list(DEMO.phone)


def test_check_ticket_shows_an_attached_outage_report(flows):
    state = snapshot(
        slots=verified(
            OUTAGE_DEMO_PHONE,
            ticket_kind="fault",
            ticket_description="宽带断网",
            phone_number=OUTAGE_DEMO_PHONE,
        )
    )
    run(ActionCreateTicket(), state)
    assert "已关联到南山区宽带已知故障，预计 11月24日 18:00 恢复" in _list(OUTAGE_DEMO_PHONE)
