"""Scheduled plan changes are applied on their effective date: plan, packages, SMS, history."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone

import pytest

from actions.plans import allowances
from actions.store.__main__ import main as store_cli
from actions.store.generate import DEMO_SUBSCRIBERS
from actions.store.plan_changes import is_due
from actions.store.schema import table_sql
from tests.actions.secrets_support import IDENTITY_SECRET, PEPPER
from tests.actions.store_support import rows, snapshot

NORMAL = DEMO_SUBSCRIBERS[0]  # 4G_STANDARD_39
TARGET = "5G_PLUS_129"
EFFECTIVE = date(2026, 12, 1)
DAY_BEFORE = date(2026, 11, 30)
LATER = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


def add_data_pack(store) -> None:
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute(
            "INSERT INTO packages (phone, position, month, name, kind, used, total, unit)"
            " VALUES (?, 99, '2026-11', '流量加油包10GB', 'data', 2048, 10240, 'MB')",
            (NORMAL.phone,),
        )
    conn.close()


@pytest.mark.parametrize(
    ("pending", "today", "due"),
    [
        (None, EFFECTIVE, False),
        ("", EFFECTIVE, False),
        ("2026-12-01", DAY_BEFORE, False),
        ("2026-12-01", EFFECTIVE, True),
        ("2026-12-01", date(2027, 3, 5), True),
    ],
)
def test_is_due(pending, today, due):
    assert is_due(pending, today) is due


def test_nothing_is_applied_before_the_effective_date(store, now):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    before = snapshot(store)
    assert store.apply_due_plan_changes(DAY_BEFORE, LATER) == []
    assert store.get_subscriber(NORMAL.phone, DAY_BEFORE).plan_code == NORMAL.plan_code
    assert snapshot(store) == before


def test_a_due_change_is_applied_once_with_packages_and_sms(store, now):
    store.change_plan(NORMAL.phone, "5G_DATA_99", EFFECTIVE, now)  # superseded below
    scheduled = store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    add_data_pack(store)

    (applied,) = store.apply_due_plan_changes(EFFECTIVE, LATER)
    assert (applied.id, applied.from_plan, applied.to_plan) == (
        scheduled.id,
        NORMAL.plan_code,
        TARGET,
    )
    assert (applied.effective, applied.status) == (EFFECTIVE, "applied")

    sub = store.get_subscriber(NORMAL.phone)
    assert (sub.plan_code, sub.pending_plan_code, sub.pending_effective) == (TARGET, None, None)
    statuses = rows(
        store, "SELECT to_plan, status FROM plan_changes WHERE phone = ? ORDER BY id", NORMAL.phone
    )
    assert statuses == [("5G_DATA_99", "superseded"), (TARGET, "applied")]

    plan = store.get_plan(TARGET)
    packages = store.get_usage(NORMAL.phone, EFFECTIVE)
    expected = [(a.name, a.kind, 0, a.total, a.unit) for a in allowances(plan)]
    assert [(p.name, p.kind, p.used, p.total, p.unit) for p in packages] == [
        *expected,
        ("流量加油包10GB", "data", 0, 10240, "MB"),  # the add-on is kept; a new month's counter
    ]
    sms = store.outbox(NORMAL.phone)[0]
    assert sms.kind == "plan_change"
    assert f"已于2026年12月01日变更为{plan.name}" in sms.body and "月租129.00元" in sms.body

    assert store.apply_due_plan_changes(date(2027, 1, 1), LATER) == []  # nothing twice
    assert len(store.outbox(NORMAL.phone)) == 3  # two bookings, one change


def test_reading_the_subscriber_applies_a_due_change(store, now):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    assert store.get_subscriber(NORMAL.phone).pending_plan_code == TARGET  # no date: untouched
    assert store.get_subscriber(NORMAL.phone, EFFECTIVE).plan_code == TARGET
    assert store.get_subscriber(NORMAL.phone).pending_plan_code is None


@pytest.mark.parametrize("read", ["usage", "month_to_date"])
def test_usage_and_charges_apply_a_due_change_first(store, now, read):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    plan = store.get_plan(TARGET)
    if read == "usage":
        data = store.get_usage(NORMAL.phone, EFFECTIVE)[0]
        assert (data.total, data.used) == (plan.data_mb, 0)
    else:  # no charges recorded for December yet: the new plan's fee so far
        assert store.month_to_date(NORMAL.phone, EFFECTIVE).total == plan.monthly_fee
    assert store.get_subscriber(NORMAL.phone).plan_code == TARGET


def test_only_the_given_number_is_applied(store, now):
    other = DEMO_SUBSCRIBERS[3]
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    store.change_plan(other.phone, "5G_DATA_99", EFFECTIVE, now)
    (applied,) = store.apply_due_plan_changes(EFFECTIVE, LATER, phone=NORMAL.phone)
    assert applied.phone == NORMAL.phone
    assert store.get_subscriber(other.phone).pending_plan_code == "5G_DATA_99"


def test_applying_fails_as_a_whole(store, now, monkeypatch):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    before = snapshot(store)

    def fail(*args, **kwargs):
        raise RuntimeError("SMS gateway down")

    # the SMS is queued after the plan, the change's status and the packages are written
    monkeypatch.setattr("actions.store.plan_changes.queue_sms", fail)
    with pytest.raises(RuntimeError):
        store.apply_due_plan_changes(EFFECTIVE, LATER)
    assert snapshot(store) == before


def test_a_plan_gone_from_the_catalogue_stays_scheduled(store, now, caplog):
    other = DEMO_SUBSCRIBERS[3]
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    store.change_plan(other.phone, "5G_DATA_99", EFFECTIVE, now)
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute(
            "UPDATE subscribers SET pending_plan_code = 'RETIRED_8' WHERE phone = ?",
            (NORMAL.phone,),
        )
    conn.close()
    (applied,) = store.apply_due_plan_changes(EFFECTIVE, LATER)
    assert applied.phone == other.phone
    assert store.get_subscriber(NORMAL.phone).pending_plan_code == "RETIRED_8"
    assert "store.plan_change.unknown_plan" in caplog.text
    assert NORMAL.phone not in caplog.text  # masked


# plan_changes as stores made before changes were applied had it (no 'applied' status)
OLD_PLAN_CHANGES = (
    table_sql("plan_changes").replace(", 'applied'", "")
    + "CREATE INDEX plan_changes_phone ON plan_changes (phone);"
)


def test_a_store_made_before_applying_existed_is_migrated(store, now, today):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    kept = rows(store, "SELECT * FROM plan_changes")
    conn = sqlite3.connect(store.path)
    conn.executescript("DROP TABLE plan_changes;" + OLD_PLAN_CHANGES)
    with conn:
        conn.executemany("INSERT INTO plan_changes VALUES (?, ?, ?, ?, ?, ?, ?)", kept)
    conn.close()

    assert store.initialise(today) is False
    assert rows(store, "SELECT * FROM plan_changes") == kept
    assert store.apply_due_plan_changes(EFFECTIVE, LATER)[0].to_plan == TARGET
    assert rows(store, "SELECT status FROM plan_changes") == [("applied",)]
    assert rows(store, "SELECT name FROM sqlite_master WHERE name LIKE 'plan_changes%'") == [
        ("plan_changes",),
        ("plan_changes_phone",),
    ]


def test_the_apply_due_command(store, now, monkeypatch, capsys, catalog_root):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    monkeypatch.setenv("ASSISTANT_DB_PATH", str(store.path))
    monkeypatch.setenv("ASSISTANT_IDENTITY_SECRET", IDENTITY_SECRET)
    monkeypatch.setenv("ASSISTANT_ID_PEPPER", PEPPER)
    assert store_cli(["apply-due", "--date", "2026-11-30"]) == 0
    assert "0 plan change(s) applied, effective by 2026-11-30" in capsys.readouterr().out
    assert store_cli(["apply-due", "--date", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert f"138****8000  {NORMAL.plan_code} -> {TARGET}" in out
    assert "1 plan change(s) applied" in out and NORMAL.phone not in out
    assert store.get_subscriber(NORMAL.phone).plan_code == TARGET


def test_booking_again_after_the_date_applies_the_due_change_first(store, now):
    store.change_plan(NORMAL.phone, TARGET, EFFECTIVE, now)
    again = store.change_plan(NORMAL.phone, "5G_DATA_99", date(2027, 1, 1), LATER)
    assert again.from_plan == TARGET  # the December change happened; January's follows it
    statuses = rows(store, "SELECT to_plan, status FROM plan_changes ORDER BY id")
    assert statuses == [(TARGET, "applied"), ("5G_DATA_99", "scheduled")]
    sub = store.get_subscriber(NORMAL.phone)
    assert (sub.plan_code, sub.pending_plan_code) == (TARGET, "5G_DATA_99")
