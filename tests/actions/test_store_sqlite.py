from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from actions.settings import load_settings
from actions.store import open_store
from actions.store.base import (
    AccountSuspended,
    NoSuchDestination,
    NoSuchPlan,
    NoSuchSubscriber,
    SamePlan,
)
from actions.store.generate import DEMO_SUBSCRIBERS, generate
from actions.store.sqlite import SQLiteStore
from actions.verification import Lock
from telecom.catalog import load_catalog
from telecom.secrets import new_secret
from tests.actions.secrets_support import PEPPER
from tests.actions.store_support import snapshot

DEMO = {d.plan_code: d for d in DEMO_SUBSCRIBERS}
NORMAL = DEMO_SUBSCRIBERS[0]
ARREARS = DEMO_SUBSCRIBERS[1]
NEAR_EMPTY = DEMO_SUBSCRIBERS[2]
ROAMING = DEMO_SUBSCRIBERS[3]


def test_subscriber(store):
    sub = store.get_subscriber(NORMAL.phone)
    assert sub.name == NORMAL.name and sub.plan_code == NORMAL.plan_code
    assert sub.tier in ("regular", "silver", "gold", "platinum")
    assert store.get_subscriber("13999999999") is None
    assert store.get_subscriber("'; DROP TABLE subscribers; --") is None
    assert store.count_subscribers() == 30


def test_demo_scenarios_are_in_the_store(store, today):
    assert store.get_subscriber(ARREARS.phone).balance < 0
    assert store.get_subscriber(ROAMING.phone).roaming_active
    data = [p for p in store.get_usage(NEAR_EMPTY.phone, today) if p.kind == "data"]
    assert data[0].used_ratio > 0.9


def test_check_identity(store):
    assert store.check_identity(NORMAL.phone, id_last6=NORMAL.id_last6)
    assert store.check_identity(NORMAL.phone, id_number=NORMAL.id_number)
    assert store.check_identity(NORMAL.phone, id_number=NORMAL.id_number.lower())
    assert not store.check_identity(NORMAL.phone, id_last6="000000")
    assert not store.check_identity(NORMAL.phone, id_number=ARREARS.id_number)
    assert not store.check_identity(NORMAL.phone)
    assert not store.check_identity("13999999999", id_last6=NORMAL.id_last6)


def test_id_numbers_are_never_stored_in_plain(store):
    raw = store.path.read_bytes()
    for demo in DEMO_SUBSCRIBERS:
        assert demo.id_number.encode() not in raw
    conn = sqlite3.connect(store.path)
    rows = conn.execute("SELECT id_hash, id6_hash FROM subscribers").fetchall()
    conn.close()
    assert all(h.startswith("scrypt-pepper$") and s.startswith("scrypt-pepper$") for h, s in rows)
    assert len({s for _, s in rows}) == len(rows)  # salted: equal inputs would still differ


def test_the_id_hashes_need_the_pepper(store, catalog_root):
    """A copy of the database without the pepper cannot check a guess: another pepper is
    refused at start, and the hashes do not verify under it."""
    from actions.store import hashing
    from actions.store.base import StoreError

    other = SQLiteStore(store.path, catalog_root, id_pepper=new_secret(), id_hash_cost=16)
    with pytest.raises(StoreError, match="ASSISTANT_ID_PEPPER"):
        other.initialise()
    assert not other.check_identity(NORMAL.phone, id_last6=NORMAL.id_last6)
    (stored,) = (
        sqlite3.connect(store.path)
        .execute("SELECT id6_hash FROM subscribers WHERE phone = ?", (NORMAL.phone,))
        .fetchone()
    )
    assert hashing.verify_id(NORMAL.id_last6, stored, PEPPER)
    assert not hashing.verify_id(NORMAL.id_last6, stored, "")


