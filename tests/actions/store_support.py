"""Reading a test store's SQLite file directly, beside the store's own connections."""

from __future__ import annotations

import sqlite3

from actions.store.sqlite import SQLiteStore


def rows(store: SQLiteStore, sql: str, *args: object) -> list[tuple]:
    """The rows of one query, on a connection of its own."""
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def snapshot(store: SQLiteStore) -> dict[str, list[tuple]]:
    """Every row of every table, to prove that nothing changed."""
    conn = sqlite3.connect(store.path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        conn.close()
