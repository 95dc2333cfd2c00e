from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from actions.store.generate import DEMO_SUBSCRIBERS, PREFIXES, generate
from telecom.catalog import load_catalog
from telecom.numbers import is_valid_id_number

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def catalog(catalog_root):
    return load_catalog(catalog_root)


@pytest.fixture(scope="module")
def records(catalog):
    return generate(catalog.plans, TODAY)


def test_same_seed_same_data(catalog, records):
    assert generate(catalog.plans, TODAY) == records
    assert generate(catalog.plans, TODAY, seed=7)[10:] != records[10:]


def test_sizes(records):
    assert len(records) >= 500
    assert len({r.phone for r in records}) == len(records)
    assert all(len(r.bills) == 6 and len(r.history) == 6 for r in records)
    assert records[0].bills[0].month == "2026-10" and records[0].bills[-1].month == "2026-05"


def test_demo_subscribers_come_first_with_valid_ids(records):
    assert [r.phone for r in records[: len(DEMO_SUBSCRIBERS)]] == [
        d.phone for d in DEMO_SUBSCRIBERS
    ]
    for demo in DEMO_SUBSCRIBERS:
        assert is_valid_id_number(demo.id_number) and demo.try_this


def test_demo_scenarios(records, catalog):
    demo = records[: len(DEMO_SUBSCRIBERS)]
    plans = {r.plan_code: catalog.plan(r.plan_code) for r in demo}
    assert any(r.balance > 0 and r.status == "active" for r in demo)
    assert any(r.balance < 0 for r in demo)
    assert any(r.roaming_active for r in demo)
    assert any(p.kind == "data" and p.used_ratio > 0.9 for r in demo for p in r.packages)
    assert any(p.network == "5G" for p in plans.values())
    assert any(p.category == "family" for p in plans.values())
    assert any(p.is_senior for p in plans.values())


def test_realistic_population(records, catalog):
    assert all(is_valid_id_number(r.id_number) for r in records)
    assert all(r.phone[:3] in PREFIXES and len(r.phone) == 11 for r in records)
    assert all(catalog.plan(r.plan_code) for r in records)
    plans = Counter(r.plan_code for r in records)
    assert len(plans) == len(catalog.plans)
    assert 0.03 < sum(r.balance < 0 for r in records) / len(records) < 0.2
    assert sum(r.roaming_active for r in records) >= 10
    near_empty = sum(
        any(p.kind == "data" and p.used_ratio > 0.9 for p in r.packages) for r in records
    )
    assert near_empty >= 20
    assert len({r.city for r in records}) >= 10
    assert all(2 <= len(r.name) <= 4 for r in records)


def test_bill_items_and_packages(records):
    names = {i.name for r in records for b in r.bills for i in b.items}
    assert names == {"月租", "超出流量", "通话", "短信", "增值业务", "国际漫游"}
    for r in records[:50]:
        assert all(b.total == sum(i.amount for i in b.items) for b in r.bills)
        assert all(p.reset_date == date(2026, 12, 1) for p in r.packages)
        assert all(0 <= p.used <= p.total for p in r.packages)


def test_destinations_with_tariffs(catalog_root):
    if not (catalog_root / "catalog" / "destinations.yml").exists() or "catalog_root" in str(
        catalog_root
    ):
        pytest.skip("catalog/destinations.yml is not in the repository yet (using a sample)")
    catalog = load_catalog(catalog_root)
    priced = [d for d in catalog.destinations if catalog.tariff_for(d.code)]
    assert len(priced) >= 100
