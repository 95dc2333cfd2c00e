"""archive/rollup.py: the reports read from the rollups give the numbers the raw rows give — on
the hand-built archive of test_reports.py and on a generated one, on SQLite and PostgreSQL, for
every bucket size and filter the rollups answer — and the rollups the consumer keeps batch by
batch are those a full rebuild gives."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from archive import db, generate, migrate, reports, rollup
from archive.consumer import Consumer
from archive.metrics import DAY_MS, METRICS, ReportQuery, Rules, bucket_start
from archive.schema import ROLLUPS
from router.keys import Keys
from tests import pg
from tests.archive.test_reports import D, H, _filled
from tests.archive.traffic import fill

END = D + 6 * DAY_MS  # the generated archive: 5 days before the day holding END


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    with pg.cluster() as url:
        yield url


def _generated(url: str) -> Iterator[sa.Engine]:
    migrate.upgrade(url)
    engine = db.engine_for(url)
    generate.load(engine, generate.generate(3_000, 5, END, seed=3, agents=8))
    yield engine
    engine.dispose()


@pytest.fixture(
    scope="module",
    params=list(itertools.product(["hand-built", "generated"], ["sqlite", "postgresql"])),
    ids=lambda p: "-".join(p),
)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    kind, backend = request.param
    build = _filled if kind == "hand-built" else _generated
    if backend == "sqlite":
        yield from build(f"sqlite:///{tmp_path_factory.mktemp('archive') / 'archive.sqlite3'}")
    else:
        with pg.database(request.getfixturevalue("postgres_server")) as url:
            yield from build(url)


def _both(
    conn: sa.Connection, monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]
) -> tuple[Any, Any]:
    """`call()` through the rollups, then through the raw rows only."""
    with_rollups = call()
    with monkeypatch.context() as patch:
        patch.setattr(rollup, "table_for", lambda *args, **kwargs: None)
        raw = call()
    return with_rollups, raw


def _windows(engine: sa.Engine) -> list[ReportQuery]:
    with engine.connect() as conn:
        first = conn.execute(sa.text("SELECT min(started_ms) FROM conversations")).scalar_one()
    start = bucket_start(int(first), "day")
    return [
        ReportQuery(start, start + 2 * DAY_MS, "day"),
        ReportQuery(start + 9 * H, start + 33 * H, "hour"),
        ReportQuery(start + 10 * H + 45 * 60_000, start + 14 * H, "15m"),
        ReportQuery(start, start + 7 * DAY_MS, "day"),
        ReportQuery(start + DAY_MS, start + 2 * DAY_MS, "hour"),  # day rows, quarter-hour series
    ]


FILTERS: list[dict[str, str]] = [
    {},
    {"channel": "web"},
    {"channel": "app", "intent": "query_balance"},
    {"intent": "check_balance"},
    {"queue": "billing"},
    {"queue": "complaints", "channel": "voice"},
    {"agent_id": "agent-chen"},
    {"agent_id": "agent-003"},
    {"agent_id": "agent-005", "intent": "complain"},
]


def test_the_rollups_give_the_raw_numbers(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.connect() as conn:
        used = 0
        for window, filters in itertools.product(_windows(engine), FILTERS):
            q = ReportQuery(window.start_ms, window.end_ms, window.bucket, **filters)
            used += any(
                rollup.table_for(m.source, q, Rules()) is not None for m in METRICS.values()
            )
            for call in (
                functools.partial(reports.summary, conn, q),
                functools.partial(reports.timeseries, conn, q, list(METRICS)),
                functools.partial(reports.intent_mix, conn, q),
                functools.partial(reports.scorecard, conn, q),
            ):
                fast, raw = _both(conn, monkeypatch, call)
                assert fast == raw, (q, call)
        assert used == len(_windows(engine)) * len(FILTERS)
        # something was counted: the comparison is not between two empty answers
        totals = reports.summary(conn, _windows(engine)[3])
        assert totals["conversations"]["numerator"] > 0 and totals["handoffs"]["numerator"] > 0


def test_when_the_raw_rows_answer() -> None:
    q = ReportQuery(D, D + DAY_MS)
    assert rollup.table_for("conversations", q, Rules()) is ROLLUPS["rollup_conversations"]
    assert rollup.table_for("turns", ReportQuery(D, D + DAY_MS, skill="billing"), Rules()) is None
    assert rollup.table_for("conversations", ReportQuery(D, D + 1), Rules()) is None  # unaligned
    assert rollup.table_for("handoffs", q, Rules(short_abandon_ms=1_000)) is None
    assert rollup.table_for("turns", ReportQuery(D, D + DAY_MS, queue="billing"), Rules()) is None
    queue = ReportQuery(D, D + DAY_MS, queue="billing")
    assert rollup.table_for("handoffs", queue, Rules()) is ROLLUPS["rollup_handoffs"]
    agent = ReportQuery(D, D + DAY_MS, agent_id="a")
    assert (
        rollup.table_for("conversations", agent, Rules()) is ROLLUPS["rollup_agent_conversations"]
    )


def _contents(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for name, table in ROLLUPS.items():
        columns = list(table.c)
        found[name] = sorted(
            (tuple(r) for r in conn.execute(sa.select(*columns))), key=lambda r: repr(r)
        )
    return found


def test_the_consumer_keeps_the_rollups_a_rebuild_gives(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    fill(rds, keys, 90)
    make_consumer(batch_size=11).run(lambda: False, once=True)
    with archive_engine.connect() as conn:
        kept = _contents(conn)
    assert sum(len(rows) for rows in kept.values()) > 10
    with archive_engine.connect() as conn:
        transaction = conn.begin()
        rollup.refresh_all(conn)
        rebuilt = _contents(conn)
        transaction.rollback()
    assert kept == rebuilt
