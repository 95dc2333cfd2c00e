"""Tickets remember where the customer was (conversation and channel in `extra`), for complaints
and for fault reports attached to an outage declared through the ticket service."""

from __future__ import annotations

from datetime import timedelta

from actions.flows.tickets import ActionCreateTicket
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.conftest import NOW
from tests.actions.flows_support import flows_fixture, run, snapshot, verified  # noqa: F401

DEMO = DEMO_SUBSCRIBERS[0]  # 北京 朝阳区


def state(kind: str, description: str, *, metadata=None, sender="conv-42"):
    slots = verified(
        DEMO.phone, ticket_kind=kind, ticket_description=description, phone_number=DEMO.phone
    )
    return snapshot(slots=slots, metadata=metadata, sender=sender)


def test_a_complaint_keeps_its_conversation_and_channel(flows):
    run(
        ActionCreateTicket(),
        state("complaint", "网速很慢，信号一直不稳定", metadata={"channel": "app"}),
    )
    [ticket] = flows.get_tickets(DEMO.phone)
    assert (ticket.extra["conversation"], ticket.extra["channel"]) == ("conv-42", "app")


def test_a_strange_channel_is_left_out(flows):
    run(ActionCreateTicket(), state("complaint", "网速很慢", metadata={"channel": "<b>x</b>"}))
    [ticket] = flows.get_tickets(DEMO.phone)
    assert "channel" not in ticket.extra and ticket.extra["conversation"] == "conv-42"


def test_a_report_attaches_to_an_outage_declared_through_the_service(flows):
    subscriber = flows.get_subscriber(DEMO.phone)
    assert (subscriber.city, subscriber.district) == ("北京", "朝阳区")
    opened = NOW - timedelta(hours=1)
    outage = flows.declare_outage(
        "supervisor:s1", "北京", "朝阳区", "broadband", "光缆故障", opened
    )
    run(
        ActionCreateTicket(),
        state("fault", "家里宽带断网了，一直连不上", metadata={"channel": "web"}),
    )
    [ticket] = flows.get_tickets(DEMO.phone)
    assert ticket.status == "attached" and ticket.extra["outage_id"] == outage.id
    assert (ticket.extra["conversation"], ticket.extra["channel"]) == ("conv-42", "web")
    assert flows.outage(outage.id).attached == 1
