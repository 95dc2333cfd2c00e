"""Fixtures for the pure helpers: a small catalogue in tmp_path, independent of the real
catalog/destinations.yml (which other work may still be changing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SAMPLE_DESTINATIONS = """
destinations:
  - {name: 中国香港, code: "HK", zone: HMT, aliases: [香港, HK, Hong Kong]}
  - {name: 日本, code: "JP", zone: ASIA1, aliases: [Japan, 东京]}
  - {name: 新加坡, code: "SG", zone: ASIA1, aliases: [Singapore, 狮城]}
  - {name: 马来西亚, code: "MY", zone: ASIA1, aliases: [Malaysia, 大马, 马来]}
  - {name: 泰国, code: "TH", zone: ASIA1, aliases: [Thailand, 曼谷]}
  - {name: 印度, code: "IN", zone: ASIA2, aliases: [India]}
  - {name: 印度尼西亚, code: "ID", zone: ASIA1, aliases: [印尼, Indonesia]}
  - {name: 美国, code: "US", zone: NA, aliases: [USA, 纽约]}
  - {name: 挪威, code: "NO", zone: EU, aliases: [Norway]}
groups:
  - {name: 新马泰, aliases: [新马泰三国], members: [新加坡, 马来西亚, 泰国]}
"""


@pytest.fixture
def make_catalog_root(tmp_path):
    """create(destinations=SAMPLE_DESTINATIONS) → a repo-like root with catalog/*.yml."""

    def create(destinations: str | None = SAMPLE_DESTINATIONS, name: str = "root") -> Path:
        root = tmp_path / name
        (root / "catalog").mkdir(parents=True)
        for file in ("plans.yml", "roaming.yml"):
            shutil.copy(REPO_ROOT / "catalog" / file, root / "catalog" / file)
        if destinations is not None:
            (root / "catalog" / "destinations.yml").write_text(destinations, encoding="utf-8")
        return root

    return create
