"""What every part of the SQLite store stands on: its settings, a kept connection per thread,
transactions, and the catalogue.

The store's methods live with their SQL (privacy.py, plan_changes.py, tickets.py, sqlite.py),
each part a class on `SQLiteBase`; `SQLiteStore` (sqlite.py) is all of them together.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from actions.store import hashing
from actions.store.base import StoreError
from telecom.catalog import Catalog, load_catalog

__all__ = ["SQLiteBase"]


class SQLiteBase:
    """One SQLite file: connections, transactions and the catalogue read from `catalog_root`."""

    def __init__(
        self,
        path: str | Path,
        catalog_root: str | Path,
        *,
        id_pepper: str,
        id_hash_cost: int | None = None,
        sms_gateway: Callable[[str, str, str], None] | None = None,
    ) -> None:
        """`id_pepper`: ASSISTANT_ID_PEPPER. `id_hash_cost`: scrypt N of new ID hashes (tests
        lower it). `sms_gateway(phone, kind, body)`: delivers an SMS whose full text must not
        be stored (a temporary password); without one such a text is only recorded redacted."""
        if not id_pepper:
            raise StoreError("the ID pepper is missing (ASSISTANT_ID_PEPPER)")
        self.path = Path(path)
        self.catalog_root = Path(catalog_root)
        self._pepper = id_pepper
        self._id_hash_cost = id_hash_cost or hashing.ID_SCRYPT_N
        self._dummy_id_hash = hashing.dummy_id_hash(self._id_hash_cost)
        self._sms_gateway = sms_gateway
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fewer fsyncs per commit
        return conn

    def _kept(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and kept (opening one per call was a
        large share of the action server's time: docs/benchmarks.md)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The kept connection, or one of its own while the kept one is inside a transaction (a
        store call made during another one sees only committed data, as it always has). A kept
        connection left inside a transaction is closed, not reused. Outside `_tx`, each
        statement sees the latest committed data."""
        kept = self._kept()
        conn = self._connect() if kept.in_transaction else kept
        try:
            yield conn
        finally:
            if conn is not kept:
                conn.close()
            elif conn.in_transaction:  # COMMIT or ROLLBACK itself failed
                self._local.conn = None
                conn.close()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self._use() as conn:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_root)
