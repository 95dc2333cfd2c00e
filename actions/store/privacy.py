"""The SQL of verification attempts, used login nonces, consents and the retention purge (inside
the caller's transaction). The decisions are pure functions in actions/verification.py."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from actions.settings import Retention
from actions.store.base import Consent
from actions.store.rows import from_ts, to_ts
from actions.verification import (
    ATTEMPT_WINDOW,
    Attempt,
    Decision,
    Limits,
    VerificationState,
    decide,
    evaluate,
)

__all__ = [
    "claim_nonce",
    "consents",
    "decision",
    "number_state",
    "purge",
    "record_attempt",
    "record_consent",
]


def record_attempt(
    conn: sqlite3.Connection,
    phone: str,
    success: bool,
    now: datetime,
    conversation: str | None,
    client: str | None,
) -> None:
    conn.execute(
        "INSERT INTO verification_attempts (phone, success, at, conversation, client)"
        " VALUES (?, ?, ?, ?, ?)",
        (phone, int(success), to_ts(now), conversation, client),
    )


def _number_attempts(conn: sqlite3.Connection, phone: str, now: datetime) -> list[Attempt]:
    rows = conn.execute(
        "SELECT at, success FROM verification_attempts WHERE phone = ? AND at >= ? ORDER BY at, id",
        (phone, to_ts(now - ATTEMPT_WINDOW)),
    ).fetchall()
    return [Attempt(at=from_ts(r["at"]), success=bool(r["success"])) for r in rows]


def _failures(conn: sqlite3.Connection, column: str, key: str, since: datetime) -> list[datetime]:
    rows = conn.execute(
        f"SELECT at FROM verification_attempts WHERE {column} = ? AND at >= ?"  # fixed names
        " AND success = 0",
        (key, to_ts(since)),
    ).fetchall()
    return [from_ts(r["at"]) for r in rows]


def number_state(conn: sqlite3.Connection, phone: str, now: datetime) -> VerificationState:
    return evaluate(_number_attempts(conn, phone, now), now)


def decision(
    conn: sqlite3.Connection,
    phone: str | None,
    conversation: str | None,
    client: str | None,
    now: datetime,
    limits: Limits,
) -> Decision:
    """The lock on the number, the conversation or the client at `now`, and failures left."""
    return decide(
        _number_attempts(conn, phone, now) if phone else None,
        _failures(conn, "conversation", conversation, now - limits.conversation_window)
        if conversation
        else None,
        _failures(conn, "client", client, now - limits.client_window) if client else None,
        now,
        limits,
    )


def claim_nonce(
    conn: sqlite3.Connection, nonce: str, conversation: str, now: datetime, expires_at: datetime
) -> bool:
    """Insert the nonce; False when it is there already (the primary key refuses a repeat)."""
    try:
        conn.execute(
            "INSERT INTO login_nonces (nonce, conversation, used_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (nonce, conversation, to_ts(now), to_ts(expires_at)),
        )
    except sqlite3.IntegrityError:
        return False
    return True


def record_consent(
    conn: sqlite3.Connection, conversation: str, notice_version: str, purpose: str, now: datetime
) -> bool:
    cur = conn.execute(
        "INSERT OR IGNORE INTO consents (conversation, notice_version, purpose, at)"
        " VALUES (?, ?, ?, ?)",
        (conversation, notice_version, purpose, to_ts(now)),
    )
    return cur.rowcount == 1


def consents(conn: sqlite3.Connection, conversation: str) -> list[Consent]:
    rows = conn.execute(
        "SELECT conversation, notice_version, purpose, at FROM consents WHERE conversation = ?"
        " ORDER BY at, id",
        (conversation,),
    ).fetchall()
    return [
        Consent(r["conversation"], r["notice_version"], r["purpose"], from_ts(r["at"]))
        for r in rows
    ]


# table, time column, retention field
PURGED = (
    ("verification_attempts", "at", "verification"),
    ("login_nonces", "expires_at", "login_nonces"),
    ("consents", "at", "consents"),
    ("tickets", "created_at", "tickets"),
    ("sms_outbox", "created_at", "sms"),
)


def purge(conn: sqlite3.Connection, now: datetime, retention: Retention) -> dict[str, int]:
    """Delete the rows of each table in PURGED whose time is older than its retention."""
    deleted = {}
    for table, column, field in PURGED:
        cutoff = to_ts(now - getattr(retention, field))
        cur = conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))  # fixed names
        deleted[table] = cur.rowcount
    return deleted
