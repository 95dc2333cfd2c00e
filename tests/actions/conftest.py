"""Fixtures for the action-server side: a temporary SQLite store built by the real generator."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from actions.store.sqlite import SQLiteStore
from tests.actions.secrets_support import IDENTITY_SECRET, PEPPER

REPO_ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
__all__ = ["IDENTITY_SECRET", "NOW", "PEPPER", "TODAY"]
CHEAP_ID_HASH_COST = 2**4  # scrypt N for tests: speed, not strength

# Used only while catalog/destinations.yml does not exist yet.
SAMPLE_DESTINATIONS = """
destinations:
  - {name: 中国香港, code: "HK", zone: HMT, aliases: [香港]}
  - {name: 日本, code: "JP", zone: ASIA1, aliases: [Japan, 东京]}
  - {name: 新加坡, code: "SG", zone: ASIA1, aliases: [Singapore]}
  - {name: 马来西亚, code: "MY", zone: ASIA1, aliases: [大马]}
  - {name: 泰国, code: "TH", zone: ASIA1, aliases: [Thailand]}
  - {name: 法国, code: "FR", zone: EU, aliases: [France, 巴黎]}
groups:
  - {name: 新马泰, aliases: [], members: [新加坡, 马来西亚, 泰国]}
"""


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def catalog_root(tmp_path_factory) -> Path:
    """The repository root when catalog/destinations.yml exists, else a copy with a sample."""
    if (REPO_ROOT / "catalog" / "destinations.yml").exists():
        return REPO_ROOT
    root = tmp_path_factory.mktemp("catalog_root")
    (root / "catalog").mkdir()
    for name in ("plans.yml", "roaming.yml"):
        shutil.copy(REPO_ROOT / "catalog" / name, root / "catalog" / name)
    (root / "catalog" / "destinations.yml").write_text(SAMPLE_DESTINATIONS, encoding="utf-8")
    return root


@pytest.fixture
def make_store(tmp_path, catalog_root):
    """create(count=30, today=TODAY) → a filled SQLiteStore in tmp_path (cheap ID hashing);
    `sms_gateway` is passed to the store."""
    made = 0

    def create(count: int = 30, today: date = TODAY, sms_gateway=None, **kwargs) -> SQLiteStore:
        nonlocal made
        made += 1
        store = SQLiteStore(
            tmp_path / f"store{made}.sqlite3",
            catalog_root,
            id_pepper=PEPPER,
            id_hash_cost=CHEAP_ID_HASH_COST,
            sms_gateway=sms_gateway,
        )
        store.initialise(today, count=count, **kwargs)
        return store

    return create


@pytest.fixture
def store(make_store) -> SQLiteStore:
    return make_store()
