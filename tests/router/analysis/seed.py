"""A small archive for the analysts' tests: migrated to head, with customer turns the assistant
misread (fallbacks, a low confidence, a small margin) on one day, their text masked the way the
archive keeps it (a phone number as 138****8000)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from archive import migrate
from archive.db import engine_for
from archive.schema import Conversation, Message, Turn
from router.reporting import china_midnight

DAY = date(2026, 9, 20)  # China time
BASE = china_midnight(DAY)
H, M = 3_600_000, 60_000
# (text as archived: masked, the assistant's intent, confidence, margin, fallback)
MISREAD = "我的号码138****8000为什么欠费停机了"
TURNS = (
    (MISREAD, "nlu_fallback", 0.41, 0.25, True),
    ("我的号码139****1234为什么欠费停机了！", "nlu_fallback", 0.38, 0.24, True),
    ("流量包怎么退订", "change_plan", 0.52, 0.30, False),
    ("帮我瞅瞅这个月花了多少钱啊", "query_balance", 0.70, 0.10, False),
)
CONVERSATIONS = tuple(f"c-an-{i}" for i in range(len(TURNS)))


def fill(url: str, base: int = BASE) -> None:
    """Migrate the archive at `url` to head and add the turns, from 09:00 of the China day that
    begins at `base` (DAY's by default) on, ten minutes apart."""
    migrate.upgrade(url)
    engine = engine_for(url)
    rows: list[object] = []
    for i, (text, intent, confidence, margin, fallback) in enumerate(TURNS):
        cid, at = CONVERSATIONS[i], base + 9 * H + i * 10 * M
        rows.append(Conversation(id=cid, customer_ref=f"ref{i:021d}", channel="web",
                                 started_ms=at, last_ms=at + 2 * M, bot_turns=1))  # fmt: skip
        rows.append(Message(conversation_id=cid, seq=f"{at}-0", ts_ms=at, sender="customer",
                            text=text))  # fmt: skip
        rows.append(Turn(conversation_id=cid, seq=f"{at}-0", ts_ms=at, intent=intent,
                         confidence=confidence, margin=margin, fallback=fallback))  # fmt: skip
    try:
        with Session(engine) as session, session.begin():
            session.add_all(rows)
    finally:
        engine.dispose()
