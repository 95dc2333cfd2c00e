"""The 30-day report over an archive of generated conversations, on SQLite, PostgreSQL and DuckDB.

    .venv-router/bin/python -m bench.archive_report [--conversations 1000000] [--days 35]
        [--repeats 5] [--no-postgres] [--no-duckdb] [--raw]

archive/generate.py makes the conversations once (seeded: with their turns, handoffs, offers,
ratings and tickets; no message text) over `days` China-time days; they are loaded into a SQLite
archive and a PostgreSQL one (a throwaway cluster, tests/pg.py: fsync off), both built by the
migrations, and into a DuckDB file (the same tables, from CSV). The report is what the reports
page asks for at once: `summary` + a daily `timeseries` of volume, containment, service level
and both CSATs + `intent_mix` + `scorecard`, over the last 30 days. Each engine runs it
`repeats` times (after one warm-up); the table gives p50 and the slowest. Target: p50 ≤ 1 s.

The archives carry what the ingest keeps (the repeat-contact links, the rollups: built after the
load, timed); the report reads the rollups as the pages do. `--raw` makes every query read the
raw rows instead (the rollups unused), for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from archive import db, generate, migrate, reports, rollup
from archive.metrics import DAY_MS, ReportQuery, bucket_start
from archive.schema import Base

SERIES = ["conversations", "containment", "service_level", "csat_agent", "csat_bot"]


@compiles(sa.Float, "duckdb")
def _double(_type: sa.Float[Any], _compiler: Any, **_kw: Any) -> str:
    """DuckDB's FLOAT is 4 bytes (0.7 reads below 0.7): a confidence is a DOUBLE there too."""
    return "DOUBLE"


def report(conn: sa.Connection, q: ReportQuery) -> dict[str, Any]:
    return {
        "summary": reports.summary(conn, q),
        "timeseries": reports.timeseries(conn, q, SERIES),
        "intent_mix": reports.intent_mix(conn, q),
        "scorecard": reports.scorecard(conn, q),
    }


def timed(step: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"  {step}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def measure(engine: sa.Engine, q: ReportQuery, repeats: int) -> tuple[list[float], dict[str, Any]]:
    times: list[float] = []
    with engine.connect() as conn:
        first = report(conn, q)  # warm-up (caches, plans)
        for _ in range(repeats):
            started = time.perf_counter()
            report(conn, q)
            times.append(time.perf_counter() - started)
    return times, first


@contextlib.contextmanager
def sqlite_archive(folder: Path, data: generate.Generated) -> Iterator[sa.Engine]:
    url = f"sqlite:///{folder / 'archive.sqlite3'}"
    migrate.upgrade(url)
    engine = db.engine_for(url)
    timed("SQLite load + rollups", lambda: generate.load(engine, data))
    with engine.begin() as conn:
        timed("SQLite ANALYZE", lambda: conn.exec_driver_sql("ANALYZE"))
    yield engine
    engine.dispose()


@contextlib.contextmanager
def postgres_archive(data: generate.Generated) -> Iterator[sa.Engine]:
    from tests import pg

    with pg.cluster() as server, pg.database(server) as url:
        migrate.upgrade(url)
        engine = db.engine_for(url)
        timed("PostgreSQL load (COPY) + rollups", lambda: generate.load(engine, data))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            timed("PostgreSQL VACUUM ANALYZE", lambda: conn.exec_driver_sql("VACUUM ANALYZE"))
        yield engine
        engine.dispose()


@contextlib.contextmanager
def duckdb_archive(folder: Path, data: generate.Generated) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"duckdb:///{folder / 'archive.duckdb'}")
    Base.metadata.create_all(engine)

    def fill() -> None:
        with engine.begin() as conn:
            for table, rows in data.rows.items():
                path = folder / f"{table}.csv"
                with path.open("w", newline="") as out:
                    writer = csv.writer(out)
                    writer.writerow(generate.COLUMNS[table])
                    writer.writerows(rows)
                conn.exec_driver_sql(
                    f"COPY {table} ({', '.join(generate.COLUMNS[table])}) FROM '{path}' "
                    "(HEADER, NULL '')"
                )
                path.unlink()

    timed("DuckDB load (CSV)", fill)
    with engine.begin() as conn:
        timed("DuckDB rollups", lambda: rollup.refresh_all(conn))
    yield engine
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.archive_report")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--raw", action="store_true", help="read the raw rows, not the rollups")
    args = parser.parse_args()
    if args.raw:  # every query falls back to the raw rows, as for a filter no rollup answers
        rollup.table_for = lambda *_args, **_kwargs: None  # type: ignore[assignment]
    now = int(time.time() * 1000)
    end = bucket_start(now, "day")
    q = ReportQuery(end - 30 * DAY_MS, end, "day")
    path = "raw rows" if args.raw else "rollups"
    print(
        f"archive report bench: {args.conversations:,} conversations over {args.days} days ({path})"
    )
    data = timed("generate", lambda: generate.generate(args.conversations, args.days, now, seed=14))
    print(f"  rows: {data.count()}")
    engines: list[tuple[str, Callable[[], contextlib.AbstractContextManager[sa.Engine]]]] = []
    folder = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    engines.append(("SQLite", lambda: sqlite_archive(folder, data)))
    if not args.no_postgres:
        engines.append(("PostgreSQL", lambda: postgres_archive(data)))
    if not args.no_duckdb:
        engines.append(("DuckDB", lambda: duckdb_archive(folder, data)))
    results: list[tuple[str, list[float]]] = []
    reference: dict[str, Any] | None = None
    for name, archive in engines:
        print(f"{name}:", flush=True)
        try:
            with archive() as engine:
                times, answer = measure(engine, q, args.repeats)
        finally:
            if name == engines[-1][0]:
                shutil.rmtree(folder, ignore_errors=True)
        summary = {k: (v["numerator"], v["denominator"]) for k, v in answer["summary"].items()}
        if reference is None:
            reference = summary
        elif summary != reference:  # every engine must give the same numbers
            raise SystemExit(f"{name} disagrees with SQLite: {summary} != {reference}")
        results.append((name, times))
        print(f"  report p50 {statistics.median(times):.3f} s", flush=True)
    print(
        f"\n30-day report over {args.conversations:,} conversations ({args.repeats} runs, {path})"
    )
    print(f"{'engine':<12}{'p50 s':>8}{'max s':>8}")
    for name, times in results:
        print(f"{name:<12}{statistics.median(times):>8.3f}{max(times):>8.3f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