def test_verification_lockout_in_the_store(store, now):
    phone = NORMAL.phone
    for expected in range(1, 5):
        assert store.record_verification_attempt(phone, False, now) == expected
        assert store.verification_lock(phone, now) is None
    assert store.record_verification_attempt(phone, False, now) == 5
    assert store.verification_lock(phone, now) == Lock("number", now + timedelta(minutes=30))
    assert store.verification_lock(phone, now + timedelta(minutes=30)) is None
    assert store.record_verification_attempt(phone, True, now + timedelta(minutes=31)) == 0


def test_verify_identity_refuses_while_locked(store, now):
    phone = NORMAL.phone
    for i in range(5):
        result = store.verify_identity(phone, now + timedelta(seconds=i), id_last6="000000")
        assert not result.ok
    assert result.failures == 5 and result.locked_until
    locked = store.verify_identity(phone, now + timedelta(minutes=1), id_last6=NORMAL.id_last6)
    assert not locked.ok and locked.locked_until == result.locked_until
    assert locked.lock_scope == "number" and locked.remaining == 0
    later = now + timedelta(minutes=31)
    assert store.verify_identity(phone, later, id_last6=NORMAL.id_last6).ok


def test_success_resets_failures(store, now):
    phone = NORMAL.phone
    for i in range(4):
        store.verify_identity(phone, now + timedelta(seconds=i), id_last6="000000")
    ok = store.verify_identity(phone, now + timedelta(seconds=5), id_number=NORMAL.id_number)
    assert ok.ok and ok.failures == 0
    again = store.verify_identity(phone, now + timedelta(seconds=6), id_last6="000000")
    assert again.failures == 1 and again.locked_until is None


def test_bills(store, today):
    bills = store.get_bills(NORMAL.phone)
    assert [b.month for b in bills] == [
        "2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05"
    ]  # fmt: skip
    for bill in bills:
        assert bill.total == sum(i.amount for i in bill.items)
        assert bill.items[0].name == "月租"
    assert store.get_bill(NORMAL.phone, "2026-10") == bills[0]
    assert store.get_bill(NORMAL.phone, "2020-01") is None
    assert len(store.get_bills(NORMAL.phone, months=2)) == 2
    assert store.get_bills("13999999999") == []
    assert not store.get_bills(ARREARS.phone)[0].paid


def test_month_to_date(store, today):
    charges = store.month_to_date(NORMAL.phone, today)
    assert charges.month == "2026-11" and charges.total == sum(i.amount for i in charges.items)
    next_month = store.month_to_date(NORMAL.phone, date(2026, 12, 2))
    assert next_month.month == "2026-12" and [i.name for i in next_month.items] == ["月租"]
    with pytest.raises(NoSuchSubscriber):
        store.month_to_date("13999999999", today)


def test_usage_resets_on_the_first(store, today):
    packages = store.get_usage(NORMAL.phone, today)
    assert {p.kind for p in packages} >= {"data", "voice"}
    assert all(p.reset_date == date(2026, 12, 1) for p in packages)
    december = store.get_usage(NORMAL.phone, date(2026, 12, 3))
    assert all(p.used == 0 and p.reset_date == date(2027, 1, 1) for p in december)


def test_usage_history(store):
    history = store.usage_history(NORMAL.phone)
    assert len(history) == 6 and history[0].month == "2026-10"


def test_change_plan(store, now):
    target = "5G_PLUS_129"
    change = store.change_plan(NORMAL.phone, target, date(2026, 12, 1), now)
    assert change.from_plan == NORMAL.plan_code and change.to_plan == target
    sub = store.get_subscriber(NORMAL.phone)
    assert sub.plan_code == NORMAL.plan_code  # the current plan runs to the end of the month
    assert sub.pending_plan_code == target and sub.pending_effective == date(2026, 12, 1)
    assert store.outbox(NORMAL.phone)[0].kind == "plan_change"
    with pytest.raises(SamePlan):
        store.change_plan(NORMAL.phone, target, date(2026, 12, 1), now)
    second = store.change_plan(NORMAL.phone, "5G_DATA_99", date(2026, 12, 1), now)
    assert second.id != change.id
    assert store.get_subscriber(NORMAL.phone).pending_plan_code == "5G_DATA_99"


