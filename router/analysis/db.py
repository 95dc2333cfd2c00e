"""The archive as the analysts' routes use it: read through the supervisor pages' read-only
engine (router/reporting.py, app.state.archive), and written — annotation decisions, settlements,
exports — through a second engine of its own (app.state.annotations), opened with the app.

Writes, like reads, run in a worker thread; a database that cannot be reached, or an archive not
migrated to the annotation tables yet, is a 503 (ArchiveUnavailable), never a 500. A SQLite
archive whose file is not there is never created by a write either.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError, ProgrammingError

from archive.db import engine_for
from router import errors
from router.reporting import Archive

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Writer:
    """The archive opened for the analysts' writes: each call one transaction."""

    engine: sa.Engine

    async def write(self, change: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`change(connection, *args, **kwargs)` in a worker thread, committed when it returns."""

        def run() -> T:
            if Archive(self.engine).missing():
                raise errors.ArchiveUnavailable()
            with self.engine.begin() as connection:
                return change(connection, *args, **kwargs)

        try:
            return await to_thread.run_sync(run)
        except (OperationalError, ProgrammingError) as exc:  # no file, no table, no server
            log.error("router.annotations.unavailable error=%s", type(exc).__name__)
            raise errors.ArchiveUnavailable() from None


def install(app: FastAPI) -> None:
    """Open the writable archive (settings.archive_url) when the app starts, close it when it
    stops: app.state.annotations."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            engine = engine_for(a.state.runtime.settings.archive_url.get_secret_value())
            a.state.annotations = Writer(engine)
            try:
                yield state
            finally:
                engine.dispose()

    app.router.lifespan_context = lifespan
