"""archive/reports.py (and the SQL of archive/metrics.py) over a hand-built archive whose every
number was worked out by hand, once on SQLite and once on PostgreSQL (tests/pg.py).

The archive, China time (UTC+8), D = day 1's midnight:
  c1  A web   check_balance  09:00  ended by bot             A comes back (c2) 23 h later
  c2  A app   check_balance  day 2 08:00  ended by bot
  c3  B web   check_data     10:00  ended by bot, rated 5 (bot)  B comes back (c4) 25 h later
  c4  B web   check_data     day 2 11:00  ended by bot, rated 2 (bot)
  c5  C voice complaint      11:00  h1 complaints/high: answered in 20 s (offer o1 to zhao, 15 s),
                                    handled 300 s, complaint ticket before the answer; rated 4
  c6  D web   billing        12:00  h2 billing/normal: o2 to wang expired, o3 to li accepted after
                                    150 s (110 s after its offer), transferred (o4 to chen, 10 s),
                                    completed by chen 600 s after the answer; complaint ticket
                                    after the answer; rated 3 (agent)
  c7  E app   (no intent)    13:00  h3 billing: abandoned after 3 s (a short abandon)
  c8  F web   roaming        14:00  h4 roaming/normal: abandoned after 40 s
  c9  G web   check_balance  23:58  ended by bot 00:05 on day 2; turns at 23:58:30 (fallback,
                                    confidence 0.3) and 00:01 day 2 (confidence 0.45)
  c10 H web   plan_change    15:00  open; h5 plans (skills plans, billing) still queued
Tickets' steps (ticket_steps; `ticket_step_rows` lists them with what each counts in):
  T1 (c5) claimed, responded, warned on its resolve window, resolved on day 1; the follow-up
     rated 2 on day 2 reopens it; resolved again and rated 5 on day 2
  T2 (c6) escalated by an agent, its respond window breached, resolved, follow-up rated 4
  T9 (no archived conversation) paged, resolve window breached, the system's own escalate
     (not fed by the router, counted nowhere), resolved by the system, reopened by the customer
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from archive import db, migrate, repeats, reports, rollup
from archive.metrics import MetricError, ReportQuery, Rules
from archive.schema import (
    Agent,
    Conversation,
    Handoff,
    HandoffEvent,
    Message,
    Ticket,
    TicketStep,
    Turn,
)
from tests import pg

H, MIN, S = 3_600_000, 60_000, 1_000
D = 1_741_536_000_000  # 2025-03-10 00:00 China time (2025-03-09 16:00 UTC)
DAY1 = ReportQuery(D, D + 24 * H)
TWO_DAYS = ReportQuery(D, D + 48 * H)


def _conversation(cid: str, customer: str, channel: str, intent: str | None, start: int, **kw: Any):
    row = {
        "id": cid,
        "customer_ref": customer,
        "channel": channel,
        "first_intent": intent,
        "started_ms": start,
        "last_ms": start + 5 * MIN,
        "bot_turns": 1,
        "handoffs": 0,
        "rating": None,
        "rated_ms": None,
        "rating_of": None,
        "comment": None,
        "disposition": None,
        "ended_by": None,
        "ended_ms": None,
    }
    row.update(kw)
    return row


def _ended(by: str, at: int) -> dict[str, Any]:
    return {"ended_by": by, "ended_ms": at}


def _handoff(
    hid: str, cid: str, channel: str, skills: list[str], urgency: str, created: int, **kw: Any
):
    row = {
        "id": hid,
        "conversation_id": cid,
        "customer_ref": "x",
        "channel": channel,
        "queue": skills[0],
        "skills": json.dumps(skills),
        "urgency": urgency,
        "intent": None,
        "created_ms": created,
        "first_offered_ms": None,
        "assigned_ms": None,
        "agent_id": None,
        "completed_ms": None,
        "abandoned_ms": None,
        "offers": 0,
        "missed": 0,
        "transfers": 0,
        "disposition": None,
        "status": "queued",
    }
    row.update(kw)
    return row


def _event(eid: str, hid: str, kind: str, ts: int, agent: str | None, offer: str | None):
    return {
        "event_id": eid,
        "handoff_id": hid,
        "type": kind,
        "ts_ms": ts,
        "agent_id": agent,
        "offer_id": offer,
        "detail": "{}",
    }


def _turn(cid: str, seq: str, ts: int, confidence: float, intent: str, fallback: bool = False):
    return {
        "conversation_id": cid,
        "seq": seq,
        "ts_ms": ts,
        "intent": intent,
        "confidence": confidence,
        "margin": 0.2,
        "urgency": "normal",
        "entities": json.dumps(["phone"]),
        "fallback": fallback,
        "action": "utter_x",
        "ticket_id": None,
    }


def ticket_step_rows() -> list[dict[str, Any]]:
    steps = [
        # id, ticket, conversation, step, role, window, rating, time
        ("1", "T1", "c5", "claim", "agent", None, None, D + 11 * H + 10 * MIN),
        ("2", "T1", "c5", "respond", "agent", None, None, D + 11 * H + 20 * MIN),
        ("3", "T1", "c5", "warning", "system", "resolve", None, D + 20 * H),  # an escalation
        ("4", "T1", "c5", "resolve", "agent", None, None, D + 21 * H),  # reopened (5)
        ("5", "T1", "c5", "follow_up_answer", "customer", None, 2, D + 30 * H),
        ("6", "T1", "c5", "resolve", "agent", None, None, D + 32 * H),
        ("7", "T1", "c5", "follow_up_answer", "customer", None, 5, D + 40 * H),
        ("8", "T2", "c6", "escalate", "agent", None, None, D + 12 * H + 30 * MIN),  # counts
        ("9", "T2", "c6", "breach", "system", "respond", None, D + 13 * H),
        ("10", "T2", "c6", "resolve", "supervisor", None, None, D + 14 * H),
        ("11", "T2", "c6", "follow_up_answer", "customer", None, 4, D + 15 * H),
        ("12", "T9", None, "page", "system", None, None, D + 16 * H),
        ("13", "T9", None, "breach", "system", "resolve", None, D + 17 * H),
        ("14", "T9", None, "escalate", "system", "resolve", None, D + 17 * H),  # not counted
        ("15", "T9", None, "resolve", "system", None, None, D + 18 * H),  # reopened (16)
        ("16", "T9", None, "reopen", "customer", None, None, D + 19 * H),
    ]
    return [
        {
            "id": sid, "ticket_id": ticket, "conversation_id": cid, "step": step,
            "actor_role": role, "team": "complaints_supervisors", "state": None,
            "window": window, "severity": "moderate", "rating": rating, "ts_ms": ts,
        }
        for sid, ticket, cid, step, role, window, rating, ts in steps
    ]  # fmt: skip


H1, H2 = D + 11 * H + MIN, D + 12 * H + MIN  # the two answered handoffs' creation
A2 = H2 + 150 * S  # h2's first assignment


def archive_rows() -> dict[sa.Table, list[dict[str, Any]]]:
    c, t = _conversation, _turn
    conversations = [
        c("c1", "A", "web", "check_balance", D + 9 * H, **_ended("bot", D + 9 * H + 3 * MIN)),
        c("c2", "A", "app", "check_balance", D + 32 * H, **_ended("bot", D + 32 * H + MIN)),
        c(
            "c3",
            "B",
            "web",
            "check_data",
            D + 10 * H,
            rating=5,
            rating_of="bot",
            rated_ms=D + 10 * H + 2 * MIN,
            **_ended("bot", D + 10 * H + 2 * MIN),
        ),
        c(
            "c4",
            "B",
            "web",
            "check_data",
            D + 35 * H,
            rating=2,
            rating_of="bot",
            rated_ms=D + 35 * H + MIN,
            **_ended("bot", D + 35 * H + MIN),
        ),
        c(
            "c5",
            "C",
            "voice",
            "complaint",
            D + 11 * H,
            handoffs=1,
            rating=4,
            rating_of="agent",
            **_ended("agent", H1 + 20 * S + 300 * S),
        ),
        c(
            "c6",
            "D",
            "web",
            "billing",
            D + 12 * H,
            handoffs=1,
            rating=3,
            rating_of="agent",
            **_ended("agent", A2 + 600 * S),
        ),
        c(
            "c7",
            "E",
            "app",
            None,
            D + 13 * H,
            handoffs=1,
            **_ended("customer", D + 13 * H + 2 * MIN),
        ),
        c(
            "c8",
            "F",
            "web",
            "roaming",
            D + 14 * H,
            handoffs=1,
            **_ended("customer", D + 14 * H + 2 * MIN),
        ),
        c(
            "c9",
            "G",
            "web",
            "check_balance",
            D + 23 * H + 58 * MIN,
            **_ended("bot", D + 24 * H + 5 * MIN),
        ),
        c("c10", "H", "web", "plan_change", D + 15 * H, handoffs=1),
    ]
    handoffs = [
        _handoff(
            "h1",
            "c5",
            "voice",
            ["complaints"],
            "high",
            H1,
            intent="complaint",
            first_offered_ms=H1 + 5 * S,
            assigned_ms=H1 + 20 * S,
            agent_id="agent-zhao",
            completed_ms=H1 + 320 * S,
            offers=1,
            status="completed",
        ),
        _handoff(
            "h2",
            "c6",
            "web",
            ["billing", "complaints"],
            "normal",
            H2,
            intent="billing",
            first_offered_ms=H2 + 5 * S,
            assigned_ms=A2,
            agent_id="agent-chen",
            completed_ms=A2 + 600 * S,
            offers=3,
            missed=1,
            transfers=1,
            status="completed",
        ),
        _handoff(
            "h3",
            "c7",
            "app",
            ["billing"],
            "normal",
            D + 13 * H + MIN,
            abandoned_ms=D + 13 * H + MIN + 3 * S,
            status="abandoned",
        ),
        _handoff(
            "h4",
            "c8",
            "web",
            ["roaming"],
            "normal",
            D + 14 * H + MIN,
            intent="roaming",
            abandoned_ms=D + 14 * H + MIN + 40 * S,
            status="abandoned",
        ),
        _handoff("h5", "c10", "web", ["plans", "billing"], "normal", D + 15 * H + MIN),
    ]
    events = [
        _event("1-0", "h1", "created", H1, None, None),
        _event("1-1", "h1", "offered", H1 + 5 * S, "agent-zhao", "o1"),
        _event("1-2", "h1", "accepted", H1 + 20 * S, "agent-zhao", "o1"),
        _event("2-0", "h2", "offered", H2 + 5 * S, "agent-wang", "o2"),
        _event("2-1", "h2", "offer_expired", H2 + 35 * S, "agent-wang", "o2"),
        _event("2-2", "h2", "offered", H2 + 40 * S, "agent-li", "o3"),
        _event("2-3", "h2", "accepted", A2, "agent-li", "o3"),
        _event("2-4", "h2", "transferred", A2 + 190 * S, "agent-li", None),
        _event("2-5", "h2", "offered", A2 + 200 * S, "agent-chen", "o4"),
        _event("2-6", "h2", "accepted", A2 + 210 * S, "agent-chen", "o4"),
    ]
    turns = [
        t("c1", "1", D + 9 * H + 10 * S, 0.9, "check_balance"),
        t("c2", "1", D + 32 * H + 10 * S, 0.9, "check_balance"),
        t("c3", "1", D + 10 * H + 10 * S, 0.8, "check_data"),
        t("c4", "1", D + 35 * H + 10 * S, 0.6, "check_data"),
        t("c5", "1", D + 11 * H + 10 * S, 0.95, "complaint"),
        t("c5", "2", D + 11 * H + 30 * S, 0.4, "request_human"),
        t("c6", "1", D + 12 * H + 10 * S, 0.85, "billing"),
        t("c7", "1", D + 13 * H + 10 * S, 0.99, "greet"),
        t("c8", "1", D + 14 * H + 10 * S, 0.7, "roaming"),
        t("c9", "1", D + 23 * H + 58 * MIN + 30 * S, 0.3, "nlu_fallback", fallback=True),
        t("c9", "2", D + 24 * H + MIN, 0.45, "check_balance"),
        t("c10", "1", D + 15 * H + 10 * S, 0.9, "plan_change"),
    ]
    tickets = [
        {
            "id": "T1",
            "conversation_id": "c5",
            "kind": "complaint",
            "severity": "moderate",
            "created_ms": H1 - 30 * S,
        },
        {
            "id": "T2",
            "conversation_id": "c6",
            "kind": "complaint",
            "severity": "minor",
            "created_ms": A2 + 100 * S,
        },
    ]
    agents = [
        {"id": a, "display_name": n, "skills": "{}", "created_ms": D, "deleted_ms": None}
        for a, n in [("agent-zhao", "赵海涛"), ("agent-li", "李晓梅"), ("agent-chen", "陈雪")]
    ]
    messages = [
        {
            "conversation_id": "c9",
            "seq": f"{D + 23 * H + 58 * MIN + 30 * S}-0",
            "ts_ms": D + 23 * H + 58 * MIN + 30 * S,
            "sender": "customer",
            "agent_id": None,
            "text": "我的号码是138****8000",
        },
        {
            "conversation_id": "c9",
            "seq": f"{D + 23 * H + 58 * MIN + 31 * S}-0",
            "ts_ms": D + 23 * H + 58 * MIN + 31 * S,
            "sender": "bot",
            "agent_id": None,
            "text": "抱歉，我没听懂",
        },
    ]
    return {
        Conversation.__table__: conversations,
        Handoff.__table__: handoffs,
        HandoffEvent.__table__: events,
        Turn.__table__: turns,
        Ticket.__table__: tickets,
        Agent.__table__: agents,
        Message.__table__: messages,
        TicketStep.__table__: ticket_step_rows(),
    }


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    with pg.cluster() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The hand-built archive, its schema built by the migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('archive') / 'archive.sqlite3'}"
        yield from _filled(url)
    else:
        with pg.database(request.getfixturevalue("postgres_server")) as url:
            yield from _filled(url)


def _filled(url: str) -> Iterator[sa.Engine]:
    migrate.upgrade(url)
    engine = db.engine_for(url)
    with engine.begin() as conn:
        for table, rows in archive_rows().items():
            conn.execute(sa.insert(table), rows)
        # what the ingest keeps: the repeat-contact links, the rollups
        repeats.relink_all(conn)
        rollup.refresh_all(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.connect() as connection:
        yield connection


def _numbers(result: dict[str, Any]) -> dict[str, tuple[int, int | None]]:
    return {name: (entry["numerator"], entry["denominator"]) for name, entry in result.items()}


DAY1_NUMBERS = {
    "conversations": (8, None),
    "containment": (2, 7),  # c3 (its repeat came after 25 h) and c9; c1 repeated after 23 h
    "handoff_rate": (5, 8),
    "fcr": (5, 7),  # c1 and c3 repeated within 7 days; c7 has no intent
    "csat_agent": (1, 2),
    "csat_bot": (1, 1),
    "handoffs": (5, None),
    "service_level": (1, 3),  # h1 in 20 s ≤ 60 s; h2 150 s > 120 s; h4 abandoned after 40 s
    "asa": (170 * S, 2),
    "abandonment": (1, 4),  # h4 of h1, h2, h4, h5 (h3 was a short abandon)
    "aht": (900 * S, 2),
    "transfer_rate": (1, 2),
    "complaint_rate": (1, 2),  # c6's ticket came after the answer, c5's before
    "agent_response": (135 * S, 3),  # o1 15 s, o3 110 s, o4 10 s; o2 expired
    "fallback_rate": (1, 9),
    "low_confidence_rate": (1, 9),  # c5's 0.4; c9's 0.3 was a fallback, c8's 0.7 is not below
    "ticket_escalations": (3, None),  # T1's warning, T2's escalate by an agent, T9's page
    "ticket_breaches_respond": (1, None),
    "ticket_breaches_resolve": (1, None),
    "ticket_breaches_follow_up": (0, None),
    "ticket_reopen_rate": (2, 3),  # T1's first resolve (rated 2 on day 2) and T9's
    "csat": (3, 4),  # c3 5, c5 4, c6 3, T2's follow-up 4 (T1's come on day 2)
    "csat_follow_up": (1, 1),
}


def test_summary_of_day_one(conn: sa.Connection) -> None:
    result = reports.summary(conn, DAY1)
    assert _numbers(result) == DAY1_NUMBERS
    assert result["containment"]["value"] == pytest.approx(100 * 2 / 7)
    assert result["asa"]["value"] == 85.0 and result["asa"]["unit"] == "s"
    assert result["aht"]["value"] == 450.0
    assert result["conversations"]["value"] == 8.0
    assert result["csat_agent"] == {
        "value": 50.0,
        "numerator": 1,
        "denominator": 2,
        "label": "人工服务满意度",
        "unit": "%",
        "target": 85.0,
        "higher_is_better": True,
    }


def test_day_two_counts_what_started_on_it(conn: sa.Connection) -> None:
    # c9 started on day 1 (23:58) and ended on day 2: it belongs to day 1; its second turn
    # (00:01) to day 2
    result = _numbers(reports.summary(conn, ReportQuery(D + 24 * H, D + 48 * H)))
    assert result["conversations"] == (2, None)
    assert result["containment"] == (2, 2)
    assert result["csat_bot"] == (0, 1)
    assert result["fallback_rate"] == (0, 3)
    assert result["low_confidence_rate"] == (2, 3)  # c4's 0.6 and c9's 0.45
    assert result["handoffs"] == (0, None)
    assert reports.summary(conn, ReportQuery(D + 24 * H, D + 48 * H))["asa"]["value"] is None
    # T1's follow-ups (2, then 5 after its second resolve) and c4's 2
    assert (result["csat"], result["csat_follow_up"]) == ((1, 3), (1, 2))
    assert result["ticket_reopen_rate"] == (0, 1)


def test_queue_threshold_overrides_the_urgency_target(conn: sa.Connection) -> None:
    rules = Rules(queue_target_ms={"billing": 200 * S})
    assert _numbers(reports.summary(conn, DAY1, rules))["service_level"] == (2, 3)
    assert _numbers(reports.summary(conn, DAY1, Rules(short_abandon_ms=2 * S)))["abandonment"] == (
        2,
        5,
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # c1's repeat came on another channel (app): it still counts
        (
            {"channel": "web"},
            {"conversations": (6, None), "containment": (2, 5), "handoffs": (3, None)},
        ),
        (
            {"queue": "billing"},
            {"conversations": (2, None), "service_level": (0, 1), "abandonment": (0, 1)},
        ),
        ({"skill": "billing"}, {"handoffs": (3, None), "conversations": (3, None)}),
        ({"skill": "complaints"}, {"handoffs": (2, None), "csat_agent": (1, 2)}),
        (
            {"agent_id": "agent-chen"},
            {
                "handoffs": (1, None),
                "aht": (600 * S, 1),
                "csat_agent": (0, 1),
                "agent_response": (10 * S, 1),
            },
        ),
        (
            {"intent": "check_balance"},
            {"conversations": (2, None), "containment": (1, 2), "fallback_rate": (1, 2)},
        ),
        ({"skill": "bill%"}, {"handoffs": (0, None)}),  # LIKE wildcards are literal
    ],
)
def test_filters(conn: sa.Connection, filters: dict[str, str], expected: dict[str, Any]) -> None:
    q = ReportQuery(DAY1.start_ms, DAY1.end_ms, **filters)
    result = _numbers(reports.summary(conn, q))
    assert {name: result[name] for name in expected} == expected


def test_daily_timeseries(conn: sa.Connection) -> None:
    result = reports.timeseries(
        conn, TWO_DAYS, ["conversations", "containment", "asa", "low_confidence_rate"]
    )
    assert result["buckets"] == [D, D + 24 * H]
    series = result["series"]
    assert series["conversations"] == [8.0, 2.0]
    assert series["containment"] == [pytest.approx(100 * 2 / 7), 100.0]
    assert series["asa"] == [85.0, None]
    assert series["low_confidence_rate"] == [pytest.approx(100 / 9), pytest.approx(100 * 2 / 3)]


def test_hourly_and_quarter_hour_buckets_are_china_time(conn: sa.Connection) -> None:
    hourly = reports.timeseries(
        conn, ReportQuery(D + 22 * H, D + 26 * H, "hour"), ["conversations", "fallback_rate"]
    )
    assert hourly["buckets"] == [D + 22 * H, D + 23 * H, D + 24 * H, D + 25 * H]
    assert hourly["series"]["conversations"] == [0.0, 1.0, 0.0, 0.0]
    assert hourly["series"]["fallback_rate"] == [None, 100.0, 0.0, None]
    quarter = reports.timeseries(conn, ReportQuery(D + 9 * H, D + 10 * H, "15m"), ["conversations"])
    assert quarter["buckets"] == [D + 9 * H + i * 15 * MIN for i in range(4)]
    assert quarter["series"]["conversations"] == [1.0, 0.0, 0.0, 0.0]


def _ids(result: dict[str, Any]) -> list[str]:
    return [row["id"] for row in result["conversations"]]


def test_every_number_drills_down_to_its_conversations(conn: sa.Connection) -> None:
    containment = reports.drilldown(conn, DAY1, "containment", "numerator")
    assert _ids(containment) == ["c3", "c9"] and containment["total"] == 2
    assert containment["conversations"][0] == {
        "id": "c3",
        "started_ms": D + 10 * H,
        "channel": "web",
        "first_intent": "check_data",
        "handoffs": 0,
        "rating": 5,
        "ended_by": "bot",
    }
    ended = reports.drilldown(conn, DAY1, "containment", "denominator")
    assert _ids(ended) == ["c1", "c3", "c5", "c6", "c7", "c8", "c9"]
    assert _ids(reports.drilldown(conn, DAY1, "service_level", "denominator")) == ["c5", "c6", "c8"]
    assert _ids(reports.drilldown(conn, DAY1, "asa", "numerator")) == ["c5", "c6"]
    assert _ids(reports.drilldown(conn, TWO_DAYS, "low_confidence_rate", "numerator")) == [
        "c5",
        "c9",
        "c4",
    ]
    chen = ReportQuery(D, D + 24 * H, agent_id="agent-chen")
    assert _ids(reports.drilldown(conn, chen, "complaint_rate", "numerator")) == ["c6"]
    # a ticket step of no archived conversation (T9's page) has nothing to list
    escalated = reports.drilldown(conn, DAY1, "ticket_escalations", "numerator")
    assert _ids(escalated) == ["c5", "c6"] and escalated["total"] == 2
    assert _ids(reports.drilldown(conn, TWO_DAYS, "csat_follow_up", "denominator")) == ["c5", "c6"]
    assert _ids(reports.drilldown(conn, DAY1, "ticket_reopen_rate", "numerator")) == ["c5"]


def test_drilldown_of_one_bucket_and_paging(conn: sa.Connection) -> None:
    q = ReportQuery(D, D + 48 * H, "hour")
    assert _ids(reports.drilldown(conn, q, "containment", "numerator", D + 23 * H)) == ["c9"]
    day = ReportQuery(D, D + 48 * H, "day")
    page = reports.drilldown(conn, day, "conversations", "numerator", D, limit=3, offset=3)
    assert _ids(page) == ["c6", "c7", "c8"] and page["total"] == 8
    with pytest.raises(MetricError):
        reports.drilldown(conn, day, "conversations", "denominator")
    with pytest.raises(MetricError):
        reports.drilldown(conn, day, "containment", "numerator", D + H)  # not a day's start
    with pytest.raises(MetricError):
        reports.drilldown(conn, day, "no_such_metric", "numerator")


def test_intent_mix(conn: sa.Connection) -> None:
    mix = reports.intent_mix(conn, DAY1)
    assert [(row["intent"], row["conversations"]) for row in mix] == [
        ("check_balance", 2),
        ("billing", 1),
        ("check_data", 1),
        ("complaint", 1),
        ("plan_change", 1),
        ("roaming", 1),
        (None, 1),
    ]
    first = mix[0]
    assert first["share"] == 25.0 and first["contained"] == 50.0 and first["csat"] is None
    assert mix[2] == {
        "intent": "check_data",
        "conversations": 1,
        "share": 12.5,
        "contained": 100.0,
        "csat": 100.0,
    }
    assert mix[1]["csat"] == 50.0  # c6 rated 3, its ticket's follow-up 4


def test_scorecard(conn: sa.Connection) -> None:
    card = reports.scorecard(conn, DAY1)
    assert card["weights"] == {
        "satisfaction": 0.30,
        "response_time": 0.25,
        "resolution": 0.20,
        "handle_time": 0.15,
        "complaint_rate": 0.10,
    }
    assert set(card["scaling"]) == set(card["weights"])
    agents = {a["agent_id"]: a for a in card["agents"]}
    assert [a["agent_id"] for a in card["agents"]] == ["agent-zhao", "agent-chen", "agent-li"]
    assert agents["agent-zhao"]["total"] == 100.0
    assert agents["agent-zhao"]["display_name"] == "赵海涛"
    chen = agents["agent-chen"]["components"]
    assert {k: (v["raw"], v["score"]) for k, v in chen.items()} == {
        "satisfaction": (0.0, 0.0),
        "response_time": (10.0, 100.0),
        "resolution": (100.0, 100.0),
        "handle_time": (600.0, 50.0),  # 100 at ≤ 300 s, 0 at ≥ 900 s
        "complaint_rate": (100.0, 0.0),
    }
    assert agents["agent-chen"]["total"] == pytest.approx(52.5)
    li = agents["agent-li"]  # only accepted an offer, then transferred: scored on response alone
    assert li["components"]["response_time"]["raw"] == 110.0
    assert li["components"]["satisfaction"]["raw"] is None
    assert li["total"] == pytest.approx(100 * (120 - 110) / 90)


def test_scorecard_components_equal_the_filtered_summary(conn: sa.Connection) -> None:
    card = reports.scorecard(conn, DAY1)
    for agent in card["agents"]:
        q = ReportQuery(DAY1.start_ms, DAY1.end_ms, agent_id=agent["agent_id"])
        numbers = _numbers(reports.summary(conn, q))
        for component, metric in card["metrics"].items():
            part = agent["components"][component]
            if part["raw"] is not None:
                assert (part["numerator"], part["denominator"]) == numbers[metric]


def test_transcript(conn: sa.Connection) -> None:
    record = reports.transcript(conn, "c9")
    assert record is not None
    assert record["conversation"]["first_intent"] == "check_balance"
    assert [m["sender"] for m in record["messages"]] == ["customer", "bot"]
    assert record["messages"][0]["text"] == "我的号码是138****8000"
    assert [t["fallback"] for t in record["turns"]] == [True, False]
    assert record["turns"][0]["entities"] == ["phone"]
    assert record["handoffs"] == []
    six = reports.transcript(conn, "c6")
    assert six is not None and six["handoffs"][0]["skills"] == ["billing", "complaints"]
    assert reports.transcript(conn, "nope") is None


def test_to_csv_guards_formulas() -> None:
    rows = [
        {"intent": '=HYPERLINK("http://x")', "share": -5, "note": "-1+2"},
        {"intent": "查话费", "share": 12.5, "extra": "@SUM(A1)", "list": ["a"]},
        {"intent": None, "share": None},
    ]
    text = reports.to_csv(rows)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed == [
        ["intent", "share", "note", "extra", "list"],
        ['\'=HYPERLINK("http://x")', "-5", "'-1+2", "", ""],
        ["查话费", "12.5", "", "'@SUM(A1)", '["a"]'],
        ["", "", "", "", ""],
    ]
    assert reports.to_csv([]) == "\r\n"


def test_an_empty_window_has_no_values(conn: sa.Connection) -> None:
    q = ReportQuery(D + 72 * H, D + 96 * H)
    result = reports.summary(conn, q)
    assert result["conversations"]["numerator"] == 0 and result["handoffs"]["numerator"] == 0
    assert all(entry["value"] is None for entry in result.values() if entry["denominator"] == 0)
    assert reports.timeseries(conn, q, ["handoffs"])["series"]["handoffs"] == [0.0]
    assert reports.intent_mix(conn, q) == [] and reports.scorecard(conn, q)["agents"] == []
