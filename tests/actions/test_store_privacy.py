"""Consents, login nonces, retention purge, and bringing an older store's ID hashes and
verification attempts up to date."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import timedelta

from actions.settings import Retention
from actions.store.__main__ import main as store_cli
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.secrets_support import IDENTITY_SECRET, PEPPER
from tests.actions.store_support import rows

DEMO = DEMO_SUBSCRIBERS[0]
DAY = timedelta(days=1)


def test_consent_is_recorded_once_per_conversation_and_notice(store, now):
    assert store.record_consent("conv-1", "2-basic-abc", now)
    assert not store.record_consent("conv-1", "2-basic-abc", now + DAY)
    assert store.record_consent("conv-1", "2-full-def", now + DAY)
    assert store.record_consent("conv-2", "2-basic-abc", now)
    consents = store.consents("conv-1")
    assert [(c.notice_version, c.at, c.purpose) for c in consents] == [
        ("2-basic-abc", now, "verification"),
        ("2-full-def", now + DAY, "verification"),
    ]


def test_a_login_nonce_is_claimed_once(store, now):
    expires = now + timedelta(minutes=5)
    assert store.claim_login_nonce("nonce-0123456789ab", "conv-1", now, expires)
    assert not store.claim_login_nonce("nonce-0123456789ab", "conv-1", now, expires)
    assert not store.claim_login_nonce("nonce-0123456789ab", "conv-2", now, expires)
    assert store.claim_login_nonce("nonce-other-456789", "conv-2", now, expires)


def _fill(store, now, age: timedelta) -> None:
    """One record of every purged kind, made `age` before `now`."""
    at = now - age
    store.record_verification_attempt(DEMO.phone, False, at, conversation="c", client=None)
    store.claim_login_nonce(f"nonce-{age.days:012d}", "c", at, at + timedelta(minutes=5))
    store.record_consent(f"conv-{age.days}", "2-basic-abc", at)
    store.create_ticket("complaint", "service", "态度不好", DEMO.phone, at)  # + its SMS


def _counts(store) -> dict[str, int]:
    tables = ("verification_attempts", "login_nonces", "consents", "tickets", "sms_outbox")
    return {table: rows(store, f"SELECT COUNT(*) FROM {table}")[0][0] for table in tables}


def test_purge_deletes_only_what_is_past_its_retention(store, now):
    retention = Retention()  # 30 days, 1 day after expiry, 1095, 730, 180
    for days in (0, 2, 31, 181, 731, 1096):
        _fill(store, now, timedelta(days=days))
    assert _counts(store) == dict.fromkeys(_counts(store), 6)
    deleted = store.purge(now, retention)
    assert deleted == {
        "verification_attempts": 4,  # 31 days and older
        "login_nonces": 5,  # expired more than a day ago
        "consents": 1,  # 1096 days
        "tickets": 2,  # 731 days and older
        "sms_outbox": 3,  # 181 days and older
    }
    assert _counts(store) == {
        "verification_attempts": 2,
        "login_nonces": 1,
        "consents": 5,
        "tickets": 4,
        "sms_outbox": 3,
    }
    assert store.purge(now, retention) == dict.fromkeys(deleted, 0)
    assert store.count_subscribers() == 30  # subscriber data is not touched


def test_purge_keeps_what_the_lock_decisions_read(store, now):
    for i in range(5):
        store.verify_identity(DEMO.phone, now - timedelta(minutes=i), id_last6="000000")
    store.purge(now, Retention(verification=DAY))
    assert store.verification_lock(DEMO.phone, now) is not None


def test_the_purge_command(store, now, monkeypatch, capsys):
    _fill(store, now, timedelta(days=400))
    monkeypatch.setenv("ASSISTANT_DB_PATH", str(store.path))
    monkeypatch.setenv("ASSISTANT_IDENTITY_SECRET", IDENTITY_SECRET)
    monkeypatch.setenv("ASSISTANT_ID_PEPPER", PEPPER)
    monkeypatch.setenv("ASSISTANT_RETAIN_TICKET_DAYS", "365")
    five_days_later = (now - timedelta(days=395)).isoformat()
    assert store_cli(["purge", "--now", five_days_later]) == 0
    assert "tickets: 0 deleted" in capsys.readouterr().out
    assert store_cli(["purge", "--now", now.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "tickets: 1 deleted" in out and "consents: 0 deleted" in out
    assert _counts(store) == {
        "verification_attempts": 0,
        "login_nonces": 0,
        "consents": 1,  # kept three years
        "tickets": 0,
        "sms_outbox": 0,
    }


def test_the_purge_command_refuses_bad_secrets(store, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_DB_PATH", str(store.path))
    monkeypatch.delenv("ASSISTANT_ID_PEPPER", raising=False)
    monkeypatch.setenv("ASSISTANT_IDENTITY_SECRET", IDENTITY_SECRET)
    assert store_cli(["purge"]) == 2
    assert "ASSISTANT_ID_PEPPER is missing" in capsys.readouterr().err


# ------------------------------------------------------------------ a store from before


def _legacy_hash(value: str) -> str:
    """What the store kept before the pepper: salted PBKDF2, 10,000 rounds."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), salt, 10_000)
    return f"pbkdf2_sha256$10000${salt.hex()}${digest.hex()}"


