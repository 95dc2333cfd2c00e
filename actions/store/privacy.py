"""Identity checks, verification attempts, used login nonces, consents and the retention purge
in the SQLite store: `PrivacyMethods`, and the SQL they run (each function inside the caller's
transaction). The decisions are pure functions in actions/verification.py.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime

from actions.settings import Retention
from actions.store.base import Consent, VerificationResult
from actions.store.connection import SQLiteBase
from actions.store.hashing import verify_id
from actions.store.rows import from_ts, to_ts
from actions.verification import (
    ATTEMPT_WINDOW,
    Attempt,
    Decision,
    Limits,
    Lock,
    VerificationState,
    decide,
    evaluate,
)
from telecom import mask

__all__ = [
    "PrivacyMethods",
    "claim_nonce",
    "decision",
    "delete_expired",
    "insert_consent",
    "number_state",
    "record_attempt",
    "select_consents",
]

log = logging.getLogger(__name__)


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


def insert_consent(
    conn: sqlite3.Connection, conversation: str, notice_version: str, purpose: str, now: datetime
) -> bool:
    cur = conn.execute(
        "INSERT OR IGNORE INTO consents (conversation, notice_version, purpose, at)"
        " VALUES (?, ?, ?, ?)",
        (conversation, notice_version, purpose, to_ts(now)),
    )
    return cur.rowcount == 1


def select_consents(conn: sqlite3.Connection, conversation: str) -> list[Consent]:
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


def delete_expired(conn: sqlite3.Connection, now: datetime, retention: Retention) -> dict[str, int]:
    """Delete the rows of each table in PURGED whose time is older than its retention."""
    deleted = {}
    for table, column, field in PURGED:
        cutoff = to_ts(now - getattr(retention, field))
        cur = conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))  # fixed names
        deleted[table] = cur.rowcount
    return deleted


class PrivacyMethods(SQLiteBase):
    """The store's identity checks, verification locks, login nonces, consents and purge."""

    def check_identity(
        self, phone: str, *, id_last6: str | None = None, id_number: str | None = None
    ) -> bool:
        """True when every given value matches the stored hashes; False if none is given."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT id_hash, id6_hash FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
        return self._identity_matches(row, id_last6, id_number)

    def verification_lock(
        self,
        phone: str | None,
        now: datetime,
        *,
        conversation: str | None = None,
        client: str | None = None,
        limits: Limits | None = None,
    ) -> Lock | None:
        """The lock on verifying `phone` in this conversation from this client, or None."""
        with self._tx(write=False) as conn:
            return decision(conn, phone, conversation, client, now, limits or Limits()).lock

    def record_verification_attempt(
        self,
        phone: str,
        success: bool,
        now: datetime,
        *,
        conversation: str | None = None,
        client: str | None = None,
    ) -> int:
        """Records the attempt; returns failures in a row (the 5th failure locks for 30 min)."""
        with self._tx() as conn:
            record_attempt(conn, phone, success, now, conversation, client)
            state = number_state(conn, phone, now)
        if state.locked_until:
            log.warning("store.verification.locked scope=number phone=%s", mask.phone(phone))
        return state.failures

    def verify_identity(
        self,
        phone: str,
        now: datetime,
        *,
        id_last6: str | None = None,
        id_number: str | None = None,
        conversation: str | None = None,
        client: str | None = None,
        limits: Limits | None = None,
    ) -> VerificationResult:
        """Lock check, comparison and recording in one transaction.

        An unknown number is compared against a dummy hash of the same cost and counted like a
        wrong ID, so the answer and its timing do not tell whether the number is ours. While
        the number, the conversation or the client is locked nothing is compared or recorded:
        the result has ok=False, locked_until and lock_scope.
        """
        limits = limits or Limits()
        with self._tx() as conn:
            before = decision(conn, phone, conversation, client, now, limits)
            if before.lock:
                state = number_state(conn, phone, now)
                return VerificationResult(
                    False, state.failures, before.lock.until, before.lock.scope, remaining=0
                )
            row = conn.execute(
                "SELECT id_hash, id6_hash FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
            ok = self._identity_matches(row, id_last6, id_number)
            record_attempt(conn, phone, ok, now, conversation, client)
            state = number_state(conn, phone, now)
            after = decision(conn, phone, conversation, client, now, limits)
        log.info(
            "store.verification.%s phone=%s failures=%d",
            "ok" if ok else "failed",
            mask.phone(phone),
            state.failures,
        )
        lock = after.lock
        if lock:
            log.warning(
                "store.verification.locked scope=%s phone=%s", lock.scope, mask.phone(phone)
            )
        return VerificationResult(
            ok,
            state.failures,
            lock.until if lock else None,
            lock.scope if lock else None,
            remaining=after.remaining,
        )

    def _identity_matches(
        self, row: sqlite3.Row | None, id_last6: str | None, id_number: str | None
    ) -> bool:
        pairs = ((id_number, "id_hash"), (id_last6, "id6_hash"))
        given = [(str(v).strip().upper(), key) for v, key in pairs if v]
        if not given:
            return False
        if row is None:
            verify_id(given[0][0], self._dummy_id_hash, self._pepper)  # same work as a real one
            return False
        return all(verify_id(value, row[key], self._pepper) for value, key in given)

    def claim_login_nonce(
        self, nonce: str, conversation: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Remember a signed login's nonce until `expires_at`; False when it was used before
        (in this conversation or another): a login is accepted once."""
        with self._tx() as conn:
            return claim_nonce(conn, nonce, conversation, now, expires_at)

    def record_consent(
        self, conversation: str, notice_version: str, now: datetime, purpose: str = "verification"
    ) -> bool:
        """Record that the customer went on after the privacy notice; False if already so."""
        with self._tx() as conn:
            return insert_consent(conn, conversation, notice_version, purpose, now)

    def consents(self, conversation: str) -> list[Consent]:
        with self._use() as conn:
            return select_consents(conn, conversation)

    def purge(self, now: datetime, retention: Retention) -> dict[str, int]:
        """Delete every record older than its retention; rows deleted per table."""
        with self._tx() as conn:
            deleted = delete_expired(conn, now, retention)
        log.info("store.purged %s", " ".join(f"{k}={v}" for k, v in deleted.items()))
        return deleted
