"""SQLiteStore: the default subscriber store, one SQLite file.

Each thread of the action server keeps one connection; each public method runs on it.
Every change runs inside one BEGIN IMMEDIATE … COMMIT; any exception rolls all of it back.
ID numbers are kept only as peppered scrypt hashes (full number and last six; hashing.py),
passwords as scrypt hashes; a temporary password is never stored readable (the outbox keeps its
SMS with the password redacted; the SMS gateway, when one is configured, gets the full text).

The store is made of parts, each a class with the SQL it runs beside it: connections and
transactions (connection.py); identity checks, verification attempts, used login nonces and
consents, with the purge of everything past its retention (privacy.py); plan changes
(plan_changes.py); tickets and outages, whose text is escaped and the customer's number masked
(tickets.py); working tickets through their lifecycle (ticket_steps.py, lifecycle.py); the
ticket service's notices, watcher alerts and outage work (ticket_notices.py, ticket_alerts.py,
outage_work.py). This
module adds creation, subscribers, the catalogue, bills and usage, roaming, passwords and the SMS
outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
from datetime import date, datetime

from actions.store import hashing
from actions.store.base import (
    AccountSuspended,
    Bill,
    BillItem,
    Charges,
    MonthlyUsage,
    NoSuchDestination,
    NoSuchSubscriber,
    Package,
    Sms,
    StoreError,
    Subscriber,
)
from actions.store.fill import id_hashes, insert_outages, insert_records, parallel
from actions.store.generate import DEFAULT_COUNT, SEED, generate, generate_outages
from actions.store.hashing import hash_password, verify_secret
from actions.store.outage_work import OutageWorkMethods
from actions.store.plan_changes import PlanChangeMethods, is_due
from actions.store.privacy import PrivacyMethods
from actions.store.rows import from_row, from_ts, queue_sms, to_ts
from actions.store.schema import DATA_TABLES, LATE_INDEXES, SCHEMA, migrate
from actions.store.ticket_alerts import TicketAlertMethods
from actions.store.ticket_notices import TicketNoticeMethods
from actions.store.ticket_steps import TicketStepMethods
from actions.store.tickets import TicketMethods
from telecom import mask
from telecom.catalog import Destination, Plan, RoamingTariff
from telecom.dates import CHINA_TZ, month_key, next_month_first

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)


class SQLiteStore(
    PrivacyMethods,
    PlanChangeMethods,
    TicketMethods,
    TicketStepMethods,
    TicketNoticeMethods,
    TicketAlertMethods,
    OutageWorkMethods,
):
    """The SubscriberStore on one SQLite file; catalogues are read from `catalog_root`.
    Constructed as `SQLiteBase` (connection.py) says."""

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
        if row and today and is_due(row["pending_effective"], today):
            self.apply_due_plan_changes(today, phone=phone)
            return self.get_subscriber(phone)
        return _subscriber(row) if row else None

    def count_subscribers(self) -> int:
        with self._use() as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
        return count

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
        return [from_row(Sms, r, created_at=from_ts(r["created_at"])) for r in rows]


def _subscriber(row: sqlite3.Row) -> Subscriber:
    effective = row["pending_effective"]
    return from_row(
        Subscriber,
        row,
        roaming_active=bool(row["roaming_active"]),
        pending_effective=date.fromisoformat(effective) if effective else None,
    )


def _password_sms(password: str) -> str:
    return (
        f"【客服通知】您的服务密码已重置，临时密码为{password}，请尽快登录修改。"
        "如非本人操作，请立即联系客服。"
    )
