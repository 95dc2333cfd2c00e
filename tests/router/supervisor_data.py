"""A small archive for the supervisor pages' tests: its schema built by the migrations, filled
through archive.schema with one day of known conversations (what each number must be is noted
where the rows are made). Used by tests/router/test_supervisor*.py and the browser test."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from archive import migrate, repeats, rollup
from archive.db import engine_for
from archive.schema import Agent, Conversation, Handoff, Message, Turn
from router.reporting import china_midnight

DAY = date(2026, 9, 20)  # China time
BASE = china_midnight(DAY)
H, M, S = 3_600_000, 60_000, 1000
EVIL_NAME = '=HYPERLINK("http://evil.example","点我")'  # a spreadsheet formula in a cell
MASKED_PHONE = "138****8000"

# Expected over DAY: 4 conversations (2 contained by the assistant), 2 handoffs; service level
# 1 of 2 (h1 answered in 20 s, within the high urgency's 60 s; h2 abandoned after 60 s)
CONVERSATIONS = 4
HANDOFFS = 2


def fill(url: str) -> None:
    """Migrate the archive at `url` to head and add DAY's rows."""
    migrate.upgrade(url)
    engine = engine_for(url)
    try:
        with Session(engine) as session, session.begin():
            session.add_all(_rows())
        with engine.begin() as conn:  # what the ingest keeps: the repeat-contact links, rollups
            repeats.relink_all(conn)
            rollup.refresh_all(conn)
    finally:
        engine.dispose()


def _conversation(cid: str, at: int, **fields: object) -> Conversation:
    values: dict[str, object] = {
        "customer_ref": "0123456789abcdef" + cid[-8:].rjust(8, "0"),
        "channel": "web",
        "started_ms": at,
        "last_ms": at + 5 * M,
        "bot_turns": 2,
        "fallback_turns": 0,
        "low_confidence_turns": 0,
        "handoffs": 0,
    }
    values.update(fields)
    return Conversation(id=cid, **values)


def _rows() -> list[object]:
    rows: list[object] = [
        Agent(
            id="agent-zhao",
            display_name=EVIL_NAME,
            skills=json.dumps({"complaints": 4}),
            created_ms=BASE - 30 * 24 * H,
        ),
        # contained by the assistant, rated 5 and 2
        _conversation(
            "c-bot-1",
            BASE + 9 * H,
            first_intent="query_balance",
            rating=5,
            rated_ms=BASE + 9 * H + 4 * M,
            rating_of="bot",
            ended_by="bot",
            ended_ms=BASE + 9 * H + 5 * M,
        ),
        _conversation(
            "c-bot-2",
            BASE + 9 * H + 10 * M,
            channel="app",
            first_intent="query_balance",
            rating=2,
            rated_ms=BASE + 9 * H + 14 * M,
            rating_of="bot",
            ended_by="bot",
            ended_ms=BASE + 9 * H + 15 * M,
        ),
        # handed off, answered in 20 s, completed, rated 5
        _conversation(
            "c-agent-1",
            BASE + 10 * H,
            first_intent="complain",
            handoffs=1,
            rating=5,
            rated_ms=BASE + 10 * H + 20 * M,
            rating_of="agent",
            ended_by="agent",
            ended_ms=BASE + 10 * H + 15 * M,
            disposition="resolved",
        ),
        # handed off, abandoned after 60 s
        _conversation(
            "c-agent-2",
            BASE + 11 * H,
            channel="voice",
            first_intent="roaming",
            handoffs=1,
            ended_by="customer",
            ended_ms=BASE + 11 * H + 2 * M,
        ),
        Handoff(
            id="h1",
            conversation_id="c-agent-1",
            channel="web",
            queue="complaints",
            skills='["complaints"]',
            urgency="high",
            intent="complain",
            created_ms=BASE + 10 * H + M,
            first_offered_ms=BASE + 10 * H + M + 5 * S,
            assigned_ms=BASE + 10 * H + M + 20 * S,
            agent_id="agent-zhao",
            completed_ms=BASE + 10 * H + 11 * M,
            offers=1,
            missed=0,
            transfers=0,
            disposition="resolved",
            status="completed",
        ),
        Handoff(
            id="h2",
            conversation_id="c-agent-2",
            channel="voice",
            queue="roaming",
            skills='["roaming"]',
            urgency="normal",
            intent="roaming",
            created_ms=BASE + 11 * H + M,
            abandoned_ms=BASE + 11 * H + 2 * M,
            offers=0,
            missed=0,
            transfers=0,
            status="abandoned",
        ),
    ]
    texts = [
        ("c-agent-1", "0-1", 10 * H, "customer", None, f"手机号{MASKED_PHONE}，网太差要投诉"),
        ("c-agent-1", "0-2", 10 * H + 2 * S, "bot", None, "抱歉，正在为您转接人工客服。"),
        ("c-agent-1", "0-3", 10 * H + M + 30 * S, "agent", "agent-zhao", "您好，我是人工客服。"),
        ("c-bot-1", "0-1", 9 * H, "customer", None, "查一下话费"),
        ("c-bot-1", "0-2", 9 * H + 2 * S, "bot", None, "您的话费余额为 58.20 元。"),
    ]
    for cid, seq, at, sender, agent_id, text in texts:
        rows.append(
            Message(
                conversation_id=cid,
                seq=seq,
                ts_ms=BASE + at,
                sender=sender,
                agent_id=agent_id,
                text=text,
            )
        )
    rows.append(
        Turn(
            conversation_id="c-agent-1",
            seq="0-1",
            ts_ms=BASE + 10 * H,
            intent="complain",
            confidence=0.93,
            margin=0.71,
            urgency="high",
            entities='["phone"]',
            fallback=False,
            action="action_handoff",
        )
    )
    rows.append(
        Turn(
            conversation_id="c-bot-1",
            seq="0-1",
            ts_ms=BASE + 9 * H,
            intent="query_balance",
            confidence=0.97,
            margin=0.9,
            urgency="normal",
            entities="[]",
            fallback=False,
            action="action_query_balance",
        )
    )
    return rows


def archive_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'archive.sqlite3'}"
