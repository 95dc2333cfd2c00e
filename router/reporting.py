"""The archive as the supervisor pages read it: the database opened once per router process
(read only), the reports' query parameters turned into an archive.reports.ReportQuery, and
today's headline numbers for the wallboard.

The archive's queries are synchronous (SQLAlchemy): each runs in a worker thread, so the event
loop never waits on the database. A database that cannot be read is a 503 (ArchiveUnavailable);
query parameters that make no sense together are a 422 naming the parameter (ReportQueryError,
mapped where the request is parsed).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.exc import OperationalError, ProgrammingError

from archive import reports
from archive.db import engine_for
from archive.metrics import BUCKET_MS, CHINA_OFFSET_MS, DAY_MS, Bucket
from router import errors
from router.wallboard import china_day_start

log = logging.getLogger(__name__)
T = TypeVar("T")

# the longest range each bucket may cover (a chart of a few thousand points at most)
MAX_RANGE_DAYS = {"15m": 31, "hour": 92, "day": 800}
DEFAULT_DAYS = 7  # no start: the last 7 China-time days, today included
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MS = re.compile(r"^\d{1,13}$")
TIME_PATTERN = r"^(\d{4}-\d{2}-\d{2}|\d{1,13})$"
# reports cover 2000-01-01 to 2200-01-01 (China time): nothing in the archive is outside it
EARLIEST_MS = 946_656_000_000
LATEST_MS = 7_258_089_600_000


class ReportQueryError(ValueError):
    """A query parameter the reports cannot use; `field` names it, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def china_midnight(day: date) -> int:
    """Epoch ms of 00:00 China time on `day`."""
    return (day.toordinal() - date(1970, 1, 1).toordinal()) * DAY_MS - CHINA_OFFSET_MS


def parse_time(value: str, field: str, *, end: bool) -> int:
    """A date (China time; an end date includes that whole day) or epoch milliseconds."""
    if MS.match(value):
        return int(value)
    if DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ReportQueryError(field, "不是有效的日期（YYYY-MM-DD）") from None
        return china_midnight(day) + (DAY_MS if end else 0)
    raise ReportQueryError(field, "应为日期（YYYY-MM-DD，北京时间）或毫秒时间戳")


def report_query(
    now_ms: int,
    start: str | None,
    end: str | None,
    bucket: str | None,
    *,
    queue: str | None = None,
    skill: str | None = None,
    channel: str | None = None,
    agent: str | None = None,
    intent: str | None = None,
) -> reports.ReportQuery:
    """The ReportQuery of a request's parameters; ReportQueryError when they make no sense."""
    end_ms = parse_time(end, "end", end=True) if end else now_ms
    start_ms = (
        parse_time(start, "start", end=False)
        if start
        else china_day_start(end_ms - 1) - (DEFAULT_DAYS - 1) * DAY_MS
    )
    for field, value in (("start", start_ms), ("end", end_ms)):
        if not EARLIEST_MS <= value <= LATEST_MS:
            raise ReportQueryError(field, "超出可查询的时间范围（2000 年至 2199 年）")
    if end_ms <= start_ms:
        raise ReportQueryError("end", "结束时间必须晚于开始时间")
    size = cast(Bucket, bucket or "day")
    if size not in BUCKET_MS:
        raise ReportQueryError("bucket", "应为 15m、hour 或 day")
    if end_ms - start_ms > MAX_RANGE_DAYS[size] * DAY_MS:
        raise ReportQueryError(
            "end", f"按 {size} 分组时，时间范围最长 {MAX_RANGE_DAYS[size]} 天；请缩小范围或加大分组"
        )
    return reports.ReportQuery(
        start_ms=start_ms,
        end_ms=end_ms,
        bucket=size,
        queue=queue,
        skill=skill,
        channel=channel,
        agent_id=agent,
        intent=intent,
    )


def _read_only(engine: sa.Engine) -> sa.Engine:
    """The router never writes the archive: SQLite connections are query-only, PostgreSQL
    transactions read-only."""
    if engine.dialect.name == "sqlite":

        def query_only(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        event.listen(engine, "connect", query_only)
        return engine
    return engine.execution_options(postgresql_readonly=True)


@dataclass
class Archive:
    """The archive database of one router process, and today's numbers cached for the
    wallboard (one query per `today_ttl_s` whatever the number of wallboards open)."""

    engine: sa.Engine
    today_ttl_s: float = 5.0
    _today: tuple[float, int, dict[str, Any]] | None = None

    def missing(self) -> bool:
        """A SQLite archive whose file is not there (yet): never created by a read."""
        database = self.engine.url.database
        return (
            self.engine.dialect.name == "sqlite"
            and bool(database)
            and database != ":memory:"
            and not Path(database or "").exists()
        )

    async def read(self, query: Callable[..., T], *args: Any) -> T:
        """`query(connection, *args)` in a worker thread."""

        def run() -> T:
            if self.missing():
                raise errors.ArchiveUnavailable()
            with self.engine.connect() as connection:
                return query(connection, *args)

        try:
            return await to_thread.run_sync(run)
        except (OperationalError, ProgrammingError) as exc:  # no file, no table, no server
            log.error("router.archive.unavailable error=%s", type(exc).__name__)
            raise errors.ArchiveUnavailable() from None

    async def today(self, now_ms: int) -> dict[str, Any] | None:
        """archive.reports.summary of today (China time) so far; None when it cannot be read
        (the wallboard shows the live numbers without it)."""
        day = china_day_start(now_ms)
        cached = self._today
        if cached is not None and cached[1] == day and time.monotonic() < cached[0]:
            return cached[2]
        q = reports.ReportQuery(start_ms=day, end_ms=now_ms + 1, bucket="hour")
        try:
            found = await self.read(reports.summary, q)
        except errors.ArchiveUnavailable:
            return None
        self._today = (time.monotonic() + self.today_ttl_s, day, found)
        return found


def install(app: FastAPI) -> None:
    """Open the archive (settings.archive_url) when the app starts, close it when it stops:
    app.state.archive."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            settings = a.state.runtime.settings
            engine = _read_only(engine_for(settings.archive_url.get_secret_value()))
            a.state.archive = Archive(engine, today_ttl_s=settings.wallboard_refresh_s)
            try:
                yield state
            finally:
                engine.dispose()

    app.router.lifespan_context = lifespan