@pytest.mark.parametrize(
    ("phone", "plan", "error"),
    [
        ("13999999999", "5G_PLUS_129", NoSuchSubscriber),
        (NORMAL.phone, "NO_SUCH_PLAN", NoSuchPlan),
        (NORMAL.phone, NORMAL.plan_code, SamePlan),
    ],
)
def test_change_plan_errors_change_nothing(store, now, phone, plan, error):
    before = snapshot(store)
    with pytest.raises(error):
        store.change_plan(phone, plan, date(2026, 12, 1), now)
    assert snapshot(store) == before


def test_plan_change_failing_half_way_leaves_nothing(store, now, monkeypatch):
    before = snapshot(store)

    def fail(*args, **kwargs):
        raise RuntimeError("SMS gateway down")

    # the SMS is queued after the plan_changes insert and the subscriber update.
    monkeypatch.setattr("actions.store.plan_changes.queue_sms", fail)
    with pytest.raises(RuntimeError):
        store.change_plan(NORMAL.phone, "5G_PLUS_129", date(2026, 12, 1), now)
    assert snapshot(store) == before
    assert store.get_subscriber(NORMAL.phone).pending_plan_code is None


def test_roaming(store, now):
    store.set_roaming(NORMAL.phone, True, now)
    assert store.get_subscriber(NORMAL.phone).roaming_active
    store.set_roaming(NORMAL.phone, False, now)
    assert not store.get_subscriber(NORMAL.phone).roaming_active
    assert [s.kind for s in store.outbox(NORMAL.phone)] == ["roaming", "roaming"]
    with pytest.raises(NoSuchSubscriber):
        store.set_roaming("13999999999", True, now)


def test_roaming_refused_for_a_suspended_line(make_store, now):
    store = make_store(count=200)
    conn = sqlite3.connect(store.path)
    phone = conn.execute(
        "SELECT phone FROM subscribers WHERE status = 'suspended' AND roaming_active = 0"
    ).fetchone()[0]
    conn.close()
    with pytest.raises(AccountSuspended):
        store.set_roaming(phone, True, now)
    assert not store.get_subscriber(phone).roaming_active


def test_roaming_offers(store):
    destination = store.find_destination("东京")
    assert destination.code == "JP"
    tariff = store.roaming_offers(destination.code)
    assert tariff.zone == destination.zone and tariff.packages
    assert [d.code for d in store.expand_group("新马泰")] == ["SG", "MY", "TH"]
    assert store.find_destination("火星") is None
    with pytest.raises(NoSuchDestination):
        store.roaming_offers("XX")


def test_reset_password_sends_one_sms_and_stores_nothing_readable(make_store, now, caplog):
    caplog.set_level("DEBUG")
    sent = []
    store = make_store(sms_gateway=lambda phone, kind, body: sent.append((phone, kind, body)))
    phone = DEMO_SUBSCRIBERS[-1].phone
    assert store.reset_password(phone, now) is None
    [(to, kind, body)] = sent
    assert (to, kind) == (phone, "password_reset")
    password = next(w for w in _digit_runs(body) if len(w) == 6)
    messages = store.outbox(phone)
    assert [m.kind for m in messages] == ["password_reset"]
    assert "临时密码为******" in messages[0].body and password not in messages[0].body
    assert password not in caplog.text
    assert store.check_password(phone, password)
    assert not store.check_password(phone, "000000" if password != "000000" else "111111")
    assert password.encode() not in _password_column(store, phone)
    assert _nowhere_in_the_file(store, password)
    store.reset_password(phone, now + timedelta(minutes=1))
    new_password = next(w for w in _digit_runs(sent[-1][2]) if len(w) == 6)
    assert store.check_password(phone, new_password)
    assert new_password == password or not store.check_password(phone, password)
    assert _nowhere_in_the_file(store, new_password)
    with pytest.raises(NoSuchSubscriber):
        store.reset_password("13999999999", now)


def test_reset_password_without_an_sms_gateway_keeps_only_the_redacted_text(store, now):
    phone = DEMO_SUBSCRIBERS[-1].phone
    store.reset_password(phone, now)
    [sms] = store.outbox(phone)
    assert "******" in sms.body and not [w for w in _digit_runs(sms.body) if len(w) == 6]


