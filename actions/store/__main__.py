"""python -m actions.store demo | init [--force]

demo  print the demo subscribers (phone, name, ID last 6, plan, what to try)
init  create and fill the database at ASSISTANT_DB_PATH (--force: regenerate)
"""

from __future__ import annotations

import argparse
import sys

from actions.settings import load_settings
from actions.store.generate import DEMO_SUBSCRIBERS
from actions.store.sqlite import SQLiteStore


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
    args = parser.parse_args(argv)

    if args.command == "demo":
        print("演示用户（虚构数据，仅供体验）:")
        print(demo_table())
        return 0
    settings = load_settings()
    store = SQLiteStore(settings.db_path, settings.catalog_root)
    created = store.initialise(force=args.force)
    state = "created" if created else "already present"
    print(f"{settings.db_path}: {state}, {store.count_subscribers()} subscribers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
