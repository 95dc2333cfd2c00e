"""Archive rows for the inbox and annotation tests: a conversation's customer turns with the
assistant's reading, its handoffs and its rating, written as the consumer writes them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from telecom import mask

DAY_MS = 86_400_000
T0 = 1_800_000_000_000  # the tests' "now"


def conversation(
    conn: sa.Connection,
    cid: str,
    turns: list[tuple[str, str | None, float | None, float | None]],
    start_ms: int = T0 - DAY_MS,
    handoff_after: int | None = None,
    rating: int | None = None,
    fallback_below: float = 0.6,
) -> None:
    """A conversation of customer turns (text, intent, confidence, margin) a second apart from
    `start_ms`; a handoff right after the turn at index `handoff_after`; the assistant's
    survey answered with `rating`."""
    conn.execute(
        sa.text(
            "INSERT INTO conversations (id, channel, started_ms, last_ms, handoffs, rating,"
            " rating_of) VALUES (:id, 'web', :start, :start, :handoffs, :rating, :of)"
        ),
        {
            "id": cid,
            "start": start_ms,
            "handoffs": 0 if handoff_after is None else 1,
            "rating": rating,
            "of": None if rating is None else "bot",
        },
    )
    for i, (text, intent, confidence, margin) in enumerate(turns):
        ts, seq = start_ms + i * 1000, f"{start_ms + i * 1000}-0"
        row: dict[str, Any] = {"cid": cid, "seq": seq, "ts": ts}
        conn.execute(
            sa.text(
                "INSERT INTO messages (conversation_id, seq, ts_ms, sender, text)"
                " VALUES (:cid, :seq, :ts, 'customer', :text)"
            ),
            {**row, "text": mask.text(text)},
        )
        fallback = confidence is not None and confidence < fallback_below
        conn.execute(
            sa.text(
                "INSERT INTO turns (conversation_id, seq, ts_ms, intent, confidence, margin,"
                " fallback) VALUES (:cid, :seq, :ts, :intent, :confidence, :margin, :fallback)"
            ),
            {
                **row,
                "intent": "nlu_fallback" if fallback else intent,
                "confidence": confidence,
                "margin": margin,
                "fallback": fallback,
            },
        )
        if handoff_after == i:
            conn.execute(
                sa.text(
                    "INSERT INTO handoffs (id, conversation_id, created_ms, status)"
                    " VALUES (:id, :cid, :ts, 'queued')"
                ),
                {"id": f"h-{cid}", "cid": cid, "ts": ts + 500},
            )