def test_a_failed_sms_delivery_rolls_the_reset_back(make_store, now):
    def broken(phone, kind, body):
        raise OSError("SMS gateway down")

    store = make_store(sms_gateway=broken)
    phone = DEMO_SUBSCRIBERS[-1].phone
    with pytest.raises(OSError):
        store.reset_password(phone, now)
    assert store.outbox(phone) == [] and _password_column_value(store, phone) is None


def _nowhere_in_the_file(store: SQLiteStore, password: str) -> bool:
    """The password as the SMS gives it is in no page of the database, its WAL or journal (a
    bare 6-digit run could occur by chance in phone numbers or hashes)."""
    import glob

    needle = f"临时密码为{password}".encode()
    for path in glob.glob(f"{store.path}*"):
        with open(path, "rb") as handle:
            if needle in handle.read():
                return False
    return True


def _password_column_value(store: SQLiteStore, phone: str):
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(
            "SELECT password_hash FROM subscribers WHERE phone = ?", (phone,)
        ).fetchone()[0]
    finally:
        conn.close()


def _digit_runs(text: str) -> list[str]:
    import re

    return re.findall(r"\d+", text)


def _password_column(store: SQLiteStore, phone: str) -> bytes:
    conn = sqlite3.connect(store.path)
    value = conn.execute(
        "SELECT password_hash FROM subscribers WHERE phone = ?", (phone,)
    ).fetchone()
    conn.close()
    assert value[0].startswith("scrypt$")
    return value[0].encode()


def test_list_and_get_plans(store):
    codes = [p.code for p in store.list_plans()]
    assert "SENIOR_9" in codes and store.get_plan("SENIOR_9").monthly_fee == 900
    assert store.get_plan("nope") is None


def test_initialise_is_idempotent_and_force_regenerates(store, today):
    assert store.initialise(today, count=30) is False
    assert store.initialise(today, count=40, force=True) is True
    assert store.count_subscribers() == 40


def test_open_store_creates_and_fills_on_first_use(tmp_path, catalog_root, monkeypatch):
    monkeypatch.setattr("actions.store.hashing.ID_SCRYPT_N", 16)  # speed, not coverage
    env = {
        "ASSISTANT_DB_PATH": str(tmp_path / "var" / "s.sqlite3"),
        "ASSISTANT_IDENTITY_SECRET": new_secret(),
        "ASSISTANT_ID_PEPPER": PEPPER,
    }
    settings = load_settings(env, repo_root=catalog_root)  # fmt: skip
    store = open_store(settings)
    expected = len(generate(load_catalog(catalog_root).plans, date.today()))
    assert store.count_subscribers() == expected >= 500
    assert open_store(settings).count_subscribers() == expected


def test_each_thread_keeps_one_connection(store):
    import threading

    first = store._kept()
    store.get_subscriber(DEMO_SUBSCRIBERS[0].phone)
    store.get_bills(DEMO_SUBSCRIBERS[0].phone)
    assert store._kept() is first
    other = []
    thread = threading.Thread(target=lambda: other.append(store._kept()))
    thread.start()
    thread.join()
    assert other[0] is not first


def test_a_call_inside_a_transaction_sees_only_committed_data(store):
    phone = DEMO_SUBSCRIBERS[0].phone
    before = store.get_subscriber(phone).balance
    with store._tx() as conn:
        conn.execute("UPDATE subscribers SET balance = balance + 100 WHERE phone = ?", (phone,))
        assert store.get_subscriber(phone).balance == before  # not yet committed
    assert store.get_subscriber(phone).balance == before + 100


def test_a_connection_left_in_a_transaction_is_not_reused(store):
    with store._use() as conn:
        assert conn is store._kept()
        conn.execute("BEGIN")  # as if COMMIT had failed
    assert store._kept() is not conn
    store.get_subscriber(DEMO_SUBSCRIBERS[0].phone)  # works on the new one
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")  # closed
