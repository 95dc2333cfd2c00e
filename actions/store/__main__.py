"""python -m actions.store demo | init [--force] | apply-due [--date YYYY-MM-DD]
                         | purge [--now ISO-TIME]

demo       print the demo subscribers (phone, name, ID last 6, plan, what to try)
init       create and fill the database at ASSISTANT_DB_PATH (--force: regenerate)
apply-due  apply every plan change effective by today in China (or --date), e.g. from a
           daily job; the assistant also applies a customer's due change when it reads it
purge      delete verification attempts, used login nonces, consents, tickets and SMS older
           than their retention (ASSISTANT_RETAIN_*; see actions/settings.py), e.g. daily

Every command but `demo` reads the same settings as the action server (ASSISTANT_ID_PEPPER …).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone

from actions.settings import SettingsError, load_settings
from actions.store.generate import DEMO_SUBSCRIBERS
from actions.store.sqlite import SQLiteStore
from telecom import mask
from telecom.dates import CHINA_TZ
from telecom.secrets import InsecureSecret


def demo_lines() -> list[str]:
    """The demo subscribers as plain-text rows, header first (for the README and `make run`)."""
    header = ("手机号", "姓名", "身份证后6位", "完整身份证号", "套餐", "可以试试")
    rows = [header] + [
        (d.phone, d.name, d.id_last6, d.id_number, d.plan_code, d.try_this)
        for d in DEMO_SUBSCRIBERS
    ]
    return ["  ".join(row) for row in rows]


def demo_table() -> str:
    return "\n".join(demo_lines())


def _aware(text: str) -> datetime:
    """An ISO time; without a zone it is China time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="print the demo subscribers")
    init = sub.add_parser("init", help="create and fill the database")
    init.add_argument("--force", action="store_true", help="regenerate an existing database")
    due = sub.add_parser("apply-due", help="apply the plan changes that are due")
    due.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="apply what is effective by this date (default: today in China)",
    )
    purge = sub.add_parser("purge", help="delete what is past its retention")
    purge.add_argument(
        "--now",
        type=_aware,
        default=None,
        help="purge as if it were this time (ISO 8601; default: now)",
    )
    args = parser.parse_args(argv)

    if args.command == "demo":
        print("演示用户（虚构数据，仅供体验）:")
        print(demo_table())
        return 0
    try:
        settings = load_settings()
    except (InsecureSecret, SettingsError) as exc:
        print(f"actions.store: {exc}", file=sys.stderr)
        return 2
    store = SQLiteStore(settings.db_path, settings.catalog_root, id_pepper=settings.id_pepper)
    if args.command == "purge":
        store.initialise()
        now = args.now or datetime.now(timezone.utc)
        deleted = store.purge(now, settings.retention)
        for table, count in deleted.items():
            print(f"{table}: {count} deleted")
        return 0
    if args.command == "apply-due":
        store.initialise()  # creates the store, or brings an older one up to date
        today = args.date or datetime.now(CHINA_TZ).date()
        changes = store.apply_due_plan_changes(today)
        for change in changes:
            print(f"{mask.phone(change.phone)}  {change.from_plan} -> {change.to_plan}")
        print(f"{len(changes)} plan change(s) applied, effective by {today:%Y-%m-%d}")
        return 0
    created = store.initialise(force=args.force)
    state = "created" if created else "already present"
    print(f"{settings.db_path}: {state}, {store.count_subscribers()} subscribers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
