"""Known outages: the generated table, open_outage, attaching a report in one transaction."""

from __future__ import annotations

import sqlite3
from datetime import datetime, time, timedelta

import pytest

from actions.store.base import NoSuchOutage
from actions.store.generate import DEMO_SUBSCRIBERS, OUTAGE_DEMO_PHONE, generate_outages
from telecom.dates import CHINA_TZ
from tests.actions.conftest import TODAY

PHONE = OUTAGE_DEMO_PHONE  # 深圳 南山区


def test_generated_outages_are_deterministic_and_cover_a_demo_subscriber(store, now):
    assert generate_outages(TODAY) == generate_outages(TODAY)
    subscriber = store.get_subscriber(PHONE)
    assert PHONE in {d.phone for d in DEMO_SUBSCRIBERS}
    assert (subscriber.city, subscriber.district) == ("深圳", "南山区")
    outage = store.open_outage(subscriber.city, subscriber.district, "broadband", now)
    assert outage is not None and outage.status == "open" and outage.service == "broadband"
    assert outage.started_at <= now < outage.expected_restore_at


@pytest.mark.parametrize("hhmm", ["00:05", "06:30", "12:00", "23:55"])
def test_open_demo_outages_are_open_at_any_time_of_the_day(hhmm):
    """A store made just after midnight (as a nightly CI run is) still has its open outages."""
    hour, minute = map(int, hhmm.split(":"))
    at = datetime.combine(TODAY, time(hour, minute), CHINA_TZ)
    for outage in generate_outages(TODAY):
        if outage.status == "open":
            assert outage.started_at <= at < outage.expected_restore_at, outage.id


def test_open_outage_matches_district_service_and_status(store, now):
    assert store.open_outage("深圳", "南山区", "mobile", now) is None  # other service
    assert store.open_outage("深圳", "福田区", "broadband", now) is None  # other district
    assert store.open_outage("北京", "南山区", "broadband", now) is None  # other city
    assert store.open_outage(None, "南山区", "broadband", now) is not None  # any city
    assert store.open_outage("北京", "朝阳区", "broadband", now) is None  # closed one
    assert store.open_outage("深圳", "南山区", "broadband", now - timedelta(days=2)) is None
    assert store.open_outage("深圳", "", "broadband", now) is None
    assert store.open_outage("深圳", "南山区", "<script>", now) is None


def test_close_outage(store, now):
    outage = store.open_outage("深圳", "南山区", "broadband", now)
    store.close_outage(outage.id, now)
    assert store.open_outage("深圳", "南山区", "broadband", now) is None
    with pytest.raises(NoSuchOutage):
        store.close_outage(outage.id, now)


def test_attach_report_records_an_attached_fault_ticket(store, now):
    outage = store.open_outage("深圳", "南山区", "broadband", now)
    ticket = store.attach_outage_report(outage.id, "<b>宽带断网</b>", PHONE, now, extra={"x": "y"})
    assert (ticket.kind, ticket.status) == ("fault", "attached")
    assert ticket.extra["outage_id"] == outage.id and ticket.extra["service"] == "broadband"
    assert ticket.extra["x"] == "y" and ticket.extra["area"] == "南山区"
    assert ticket.extra["expected_restore_at"] == outage.expected_restore_at.isoformat()
    assert "<b>" not in ticket.description and ticket.customer == "138****8002"
    assert store.get_tickets(PHONE) == [ticket]
    [sms] = store.outbox(PHONE)
    assert sms.kind == "ticket" and ticket.id in sms.body and "预计" in sms.body


def test_attach_to_a_closed_or_unknown_outage_is_refused(store, now):
    outage = store.open_outage("深圳", "南山区", "broadband", now)
    store.close_outage(outage.id, now)
    for outage_id in (outage.id, "O-nope"):
        with pytest.raises(NoSuchOutage):
            store.attach_outage_report(outage_id, "宽带断网", PHONE, now)
    assert store.get_tickets(PHONE) == [] and store.outbox(PHONE) == []


def test_attach_is_one_transaction(store, now, monkeypatch):
    outage = store.open_outage("深圳", "南山区", "broadband", now)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr("actions.store.tickets.queue_sms", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.attach_outage_report(outage.id, "宽带断网", PHONE, now)
    assert store.get_tickets(PHONE) == []  # the ticket was rolled back with the SMS


def test_existing_store_without_outages_gets_them(store, now):
    conn = sqlite3.connect(store.path)
    conn.execute("DELETE FROM outages")
    conn.commit()
    conn.close()
    assert store.initialise(TODAY) is False
    assert store.open_outage("深圳", "南山区", "broadband", now) is not None
