"""Plan changes in the SQLite store: `PlanChangeMethods`, and the SQL they run (each function
inside the caller's transaction).

A change is scheduled for its effective date (the 1st of next month) and applied once that date
has come: the subscriber's plan becomes the new one, the plan's monthly packages are replaced by
the new plan's (add-ons such as data packs are kept) and an SMS says so. The store applies a
due change as soon as the subscriber's data is read, and `python -m actions.store apply-due`
applies every due change at once (for a daily job).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timezone

from actions.plans import PLAN_PACKAGE_PREFIX, allowances
from actions.store.base import NoSuchPlan, NoSuchSubscriber, PlanChange, SamePlan
from actions.store.connection import SQLiteBase
from actions.store.rows import from_ts, queue_sms, to_ts, utcnow
from telecom import mask
from telecom.catalog import Catalog, Plan
from telecom.dates import CHINA_TZ, month_key
from telecom.money import yuan

__all__ = ["PlanChangeMethods", "apply_due", "is_due", "schedule"]

log = logging.getLogger(__name__)


def is_due(pending_effective: str | None, today: date) -> bool:
    """True when a scheduled change (its effective date as ISO text) takes effect by `today`."""
    if not pending_effective:
        return False
    return date.fromisoformat(pending_effective) <= today


def schedule(
    conn: sqlite3.Connection, phone: str, current_plan: str, plan: Plan, effective: date,
    now: datetime,
) -> PlanChange:  # fmt: skip
    """Schedule the change to `plan`, superseding one scheduled before."""
    conn.execute(
        "UPDATE plan_changes SET status = 'superseded' WHERE phone = ? AND status = 'scheduled'",
        (phone,),
    )
    cursor = conn.execute(
        "INSERT INTO plan_changes (phone, from_plan, to_plan, effective, requested_at, status)"
        " VALUES (?, ?, ?, ?, ?, 'scheduled')",
        (phone, current_plan, plan.code, effective.isoformat(), to_ts(now)),
    )
    conn.execute(
        "UPDATE subscribers SET pending_plan_code = ?, pending_effective = ? WHERE phone = ?",
        (plan.code, effective.isoformat(), phone),
    )
    queue_sms(
        conn, phone, "plan_change",
        f"【客服通知】您已成功预约变更为{plan.name}，将于{effective:%Y年%m月%d日}生效。",
        now,
    )  # fmt: skip
    return PlanChange(
        id=cursor.lastrowid or 0,
        phone=phone,
        from_plan=current_plan,
        to_plan=plan.code,
        effective=effective,
        requested_at=now.astimezone(timezone.utc),
        status="scheduled",
    )


def apply_due(
    conn: sqlite3.Connection, catalog: Catalog, today: date, now: datetime,
    phone: str | None = None,
) -> list[PlanChange]:  # fmt: skip
    """Apply every scheduled change effective by `today` (only `phone`'s when given).

    A change to a plan no longer in the catalogue stays scheduled and is logged."""
    query = (
        "SELECT phone, pending_plan_code FROM subscribers"
        " WHERE pending_effective IS NOT NULL AND pending_effective <= ?"
    )
    args: tuple[str, ...] = (today.isoformat(),)
    if phone is not None:
        query += " AND phone = ?"
        args += (phone,)
    applied = []
    for row in conn.execute(query + " ORDER BY phone", args).fetchall():
        plan = catalog.plan(row["pending_plan_code"])
        if plan is None:
            log.error(
                "store.plan_change.unknown_plan phone=%s to=%s",
                mask.phone(row["phone"]),
                row["pending_plan_code"],
            )
            continue
        applied.append(_apply(conn, row["phone"], plan, today, now))
    return applied


def _apply(
    conn: sqlite3.Connection, phone: str, plan: Plan, today: date, now: datetime
) -> PlanChange:
    change = conn.execute(
        "SELECT * FROM plan_changes WHERE phone = ? AND status = 'scheduled' AND to_plan = ?"
        " ORDER BY id DESC LIMIT 1",
        (phone, plan.code),
    ).fetchone()
    conn.execute(
        "UPDATE plan_changes SET status = 'applied' WHERE phone = ? AND status = 'scheduled'",
        (phone,),
    )
    conn.execute(
        "UPDATE subscribers SET plan_code = ?, pending_plan_code = NULL, pending_effective = NULL"
        " WHERE phone = ?",
        (plan.code, phone),
    )
    _replace_plan_packages(conn, phone, plan, month_key(today.year, today.month))
    effective = date.fromisoformat(change["effective"]) if change else today
    queue_sms(
        conn, phone, "plan_change",
        f"【客服通知】您的套餐已于{effective:%Y年%m月%d日}变更为{plan.name}，"
        f"月租{yuan(plan.monthly_fee)}，套餐内流量、通话从生效当月起按新套餐计算。",
        now,
    )  # fmt: skip
    log.info("store.plan_change.applied phone=%s to=%s", mask.phone(phone), plan.code)
    return PlanChange(
        id=change["id"] if change else 0,
        phone=phone,
        from_plan=change["from_plan"] if change else "",
        to_plan=plan.code,
        effective=effective,
        requested_at=from_ts(change["requested_at"]) if change else now,
        status="applied",
    )


def _replace_plan_packages(conn: sqlite3.Connection, phone: str, plan: Plan, month: str) -> None:
    """The new plan's packages, counters at 0 for `month`, then the add-ons as they were."""
    add_ons = [
        (r["month"], r["name"], r["kind"], r["used"], r["total"], r["unit"])
        for r in conn.execute(
            "SELECT * FROM packages WHERE phone = ? ORDER BY position", (phone,)
        ).fetchall()
        if not r["name"].startswith(PLAN_PACKAGE_PREFIX)
    ]
    rows = [(month, a.name, a.kind, 0, a.total, a.unit) for a in allowances(plan)] + add_ons
    conn.execute("DELETE FROM packages WHERE phone = ?", (phone,))
    conn.executemany(
        "INSERT INTO packages (phone, position, month, name, kind, used, total, unit)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(phone, i, *row) for i, row in enumerate(rows)],
    )


class PlanChangeMethods(SQLiteBase):
    """The store's plan changes: scheduled, and applied when their date has come."""

    def change_plan(
        self, phone: str, plan_code: str, effective: date, now: datetime | None = None
    ) -> PlanChange:
        """Schedule a plan change for `effective`; replaces an earlier scheduled change.

        Raises NoSuchSubscriber, NoSuchPlan, or SamePlan (already the plan, or already scheduled).
        """
        now = now or utcnow()
        plan = self.catalog.plan(plan_code)
        if plan is None:
            raise NoSuchPlan("unknown plan code")
        with self._tx() as conn:
            # a change already due is applied first: a new booking must not supersede it
            apply_due(conn, self.catalog, now.astimezone(CHINA_TZ).date(), now, phone)
            row = conn.execute(
                "SELECT plan_code, pending_plan_code FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
            if row is None:
                raise NoSuchSubscriber("no such subscriber")
            if plan_code in (row["plan_code"], row["pending_plan_code"]):
                raise SamePlan("already the current or scheduled plan")
            change = schedule(conn, phone, row["plan_code"], plan, effective, now)
        log.info("store.plan_change.scheduled phone=%s to=%s", mask.phone(phone), plan_code)
        return change

    def apply_due_plan_changes(
        self, today: date, now: datetime | None = None, phone: str | None = None
    ) -> list[PlanChange]:
        """Apply, in one transaction, every scheduled change effective by `today` (only
        `phone`'s when given): the plan, its monthly packages, and an SMS."""
        with self._tx() as conn:
            return apply_due(conn, self.catalog, today, now or utcnow(), phone)

    def _apply_if_due(self, phone: str, today: date) -> None:
        """Apply `phone`'s scheduled change when its date has come (a read when it has not)."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT pending_effective FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
        if row and is_due(row["pending_effective"], today):
            self.apply_due_plan_changes(today, phone=phone)
