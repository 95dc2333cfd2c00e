"""The store's ticket lifecycle: steps checked and recorded in one transaction, a team's queue by
the nearest deadline, the deadline warnings, the schema upgrade of an older store, the purge."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from actions.settings import Retention
from actions.store.base import InvalidInput, NoSuchTicket
from actions.store.generate import DEMO_SUBSCRIBERS
from actions.store.schema import TICKET_LIFECYCLE, table_sql
from telecom import tickets as tk
from tests.actions.store_support import rows, snapshot

PHONE = DEMO_SUBSCRIBERS[0].phone
AGENT, SUP = "agent:a1", "supervisor:s1"
H = timedelta(hours=1)


@pytest.fixture
def make_ticket(store, now):
    """create(severity='moderate', **overrides) → a stored complaint (or another kind)."""

    def create(severity: str | None = "moderate", **overrides):
        args = {"kind": "complaint", "category": "network", "phone": PHONE, "now": now}
        args.update(overrides)
        return store.create_ticket(description="网速很慢", severity=severity, **args)

    return create


def steps(store, ticket_id):
    return [(e.step, e.actor, e.team, e.text, e.detail) for e in store.ticket_steps(ticket_id)]


def test_a_new_ticket_opens_in_intake_with_its_deadlines(make_ticket, store, now):
    ticket = make_ticket()
    assert ticket.lifecycle == tk.new_ticket(
        tk.deadlines("complaint", "moderate", "network", now), "moderate", "network"
    )
    assert (ticket.lifecycle.state, ticket.lifecycle.team) == ("intake", "frontline")
    assert ticket.lifecycle.respond_by == now + 24 * H and ticket.status == "open"
    assert store.ticket(ticket.id) == ticket == store.get_tickets(PHONE)[0]
    assert steps(store, ticket.id) == [("open", "customer", "frontline", None, {"state": "intake"})]
    assert store.ticket("T20261123-999999") is None and store.ticket_steps("nope") == []


def test_a_major_complaint_goes_to_the_supervisors_escalated_at_once(make_ticket, store):
    ticket = make_ticket("major")
    assert ticket.lifecycle.team == "complaints_supervisors" and ticket.lifecycle.escalated
    assert steps(store, ticket.id) == [
        ("open", "customer", "complaints_supervisors", None, {"state": "intake"}),
        (
            "escalate",
            "system",
            "complaints_supervisors",
            None,
            {"window": "respond", "state": "intake"},
        ),
    ]


def test_the_assistants_deadlines_are_kept(make_ticket, store, now):
    due = tk.deadlines("fault", None, "network", now, urgency="critical")
    ticket = make_ticket(None, kind="fault", category="hardware", due=due)
    assert ticket.lifecycle.respond_by == now + timedelta(minutes=45)
    assert ticket.lifecycle.escalated and store.ticket(ticket.id) == ticket
    with pytest.raises(InvalidInput):
        make_ticket(due=due)  # a fault's deadlines for a complaint
    with pytest.raises(InvalidInput):
        make_ticket(None, kind="fault", due=due, now=now + H)


def test_a_complaint_worked_to_its_close(make_ticket, store, now):
    ticket = make_ticket()
    apply = store.apply_ticket_step
    apply(ticket.id, "claim", AGENT, now + H)
    apply(ticket.id, "note", AGENT, now + H, text="客户<b>13912345678</b>反映晚上更慢")
    reply = apply(ticket.id, "respond", AGENT, now + 2 * H, text="您好，已安排工程师检测")
    assert (reply.lifecycle.state, reply.status, reply.last_reply) == (
        "handling",
        "in_progress",
        "您好，已安排工程师检测",
    )
    apply(ticket.id, "reassign", AGENT, now + 3 * H, team="network_ops")
    apply(ticket.id, "claim", "agent:n7", now + 3 * H)
    done = apply(ticket.id, "resolve", "agent:n7", now + 20 * H, result="已优化基站参数")
    assert (done.lifecycle.state, done.status, done.lifecycle.result) == (
        "feedback",
        "resolved",
        "已优化基站参数",
    )
    closed = apply(ticket.id, "follow_up_answer", "customer", now + 30 * H, rating=4, text="好了")
    assert (closed.lifecycle.state, closed.status, closed.lifecycle.rating) == (
        "closed",
        "closed",
        4,
    )
    assert closed == store.ticket(ticket.id)
    assert steps(store, ticket.id) == [
        ("open", "customer", "frontline", None, {"state": "intake"}),
        ("claim", AGENT, "frontline", None, {"state": "assessing"}),
        (
            "note",
            AGENT,
            "frontline",
            "客户&lt;b&gt;139****5678&lt;/b&gt;反映晚上更慢",
            {"state": "assessing"},
        ),
        ("respond", AGENT, "frontline", "您好，已安排工程师检测", {"state": "handling"}),
        ("reassign", AGENT, "network_ops", None, {"state": "handling", "from_team": "frontline"}),
        ("claim", "agent:n7", "network_ops", None, {"state": "handling"}),
        (
            "resolve",
            "agent:n7",
            "network_ops",
            "已优化基站参数",
            {"state": "feedback", "result": "已优化基站参数"},
        ),
        ("follow_up_answer", "customer", "network_ops", "好了", {"state": "closed", "rating": 4}),
    ]
    assert [e.ts for e in store.ticket_steps(ticket.id)][-1] == now + 30 * H
    assert [e.seq for e in store.ticket_steps(ticket.id)] == list(range(1, 9))


def test_a_low_rating_reopens_and_the_latest_reply_is_the_last_response(make_ticket, store, now):
    ticket = make_ticket()
    for step, fields in (
        ("claim", {}),
        ("respond", {"text": "第一次答复"}),
        ("respond", {"text": "第二次答复"}),
        ("resolve", {"result": "已处理"}),
    ):
        store.apply_ticket_step(ticket.id, step, AGENT, now + H, **fields)
    again = store.apply_ticket_step(
        ticket.id, "follow_up_answer", "customer", now + 5 * H, rating=2, text="还是慢"
    )
    assert (again.lifecycle.state, again.lifecycle.reopens, again.lifecycle.rating) == (
        "handling",
        1,
        2,
    )
    assert again.last_reply == "第二次答复" and again.lifecycle.resolve_by == now + 53 * H


def test_a_refused_step_changes_nothing(make_ticket, store, now):
    ticket = make_ticket("major")
    store.apply_ticket_step(ticket.id, "claim", SUP, now)
    store.apply_ticket_step(ticket.id, "respond", SUP, now, text="您好")
    before = snapshot(store)
    for step, actor, fields, code in (
        ("resolve", SUP, {"result": "已处理"}, "remedy_required"),
        ("resolve", SUP, {"result": " \x07 "}, "result_required"),
        ("resolve", "agent:a9", {"result": "x", "remedy": "y"}, "not_assignee"),
        ("follow_up_answer", "customer", {"rating": 5}, "wrong_state"),
        ("claim", "root", {}, "bad_actor"),
    ):
        with pytest.raises(tk.TicketRuleError) as refused:
            store.apply_ticket_step(ticket.id, step, actor, now + H, **fields)
        assert refused.value.code == code
    with pytest.raises(NoSuchTicket):
        store.apply_ticket_step("T20261123-999999", "claim", AGENT, now)
    with pytest.raises(InvalidInput):
        store.apply_ticket_step(ticket.id, "note", AGENT, now, text="x", body="y")
    assert snapshot(store) == before


def test_the_team_queue_is_ordered_by_the_nearest_deadline(make_ticket, store, now):
    later = make_ticket(now=now + H)  # respond by now + 25 h
    first = make_ticket()  # respond by now + 24 h
    fault = make_ticket(None, kind="fault", category="network")  # network_ops
    callback = make_ticket(None, kind="callback", category="callback", now=now - 2 * H)
    worked = make_ticket(now=now - 30 * H)  # respond overdue; answered below
    store.apply_ticket_step(worked.id, "claim", AGENT, now)
    store.apply_ticket_step(worked.id, "respond", AGENT, now, text="您好")  # resolve by now + 18 h
    done = make_ticket()
    for step, fields in (
        ("claim", {}),
        ("respond", {"text": "您好"}),
        ("resolve", {"result": "好"}),
    ):
        store.apply_ticket_step(done.id, step, AGENT, now, **fields)
    store.apply_ticket_step(done.id, "close", AGENT, now)
    queue = store.team_queue("frontline", now)
    assert [e.ticket.id for e in queue] == [worked.id, callback.id, first.id, later.id]
    assert [e.due for e in queue] == [now + 18 * H, now + 22 * H, now + 24 * H, now + 25 * H]
    assert queue[0].breached == ("respond",) and queue[1].breached == ()
    assert [e.ticket.id for e in store.team_queue("network_ops", now)] == [fault.id]
    assert store.team_queue("billing", now) == []
    with pytest.raises(InvalidInput):
        store.team_queue("sales", now)


def test_deadline_warnings_at_80_percent_once(make_ticket, store, now):
    ticket = make_ticket()
    warn_at = now + timedelta(hours=19, minutes=12)
    assert store.due_ticket_warnings(warn_at - timedelta(microseconds=1)) == []
    [warning] = store.due_ticket_warnings(warn_at)
    assert (warning.ticket_id, warning.window, warning.due, warning.team) == (
        ticket.id,
        "respond",
        now + 24 * H,
        "frontline",
    )
    store.apply_ticket_step(ticket.id, "escalate", "system", warn_at, window="respond")
    assert store.due_ticket_warnings(warn_at + H) == []
    assert steps(store, ticket.id)[-1] == (
        "escalate",
        "system",
        "frontline",
        None,
        {"state": "intake", "window": "respond"},
    )
    with pytest.raises(tk.TicketRuleError):
        store.apply_ticket_step(ticket.id, "escalate", "system", warn_at + H, window="respond")


def test_an_attached_report_waits_for_its_outage(store, now):
    outage = store.open_outage("深圳", "南山区", "broadband", now)
    ticket = store.attach_outage_report(outage.id, "宽带断了", PHONE, now)
    assert (ticket.lifecycle.state, ticket.lifecycle.team, ticket.status) == (
        "attached",
        "network_ops",
        "attached",
    )
    assert store.team_queue("network_ops", now + 300 * H) == []
    assert store.due_ticket_warnings(now + 300 * H) == []
    with pytest.raises(tk.TicketRuleError):
        store.apply_ticket_step(ticket.id, "claim", AGENT, now)
    done = store.apply_ticket_step(ticket.id, "resolve", "system", now + H, result="故障已恢复")
    assert done.lifecycle.state == "feedback"


# tickets as stores made before the lifecycle had them
OLD_TICKETS = (
    table_sql("tickets")
    .replace("\n    " + ",\n    ".join(f"{name} {ddl}" for name, ddl in TICKET_LIFECYCLE), "")
    .replace("extra TEXT NOT NULL,", "extra TEXT NOT NULL")
)


def test_an_older_store_gets_the_lifecycle(store, make_ticket, now, today):
    moderate = make_ticket()
    old = make_ticket(None, kind="callback", category="callback")
    columns = (
        "seq, id, kind, category, severity, description, customer, phone, status, created_at, extra"
    )
    kept = rows(store, f"SELECT {columns} FROM tickets ORDER BY seq")
    conn = sqlite3.connect(store.path)
    conn.executescript(f"DROP TABLE ticket_events; DROP TABLE tickets; {OLD_TICKETS}")
    with conn:
        conn.executemany(f"INSERT INTO tickets ({columns}) VALUES ({', '.join('?' * 11)})", kept)
        conn.execute("UPDATE tickets SET status = 'in_progress' WHERE id = ?", (old.id,))
    conn.close()
    assert "state" not in OLD_TICKETS

    assert store.initialise(today) is False
    assert store.ticket(moderate.id).lifecycle == moderate.lifecycle
    migrated = store.ticket(old.id).lifecycle
    assert (migrated.state, migrated.responded_at, migrated.team) == ("handling", now, "frontline")
    assert store.ticket_steps(moderate.id) == []
    store.apply_ticket_step(moderate.id, "claim", AGENT, now)
    assert [e.step for e in store.ticket_steps(moderate.id)] == ["claim"]


def test_the_purge_takes_a_tickets_steps_with_it(make_ticket, store, now):
    ticket = make_ticket()
    store.apply_ticket_step(ticket.id, "claim", AGENT, now)
    store.purge(now + timedelta(days=731), Retention())
    assert store.ticket(ticket.id) is None and store.ticket_steps(ticket.id) == []
    assert rows(store, "SELECT COUNT(*) FROM ticket_events") == [(0,)]
