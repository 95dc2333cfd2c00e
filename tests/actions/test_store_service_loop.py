"""The store's side of the ticket service: notices queued with their steps, the watcher's runs
(idempotent), deliveries (once), outages declared, updated and closed with their attached
reports, and an older store brought up to the new tables and columns."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from actions.service_loop import links, notices
from actions.store.base import InvalidInput, NoSuchOutage, NoSuchTicket
from actions.store.generate import DEMO_SUBSCRIBERS
from actions.store.outage_work import OutageClosed
from actions.store.schema import OUTAGE_WORK, table_sql
from actions.store.ticket_notices import NoSuchNotice
from telecom.tickets import TicketRuleError
from tests.actions.secrets_support import IDENTITY_SECRET
from tests.actions.store_support import rows, snapshot

PHONE = DEMO_SUBSCRIBERS[0].phone
AGENT, SUP = "agent:a1", "supervisor:s1"
H = timedelta(hours=1)
WHERE = {"conversation": "c-123", "channel": "web"}


def token_for(ticket_id: str) -> str:
    return links.feedback_token(IDENTITY_SECRET, ticket_id)


@pytest.fixture
def complaint(store, now):
    def create(severity="moderate", phone=PHONE, **kwargs):
        return store.create_ticket(
            "complaint", "network", "网速很慢", phone, now, severity=severity,
            extra=dict(WHERE), **kwargs,
        )  # fmt: skip

    return create


def resolve(store, ticket_id, at, **fields):
    store.work_ticket(ticket_id, "claim", AGENT, at)
    store.work_ticket(ticket_id, "respond", AGENT, at, text="您好，正在处理")
    return store.work_ticket(ticket_id, "resolve", AGENT, at, result="已优化基站", **fields)


def test_respond_and_resolve_queue_their_notices_with_the_step(store, complaint, now):
    ticket = complaint()
    _, none = store.work_ticket(ticket.id, "claim", AGENT, now + H)
    _, [response] = store.work_ticket(
        ticket.id, "respond", AGENT, now + H, text="已联系网络部门 13800138000 <b>"
    )
    assert none == [] and response.kind == "response" and ticket.id in response.text
    assert "13800138000" not in response.text and "<b>" not in response.text  # cleaned
    assert (response.conversation_id, response.channel) == ("c-123", "web")
    _, [result] = store.work_ticket(
        ticket.id, "resolve", AGENT, now + 2 * H, result="已优化", remedy="赠送流量"
    )
    assert result.kind == "result" and "已优化" in result.text and "赠送流量" in result.text
    assert [n.id for n in store.pending_notices()] == [response.id, result.id]
    assert result.feedback_token is None and PHONE not in result.text


def test_a_refused_step_queues_nothing(store, complaint, now):
    ticket = complaint()
    before = snapshot(store)
    with pytest.raises(TicketRuleError) as refused:
        store.work_ticket(ticket.id, "resolve", AGENT, now + H, result="x")
    assert refused.value.code == "not_responded" and snapshot(store) == before
    with pytest.raises(NoSuchTicket):
        store.work_ticket("T20261123-999999", "claim", AGENT, now)


def test_the_watcher_warns_flags_pages_and_asks_once_each(store, complaint, now):
    moderate, major = complaint(), complaint("major")
    first = store.watch_tickets(now, token_for)
    assert [(a.kind, a.ticket_id, a.team) for a in first.alerts] == [
        ("page", major.id, "complaints_supervisors")
    ]
    assert first.alerts[0].window is None and first.alerts[0].severity == "major"
    assert store.watch_tickets(now, token_for).alerts == []  # same time: nothing new
    at = now + 20 * H
    run = store.watch_tickets(at, token_for)
    warned = [a for a in run.alerts if a.ticket_id == moderate.id]
    assert [(a.kind, a.window, a.team) for a in warned] == [("warning", "respond", "frontline")]
    assert "响应时限将于" in warned[0].text and warned[0].due == now + 24 * H
    assert store.ticket(moderate.id).lifecycle.warned == ("respond",)
    assert [e.step for e in store.ticket_steps(moderate.id)][-1] == "escalate"
    assert store.watch_tickets(at, token_for).alerts == []
    later = store.watch_tickets(now + 25 * H, token_for)
    assert ("breach", moderate.id, "respond") in {
        (a.kind, a.ticket_id, a.window) for a in later.alerts
    }
    ids = [a.id for a in store.ticket_alerts()]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert [a.id for a in store.ticket_alerts(since=ids[1], limit=1)] == [ids[2]]


def test_the_follow_up_question_a_day_after_the_resolution(store, complaint, now):
    ticket = complaint()
    resolve(store, ticket.id, now + H)
    assert store.watch_tickets(now + 24 * H, token_for).notices == 0
    run = store.watch_tickets(now + 25 * H, token_for)
    assert run.notices == 1
    [question] = [n for n in store.pending_notices() if n.kind == "follow_up"]
    assert question.feedback_token == token_for(ticket.id) and notices.LINK in question.text
    assert store.watch_tickets(now + 26 * H, token_for).notices == 0  # once per round
    store.apply_ticket_step(ticket.id, "follow_up_answer", "customer", now + 27 * H, rating=1)
    store.work_ticket(ticket.id, "resolve", AGENT, now + 28 * H, result="重新处理")
    assert store.watch_tickets(now + 52 * H, token_for).notices == 1  # the new round asks again


def test_deliveries_are_recorded_once(store, complaint, now):
    ticket = complaint()
    store.work_ticket(ticket.id, "claim", AGENT, now)
    _, [first] = store.work_ticket(ticket.id, "respond", AGENT, now, text="第一次答复")
    _, [second] = store.work_ticket(ticket.id, "respond", AGENT, now, text="第二次答复")
    done = store.notice_delivered(first.id, "conversation", now + H)
    assert done.delivered_via == "conversation"
    assert store.notice_delivered(first.id, "conversation", now + 2 * H).delivered_at == now + H
    assert store.send_notice_sms(first.id, now + 2 * H).delivered_via == "conversation"
    assert store.outbox(PHONE)[0].body.startswith("【客服通知】您的工单")  # only the opening SMS
    sent = store.send_notice_sms(second.id, now + H)
    assert sent.delivered_via == "sms"
    assert store.send_notice_sms(second.id, now + 2 * H).delivered_at == now + H
    texts = [s.body for s in store.outbox(PHONE)]
    assert texts.count(notices.sms_body(second.text)) == 1
    assert store.pending_notices() == []
    with pytest.raises(NoSuchNotice):
        store.notice_delivered(999, "conversation", now)
    with pytest.raises(NoSuchNotice):
        store.send_notice_sms(999, now)
    with pytest.raises(InvalidInput):
        store.notice_delivered(second.id, "pigeon", now)


def test_a_follow_up_sms_carries_its_link_and_an_anonymous_ticket_none(store, complaint, now):
    ticket = complaint()
    resolve(store, ticket.id, now)
    store.watch_tickets(now + 25 * H, token_for)
    [question] = [n for n in store.pending_notices() if n.kind == "follow_up"]
    with pytest.raises(InvalidInput):
        store.send_notice_sms(question.id, now + 25 * H)
    link = f"https://cs.example/feedback?t={question.feedback_token}"
    assert store.send_notice_sms(question.id, now + 25 * H, link).delivered_via == "sms"
    assert link in store.outbox(PHONE)[0].body and "{link}" not in store.outbox(PHONE)[0].body
    anonymous = complaint(phone=None)
    store.work_ticket(anonymous.id, "claim", AGENT, now)
    _, [response] = store.work_ticket(anonymous.id, "respond", AGENT, now, text="您好")
    assert store.send_notice_sms(response.id, now).delivered_via == "none"


def test_an_outage_declared_takes_reports_and_its_close_resolves_them(store, now):
    outage = store.declare_outage(SUP, " 深圳 ", "福田区", "mobile", "基站<故障>", now, now + 5 * H)
    assert outage.id == "O20261123-01" or outage.id.startswith("O20261123-")
    assert (outage.status, outage.attached, outage.description) == ("open", 0, "基站&lt;故障&gt;")
    assert store.open_outage("深圳", "福田区", "mobile", now).id == outage.id
    report = store.attach_outage_report(outage.id, "没信号", PHONE, now, extra=dict(WHERE))
    other = store.attach_outage_report(outage.id, "打不了电话", None, now)
    assert store.outage(outage.id).attached == 2
    moved, queued = store.update_outage(
        outage.id, SUP, now + H, {"expected_restore_at": now + 8 * H}
    )
    assert queued == 2 and moved.expected_restore_at == now + 8 * H
    assert store.ticket(report.id).extra["expected_restore_at"] == (now + 8 * H).isoformat()
    _, unchanged = store.update_outage(outage.id, SUP, now + H, {"description": "基站故障"})
    assert unchanged == 0 and store.outage(outage.id).description == "基站故障"
    closed, resolved = store.close_outage_resolving(outage.id, SUP, now + 2 * H)
    assert (closed.status, closed.closed_at) == ("closed", now + 2 * H)
    assert sorted(t.id for t in resolved) == sorted((report.id, other.id))
    assert {t.lifecycle.state for t in resolved} == {"feedback"}
    for ticket_id in (report.id, other.id):
        ticket = store.ticket(ticket_id)
        assert ticket.lifecycle.state == "feedback" and ticket.lifecycle.result == "网络故障已修复"
        assert store.ticket_steps(ticket_id)[-1].actor == "system"
    kinds = [(n.ticket_id, n.kind) for n in store.pending_notices()]
    assert kinds.count((report.id, "outage_closed")) == 1 and (report.id, "outage_update") in kinds
    addressed = {n.conversation_id for n in store.pending_notices() if n.ticket_id == report.id}
    assert addressed == {"c-123"}
    with pytest.raises(OutageClosed):
        store.close_outage_resolving(outage.id, SUP, now + 3 * H)
    with pytest.raises(OutageClosed):
        store.update_outage(outage.id, SUP, now + 3 * H, {"description": "x"})
    assert store.open_outage("深圳", "福田区", "mobile", now + 3 * H) is None
    assert [o.id for o in store.outages("closed")].count(outage.id) == 1


def test_outage_input_is_checked(store, now):
    with pytest.raises(InvalidInput):
        store.declare_outage(SUP, "深圳", "福田区", "radio", "x", now)
    with pytest.raises(InvalidInput):
        store.declare_outage(SUP, "深圳", "  ", "mobile", "x", now)
    with pytest.raises(InvalidInput):
        store.declare_outage(SUP, "深圳", "福田区", "mobile", "x", now, now - H)
    with pytest.raises(InvalidInput):
        store.outages("sometimes")
    first = store.declare_outage(SUP, "深圳", "福田区", "mobile", "x", now)
    second = store.declare_outage(SUP, "深圳", "罗湖区", "mobile", "y", now)
    assert first.id != second.id
    with pytest.raises(InvalidInput):
        store.update_outage(first.id, SUP, now, {})
    with pytest.raises(InvalidInput):
        store.update_outage(first.id, SUP, now, {"city": "北京"})
    with pytest.raises(NoSuchOutage):
        store.update_outage("O19990101-01", SUP, now, {"description": "x"})
    with pytest.raises(NoSuchOutage):
        store.close_outage_resolving("O19990101-01", SUP, now)


def test_the_summary_counts_open_warned_breached_and_todays_alerts(store, complaint, now):
    complaint(), complaint("major")
    store.watch_tickets(now + 25 * H, token_for)
    teams, today = store.tickets_summary(now + 25 * H)
    assert teams["frontline"] == {"open": 1, "warned": 1, "breached": 1}
    assert teams["complaints_supervisors"]["open"] == 1 and teams["billing"]["open"] == 0
    assert today["page"] == 1 and today["warning"] >= 1 and today["breach"] >= 1
    _, tomorrow = store.tickets_summary(now + 72 * H)
    assert tomorrow == {"warning": 0, "breach": 0, "page": 0}


def test_an_older_store_gets_the_new_tables_and_columns(make_store):
    store = make_store()
    conn = sqlite3.connect(store.path)
    conn.executescript(
        "DROP TABLE ticket_alerts; DROP TABLE ticket_notices; ALTER TABLE outages RENAME TO o;"
        + table_sql("outages").replace(
            ",\n    " + ",\n    ".join(f"{n} {d}" for n, d in OUTAGE_WORK), ""
        )
        + "INSERT INTO outages SELECT id, city, district, service, description, started_at,"
        " expected_restore_at, status, closed_at FROM o; DROP TABLE o;"
    )
    conn.close()
    assert "declared_by" not in {r[1] for r in rows(store, "PRAGMA table_info(outages)")}
    store.initialise()
    assert {r[1] for r in rows(store, "PRAGMA table_info(outages)")} >= {n for n, _ in OUTAGE_WORK}
    assert rows(store, "SELECT COUNT(*) FROM ticket_alerts") == [(0,)]
    assert len(store.outages("all")) == 5
