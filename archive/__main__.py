"""`python -m archive migrate` — upgrade the archive's schema to head (Alembic);
`python -m archive consume` — ingest the router's streams until stopped (SIGTERM/SIGINT);
`python -m archive backfill` — re-read what Redis still holds (after an outage longer than the
streams' caps); `python -m archive purge` — delete conversations older than the retention;
`python -m archive rollup` — rebuild the report rollups (after a metric's definition changed);
`python -m archive annotations export [--out DIR]` — write the accepted annotations not exported
yet as a batch file of nlu_data/annotated/ (archive/annotation_export.py).

Settings: ARCHIVE_* (archive/settings.py); the database URL and secrets come from the
environment, never from the command line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from archive.settings import ArchiveSettings
from telecom.secrets import InsecureSecret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archive")
    parser.add_argument(
        "command", choices=["migrate", "consume", "backfill", "purge", "rollup", "annotations"]
    )
    parser.add_argument("action", nargs="?", choices=["export"], help="annotations: export")
    parser.add_argument("--once", action="store_true", help="consume: stop when caught up")
    parser.add_argument("--out", type=Path, help="annotations export: the folder of the batch")
    args = parser.parse_args(argv)
    if (args.command == "annotations") != (args.action == "export"):
        parser.error("`annotations export` is the one command with an action")
    settings = ArchiveSettings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from router.logs import install_masking

    install_masking()
    from archive import migrate

    if args.command == "migrate":
        migrate.upgrade(settings.url())
        print("archive: schema at head")
        return 0
    if args.command == "rollup":
        from archive import rollup
        from archive.db import engine_for

        engine = engine_for(settings.url())
        try:
            with engine.begin() as conn:
                rollup.refresh_all(conn)
        finally:
            engine.dispose()
        print("archive: rollups rebuilt")
        return 0
    if args.command == "annotations":
        return _export(settings, args.out)
    if args.command == "purge":
        from archive.purge import run_purge

        print(run_purge(settings).summary())
        return 0
    try:
        settings.checked_pseudonym_key()
    except InsecureSecret as exc:
        print(f"archive: refusing to start: {exc}", file=sys.stderr)
        return 2
    if settings.redis_url is None:
        print("archive: refusing to start: ARCHIVE_REDIS_URL is missing", file=sys.stderr)
        return 2
    from archive.consumer import run_backfill, run_forever

    if args.command == "backfill":
        print(run_backfill(settings).summary())
        return 0
    migrate.upgrade(settings.url())
    run_forever(settings, once=args.once)
    return 0


def _export(settings: ArchiveSettings, out: Path | None) -> int:
    from archive.annotations import export_batch
    from archive.db import engine_for

    engine = engine_for(settings.url())
    try:
        with engine.begin() as conn:
            path = export_batch(conn, out, by="cli")
    finally:
        engine.dispose()
    print(f"archive: annotations exported to {path}" if path else "archive: nothing to export")
    return 0


if __name__ == "__main__":
    sys.exit(main())
