"""Alembic's environment for the archive. The database: `-x url=…` on the alembic command
line (tests), else the URL archive/migrate.py put in the config's attributes, else
ArchiveSettings (ARCHIVE_DATABASE_URL)."""

from __future__ import annotations

from alembic import context

from archive.db import engine_for
from archive.schema import Base


def _url() -> str:
    given = context.get_x_argument(as_dictionary=True).get("url")
    if given:
        return str(given)
    url = context.config.attributes.get("url")
    if url:
        return str(url)
    from archive.settings import ArchiveSettings

    return ArchiveSettings().url()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = engine_for(_url())
    try:
        with engine.connect() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the archive's migrations run online only")
run()