OLD_ATTEMPTS = """
DROP TABLE verification_attempts;
CREATE TABLE verification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    success INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX verification_attempts_phone ON verification_attempts (phone, at);
DROP TABLE login_nonces;
DROP TABLE consents;
DELETE FROM meta WHERE key = 'id_pepper_check';
"""


def _make_legacy(store, now) -> None:
    conn = sqlite3.connect(store.path)
    conn.executescript(OLD_ATTEMPTS)
    with conn:
        for demo in DEMO_SUBSCRIBERS:
            conn.execute(
                "UPDATE subscribers SET id_hash = ?, id6_hash = ? WHERE phone = ?",
                (_legacy_hash(demo.id_number), _legacy_hash(demo.id_last6), demo.phone),
            )
        conn.execute(
            "INSERT INTO verification_attempts (phone, success, at) VALUES (?, 0, ?)",
            (DEMO.phone, now.isoformat()),
        )
    conn.close()


def test_an_older_store_is_brought_up_to_date(store, now, today):
    _make_legacy(store, now)
    assert store.initialise(today) is False
    hashes = rows(store, "SELECT id_hash, id6_hash FROM subscribers")
    assert not [h for pair in hashes for h in pair if h.startswith("pbkdf2")]
    for demo in DEMO_SUBSCRIBERS:  # the demo subscribers of `make run` still verify
        assert store.check_identity(demo.phone, id_last6=demo.id_last6)
        assert store.check_identity(demo.phone, id_number=demo.id_number)
        assert not store.check_identity(demo.phone, id_last6="000000")
    columns = [r[1] for r in rows(store, "PRAGMA table_info(verification_attempts)")]
    assert {"conversation", "client"} <= set(columns)
    assert rows(store, "SELECT phone, conversation FROM verification_attempts") == [
        (DEMO.phone, None)
    ]
    assert store.record_consent("conv-1", "2-basic-abc", now)  # the new tables exist
    assert store.initialise(today) is False  # and a second start changes nothing


def test_an_unknown_number_costs_as_much_as_a_wrong_id(tmp_path, catalog_root, now, today):
    """At the real scrypt cost, checking a number we do not have takes about as long as a wrong
    ID for one we have (a dummy hash of the same cost), so timing does not tell them apart."""
    import statistics
    import time

    from actions.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "real-cost.sqlite3", catalog_root, id_pepper=PEPPER)
    store.initialise(today, count=7)  # the demo subscribers only, hashed at the real cost

    def seconds(phone: str, i: int) -> float:
        started = time.perf_counter()
        store.verify_identity(phone, now + timedelta(hours=i), id_last6="000000")
        return time.perf_counter() - started

    known = [seconds(DEMO.phone, i) for i in range(4)]
    unknown = [seconds("19999999999", i) for i in range(4)]
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2, (known, unknown)
    assert statistics.median(known) > 0.005  # the real cost, not a cheap one
