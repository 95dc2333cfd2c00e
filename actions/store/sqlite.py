"""SQLiteStore: the default subscriber store, one SQLite file.

Each thread of the action server keeps one connection; each public method runs on it.
Every change runs inside one BEGIN IMMEDIATE … COMMIT; any exception rolls all of it back.
ID numbers are kept only as peppered scrypt hashes (full number and last six; hashing.py),
passwords as scrypt hashes; a temporary password is never stored readable (the outbox keeps its
SMS with the password redacted; the SMS gateway, when one is configured, gets the full text).
Verification attempts, used login nonces and consents (`privacy`, with the purge of everything
past its retention), plan changes (`plan_changes`) and tickets and outages (`tickets`) have their
SQL in modules of their own; ticket text is escaped and the customer's number masked there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from actions.settings import Retention
from actions.store import hashing, plan_changes, privacy, tickets
from actions.store.base import (
    OUTAGE_SERVICES,
    TICKET_KINDS,
    AccountSuspended,
    Bill,
    BillItem,
    Charges,
    Consent,
    InvalidInput,
    MonthlyUsage,
    NoSuchDestination,
    NoSuchOutage,
    NoSuchPlan,
    NoSuchSubscriber,
    Outage,
    Package,
    PlanChange,
    SamePlan,
    Sms,
    StoreError,
    Subscriber,
    Ticket,
    VerificationResult,
)
from actions.store.fill import id_hashes, insert_outages, insert_records, parallel
from actions.store.generate import DEFAULT_COUNT, SEED, generate, generate_outages
from actions.store.hashing import hash_password, verify_id, verify_secret
from actions.store.rows import from_ts, queue_sms, to_ts, utcnow
from actions.store.schema import DATA_TABLES, LATE_INDEXES, SCHEMA, migrate
from actions.verification import Limits, Lock
from telecom import mask
from telecom.catalog import Catalog, Destination, Plan, RoamingTariff, load_catalog
from telecom.dates import CHINA_TZ, month_key, next_month_first

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)


class SQLiteStore:
    """The SubscriberStore on one SQLite file; catalogues are read from `catalog_root`."""

    def __init__(
        self,
        path: str | Path,
        catalog_root: str | Path,
        *,
        id_pepper: str,
        id_hash_cost: int | None = None,
        sms_gateway: Callable[[str, str, str], None] | None = None,
    ) -> None:
        """`id_pepper`: ASSISTANT_ID_PEPPER. `id_hash_cost`: scrypt N of new ID hashes (tests
        lower it). `sms_gateway(phone, kind, body)`: delivers an SMS whose full text must not
        be stored (a temporary password); without one such a text is only recorded redacted."""
        if not id_pepper:
            raise StoreError("the ID pepper is missing (ASSISTANT_ID_PEPPER)")
        self.path = Path(path)
        self.catalog_root = Path(catalog_root)
        self._pepper = id_pepper
        self._id_hash_cost = id_hash_cost or hashing.ID_SCRYPT_N
        self._dummy_id_hash = hashing.dummy_id_hash(self._id_hash_cost)
        self._sms_gateway = sms_gateway
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # ------------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fewer fsyncs per commit
        return conn

    def _kept(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and kept (opening one per call was a
        large share of the action server's time: docs/benchmarks.md)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The kept connection, or one of its own while the kept one is inside a transaction (a
        store call made during another one sees only committed data, as it always has). A kept
        connection left inside a transaction is closed, not reused. Outside `_tx`, each
        statement sees the latest committed data."""
        kept = self._kept()
        conn = self._connect() if kept.in_transaction else kept
        try:
            yield conn
        finally:
            if conn is not kept:
                conn.close()
            elif conn.in_transaction:  # COMMIT or ROLLBACK itself failed
                self._local.conn = None
                conn.close()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self._use() as conn:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_root)

    # ------------------------------------------------------------------ creation

    def initialise(
        self,
        today: date | None = None,
        *,
        seed: int = SEED,
        count: int = DEFAULT_COUNT,
        force: bool = False,
    ) -> bool:
        """Create the schema and fill it with generated data unless already filled.

        Returns True when data was generated. `force` empties an existing store first.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            for step in migrate(conn):
                log.info("store.migrated %s", step)
            conn.executescript(LATE_INDEXES)
        finally:
            conn.close()
        today = today or datetime.now(CHINA_TZ).date()
        with self._use() as conn:
            filled = conn.execute("SELECT value FROM meta WHERE key = 'generated'").fetchone()
        if filled and not force:
            self._check_pepper()
            self._upgrade_legacy_id_hashes()
            with self._tx() as conn:
                # a store made before the outages table existed gets its demo outages now
                if conn.execute("SELECT COUNT(*) FROM outages").fetchone()[0] == 0:
                    insert_outages(conn, generate_outages(today))
            return False
        records = generate(self.catalog.plans, today, seed=seed, count=count)
        hashes = id_hashes(records, self._pepper, self._id_hash_cost)  # slow: outside the lock
        with self._tx() as conn:
            again = conn.execute("SELECT value FROM meta WHERE key = 'generated'").fetchone()
            if again and not force:  # another process filled it meanwhile
                return False
            for table in DATA_TABLES:
                conn.execute(f"DELETE FROM {table}")  # fixed names from schema.py
            insert_records(conn, records, hashes)
            insert_outages(conn, generate_outages(today))
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('generated', ?)",
                (json.dumps({"seed": seed, "count": count, "today": today.isoformat()}),),
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('id_pepper_check', ?)",
                (self._pepper_check(),),
            )
        log.info("store.initialised subscribers=%d", len(records))
        return True

    def _pepper_check(self) -> str:
        """A value that tells whether the pepper is the one the ID hashes were made with (an
        HMAC output: it reveals nothing about the pepper)."""
        return hmac.new(self._pepper.encode(), b"id-pepper-check", hashlib.sha256).hexdigest()

    def _check_pepper(self) -> None:
        """Refuse a pepper other than the store's: every ID check would fail. A store from
        before the pepper gets this one."""
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'id_pepper_check'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('id_pepper_check', ?)",
                    (self._pepper_check(),),
                )
            elif not hmac.compare_digest(row["value"], self._pepper_check()):
                raise StoreError(
                    f"ASSISTANT_ID_PEPPER is not the one {self.path} was made with: restore it "
                    "(or regenerate demo data: python -m actions.store init --force)"
                )

    def _upgrade_legacy_id_hashes(self) -> None:
        """Wrap the unpeppered PBKDF2 ID hashes of an older store in the peppered scrypt."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT phone, id_hash, id6_hash FROM subscribers"
                " WHERE id_hash LIKE 'pbkdf2%' OR id6_hash LIKE 'pbkdf2%'"
            ).fetchall()
        if not rows:
            return
        old = [value for r in rows for value in (r["id_hash"], r["id6_hash"])]
        new = parallel(
            lambda value: (
                hashing.upgrade_legacy(value, self._pepper, self._id_hash_cost)
                if hashing.is_legacy(value)
                else value
            ),
            old,
        )
        with self._tx() as conn:
            conn.executemany(
                "UPDATE subscribers SET id_hash = ?, id6_hash = ?"
                " WHERE phone = ? AND id_hash = ? AND id6_hash = ?",
                [
                    (new[2 * i], new[2 * i + 1], r["phone"], r["id_hash"], r["id6_hash"])
                    for i, r in enumerate(rows)
                ],
            )
        log.info("store.migrated id hashes: %d subscribers wrapped in peppered scrypt", len(rows))

    # ------------------------------------------------------------------ subscribers

    def get_subscriber(self, phone: str, today: date | None = None) -> Subscriber | None:
        """The subscriber; with `today`, after applying a plan change due by then."""
        with self._use() as conn:
            row = conn.execute("SELECT * FROM subscribers WHERE phone = ?", (phone,)).fetchone()
        if row and today and plan_changes.is_due(row["pending_effective"], today):
            self.apply_due_plan_changes(today, phone=phone)
            return self.get_subscriber(phone)
        return _subscriber(row) if row else None

    def count_subscribers(self) -> int:
        with self._use() as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
        return count

    # ------------------------------------------------------------------ identity

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
            return privacy.decision(conn, phone, conversation, client, now, limits or Limits()).lock

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
            privacy.record_attempt(conn, phone, success, now, conversation, client)
            state = privacy.number_state(conn, phone, now)
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
            before = privacy.decision(conn, phone, conversation, client, now, limits)
            if before.lock:
                state = privacy.number_state(conn, phone, now)
                return VerificationResult(
                    False, state.failures, before.lock.until, before.lock.scope, remaining=0
                )
            row = conn.execute(
                "SELECT id_hash, id6_hash FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
            ok = self._identity_matches(row, id_last6, id_number)
            privacy.record_attempt(conn, phone, ok, now, conversation, client)
            state = privacy.number_state(conn, phone, now)
            after = privacy.decision(conn, phone, conversation, client, now, limits)
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

    # ------------------------------------------------------------------ logins and consent

    def claim_login_nonce(
        self, nonce: str, conversation: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Remember a signed login's nonce until `expires_at`; False when it was used before
        (in this conversation or another): a login is accepted once."""
        with self._tx() as conn:
            return privacy.claim_nonce(conn, nonce, conversation, now, expires_at)

    def record_consent(
        self, conversation: str, notice_version: str, now: datetime, purpose: str = "verification"
    ) -> bool:
        """Record that the customer went on after the privacy notice; False if already so."""
        with self._tx() as conn:
            return privacy.record_consent(conn, conversation, notice_version, purpose, now)

    def consents(self, conversation: str) -> list[Consent]:
        with self._use() as conn:
            return privacy.consents(conn, conversation)

    def purge(self, now: datetime, retention: Retention) -> dict[str, int]:
        """Delete every record older than its retention; rows deleted per table."""
        with self._tx() as conn:
            deleted = privacy.purge(conn, now, retention)
        log.info("store.purged %s", " ".join(f"{k}={v}" for k, v in deleted.items()))
        return deleted

    # ------------------------------------------------------------------ catalogue

    def get_plan(self, code: str) -> Plan | None:
        return self.catalog.plan(code)

    def list_plans(self) -> list[Plan]:
        return list(self.catalog.plans)

    def find_destination(self, text: str) -> Destination | None:
        return self.catalog.find_destination(text)

    def expand_group(self, text: str) -> list[Destination]:
        return self.catalog.expand_group(text)

    def roaming_offers(self, destination_code: str) -> RoamingTariff:
        """The tariff of the destination's zone; NoSuchDestination for an unknown code."""
        tariff = self.catalog.tariff_for(destination_code or "")
        if tariff is None:
            raise NoSuchDestination("unknown destination code")
        return tariff

    # ------------------------------------------------------------------ bills and usage

    def get_bills(self, phone: str, months: int = 6) -> list[Bill]:
        """Newest first; [] for an unknown number."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT month, total, paid FROM bills WHERE phone = ? ORDER BY month DESC LIMIT ?",
                (phone, max(int(months), 0)),
            ).fetchall()
            return [self._bill(conn, phone, r) for r in rows]

    def get_bill(self, phone: str, month: str) -> Bill | None:
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT month, total, paid FROM bills WHERE phone = ? AND month = ?", (phone, month)
            ).fetchone()
            return self._bill(conn, phone, row) if row else None

    @staticmethod
    def _bill(conn: sqlite3.Connection, phone: str, row: sqlite3.Row) -> Bill:
        items = conn.execute(
            "SELECT name, amount FROM bill_items WHERE phone = ? AND month = ? ORDER BY position",
            (phone, row["month"]),
        ).fetchall()
        return Bill(
            month=row["month"],
            total=row["total"],
            items=tuple(BillItem(i["name"], i["amount"]) for i in items),
            paid=bool(row["paid"]),
        )

    def month_to_date(self, phone: str, today: date) -> Charges:
        """This month's charges so far; NoSuchSubscriber for an unknown number."""
        self._apply_if_due(phone, today)
        month = month_key(today.year, today.month)
        with self._tx(write=False) as conn:
            sub = conn.execute(
                "SELECT plan_code FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
            if sub is None:
                raise NoSuchSubscriber("no such subscriber")
            rows = conn.execute(
                "SELECT name, amount FROM charges WHERE phone = ? AND month = ? ORDER BY position",
                (phone, month),
            ).fetchall()
        if rows:
            items = tuple(BillItem(r["name"], r["amount"]) for r in rows)
        else:  # a new month since the data was generated: only the monthly fee so far
            plan = self.get_plan(sub["plan_code"])
            items = (BillItem("月租", plan.monthly_fee if plan else 0),)
        return Charges(month=month, total=sum(i.amount for i in items), items=items)

    def get_usage(self, phone: str, today: date) -> list[Package]:
        """Packages of the current month; counters start at 0 in a month with no data yet."""
        self._apply_if_due(phone, today)
        month = month_key(today.year, today.month)
        reset = next_month_first(today)
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM packages WHERE phone = ? ORDER BY position", (phone,)
            ).fetchall()
        return [
            Package(
                name=r["name"],
                kind=r["kind"],
                used=r["used"] if r["month"] == month else 0,
                total=r["total"],
                unit=r["unit"],
                reset_date=reset,
            )
            for r in rows
        ]

    def usage_history(self, phone: str, months: int = 6) -> list[MonthlyUsage]:
        """Monthly data, voice and SMS use, newest first (for plan recommendations)."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT month, data_mb, voice_min, sms FROM usage_history WHERE phone = ?"
                " ORDER BY month DESC LIMIT ?",
                (phone, max(int(months), 0)),
            ).fetchall()
        return [MonthlyUsage(r["month"], r["data_mb"], r["voice_min"], r["sms"]) for r in rows]

    # ------------------------------------------------------------------ changes

    def change_plan(
        self, phone: str, plan_code: str, effective: date, now: datetime | None = None
    ) -> PlanChange:
        """Schedule a plan change for `effective`; replaces an earlier scheduled change.

        Raises NoSuchSubscriber, NoSuchPlan, or SamePlan (already the plan, or already scheduled).
        """
        now = now or utcnow()
        plan = self.get_plan(plan_code)
        if plan is None:
            raise NoSuchPlan("unknown plan code")
        with self._tx() as conn:
            # a change already due is applied first: a new booking must not supersede it
            plan_changes.apply_due(conn, self.catalog, now.astimezone(CHINA_TZ).date(), now, phone)
            row = conn.execute(
                "SELECT plan_code, pending_plan_code FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
            if row is None:
                raise NoSuchSubscriber("no such subscriber")
            if plan_code in (row["plan_code"], row["pending_plan_code"]):
                raise SamePlan("already the current or scheduled plan")
            change = plan_changes.schedule(conn, phone, row["plan_code"], plan, effective, now)
        log.info("store.plan_change.scheduled phone=%s to=%s", mask.phone(phone), plan_code)
        return change

    def apply_due_plan_changes(
        self, today: date, now: datetime | None = None, phone: str | None = None
    ) -> list[PlanChange]:
        """Apply, in one transaction, every scheduled change effective by `today` (only
        `phone`'s when given): the plan, its monthly packages, and an SMS."""
        with self._tx() as conn:
            return plan_changes.apply_due(conn, self.catalog, today, now or utcnow(), phone)

    def _apply_if_due(self, phone: str, today: date) -> None:
        """Apply `phone`'s scheduled change when its date has come (a read when it has not)."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT pending_effective FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
        if row and plan_changes.is_due(row["pending_effective"], today):
            self.apply_due_plan_changes(today, phone=phone)

    def set_roaming(self, phone: str, active: bool, now: datetime) -> None:
        """Turn international roaming on or off (no-op if already so, nothing recorded then).

        Raises NoSuchSubscriber, or AccountSuspended when activating a line suspended for arrears.
        """
        with self._tx() as conn:
            row = conn.execute(
                "SELECT status, roaming_active FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
            if row is None:
                raise NoSuchSubscriber("no such subscriber")
            if bool(row["roaming_active"]) == active:
                return
            if active and row["status"] == "suspended":
                raise AccountSuspended("line suspended for arrears")
            conn.execute(
                "UPDATE subscribers SET roaming_active = ? WHERE phone = ?", (int(active), phone)
            )
            conn.execute(
                "INSERT INTO roaming_events (phone, active, at) VALUES (?, ?, ?)",
                (phone, int(active), to_ts(now)),
            )
            text = "已开通国际漫游，出境后按目的地资费计费。" if active else "已关闭国际漫游。"
            queue_sms(conn, phone, "roaming", f"【客服通知】您的号码{text}", now)
        log.info("store.roaming.%s phone=%s", "on" if active else "off", mask.phone(phone))

    def reset_password(self, phone: str, now: datetime) -> None:
        """A new 6-digit temporary password: stored only as a scrypt hash; its SMS goes to the
        SMS gateway and into the outbox with the password redacted, in the same transaction.

        The password is returned to nobody, never logged and never stored readable.
        Raises NoSuchSubscriber.
        """
        password = f"{secrets.randbelow(10**6):06d}"
        hashed = hash_password(password)
        with self._tx() as conn:
            updated = conn.execute(
                "UPDATE subscribers SET password_hash = ?, password_changed_at = ? WHERE phone = ?",
                (hashed, to_ts(now), phone),
            ).rowcount
            if not updated:
                raise NoSuchSubscriber("no such subscriber")
            queue_sms(conn, phone, "password_reset", _password_sms("******"), now)
            if self._sms_gateway is not None:  # a failed delivery rolls the reset back
                self._sms_gateway(phone, "password_reset", _password_sms(password))
        del password
        log.info("store.password.reset phone=%s", mask.phone(phone))

    def check_password(self, phone: str, password: str) -> bool:
        with self._use() as conn:
            row = conn.execute(
                "SELECT password_hash FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
        return bool(row) and verify_secret(password, row["password_hash"])

    # ------------------------------------------------------------------ SMS

    def outbox(self, phone: str) -> list[Sms]:
        """SMS sent to `phone`, newest first."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM sms_outbox WHERE phone = ? ORDER BY id DESC", (phone,)
            ).fetchall()
        return [
            Sms(id=r["id"], phone=r["phone"], created_at=from_ts(r["created_at"]), kind=r["kind"],
                body=r["body"])
            for r in rows
        ]  # fmt: skip

    # ------------------------------------------------------------------ tickets

    def create_ticket(
        self,
        kind: str,
        category: str,
        description: str,
        phone: str | None,
        now: datetime,
        severity: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Ticket:
        """Record a complaint, fault report or callback request, and SMS its number.

        The text is cleaned as `tickets.clean` says; a `phone` that is not a mobile number is
        treated as anonymous. Raises InvalidInput for an unknown kind or severity.
        """
        if kind not in TICKET_KINDS:
            raise InvalidInput("unknown ticket kind")
        if severity is not None and severity not in tickets.SEVERITIES:
            raise InvalidInput("unknown severity")
        text = tickets.clean(category, description, phone, default_category="other")
        safe_extra = tickets.escape_extra(extra or {})
        with self._tx() as conn:
            ticket = tickets.insert(conn, kind, text, now, severity=severity, extra=safe_extra)
            if text.phone:
                queue_sms(
                    conn, text.phone, "ticket",
                    f"【客服通知】您的工单{ticket.id}已受理，我们会尽快处理并告知结果。", now,
                )  # fmt: skip
        log.info(
            "store.ticket.created ticket=%s kind=%s customer=%s", ticket.id, kind, text.customer
        )
        return ticket

    def get_tickets(self, phone: str) -> list[Ticket]:
        """Tickets of `phone`, newest first."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT * FROM tickets WHERE phone = ? ORDER BY seq DESC", (phone,)
            ).fetchall()
        return [tickets.ticket_from_row(r) for r in rows]

    # ------------------------------------------------------------------ outages

    def open_outage(
        self, city: str | None, district: str, service: str, now: datetime
    ) -> Outage | None:
        """The open outage of `service` covering `district` (in `city`; any city when None)
        that had started by `now`, the one expected back soonest; None when there is none."""
        if not district or service not in OUTAGE_SERVICES:
            return None
        sql = (
            "SELECT * FROM outages WHERE district = ? AND service = ? AND status = 'open'"
            " AND started_at <= ?"
        )
        params: list[str] = [district, service, to_ts(now)]
        if city:
            sql += " AND city = ?"
            params.append(city)
        sql += " ORDER BY expected_restore_at IS NULL, expected_restore_at, id LIMIT 1"
        with self._use() as conn:
            row = conn.execute(sql, params).fetchone()
        return tickets.outage_from_row(row) if row else None

    def attach_outage_report(
        self,
        outage_id: str,
        description: str,
        phone: str | None,
        now: datetime,
        *,
        category: str = "network",
        extra: dict[str, Any] | None = None,
    ) -> Ticket:
        """Record a fault report against a known open outage instead of opening a new case: a
        `fault` ticket with status `attached` and `extra.outage_id`, plus its SMS, in one
        transaction that also checks the outage is still open (else NoSuchOutage). `extra` also
        gets the outage's `service`, `area` (district) and `expected_restore_at` (ISO, or None)."""
        text = tickets.clean(category, description, phone, default_category="network")
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM outages WHERE id = ? AND status = 'open'", (outage_id,)
            ).fetchone()
            if row is None:
                raise NoSuchOutage("no open outage with that id")
            outage = tickets.outage_from_row(row)
            restore_at = outage.expected_restore_at
            safe_extra = tickets.escape_extra(
                {
                    **(extra or {}),
                    "outage_id": outage.id,
                    "service": outage.service,
                    "area": outage.district,
                    "expected_restore_at": restore_at.isoformat() if restore_at else None,
                }
            )
            ticket = tickets.insert(conn, "fault", text, now, status="attached", extra=safe_extra)
            if text.phone:
                restore = (
                    restore_at.astimezone(CHINA_TZ).strftime("%m月%d日%H:%M")
                    if restore_at
                    else "尽快"
                )
                queue_sms(
                    conn, text.phone, "ticket",
                    f"【客服通知】您的报修{ticket.id}已关联到{outage.district}已知故障，"
                    f"预计{restore}恢复。恢复后如仍有问题请再联系我们。", now,
                )  # fmt: skip
        log.info(
            "store.outage.report ticket=%s outage=%s customer=%s",
            ticket.id,
            outage.id,
            text.customer,
        )
        return ticket

    def close_outage(self, outage_id: str, now: datetime) -> None:
        """Mark an open outage closed (restored); NoSuchOutage when it is not open."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE outages SET status = 'closed', closed_at = ?"
                " WHERE id = ? AND status = 'open'",
                (to_ts(now), outage_id),
            )
            if cur.rowcount != 1:
                raise NoSuchOutage("no open outage with that id")


def _subscriber(row: sqlite3.Row) -> Subscriber:
    return Subscriber(
        phone=row["phone"],
        name=row["name"],
        tier=row["tier"],
        plan_code=row["plan_code"],
        balance=row["balance"],
        status=row["status"],
        roaming_active=bool(row["roaming_active"]),
        city=row["city"],
        district=row["district"],
        pending_plan_code=row["pending_plan_code"],
        pending_effective=(
            date.fromisoformat(row["pending_effective"]) if row["pending_effective"] else None
        ),
    )


def _password_sms(password: str) -> str:
    return (
        f"【客服通知】您的服务密码已重置，临时密码为{password}，请尽快登录修改。"
        "如非本人操作，请立即联系客服。"
    )
