"""The subscriber store. `open_store(settings)` gives the default SQLite store, created and
filled with deterministic demo data on first use."""

from __future__ import annotations

from actions.settings import Settings
from actions.store.base import StoreError, SubscriberStore
from actions.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "StoreError", "SubscriberStore", "open_store"]


def open_store(settings: Settings) -> SQLiteStore:
    """The store at settings.db_path, initialised (schema and demo data) if it is new."""
    store = SQLiteStore(settings.db_path, settings.catalog_root, id_pepper=settings.id_pepper)
    store.initialise()
    return store
