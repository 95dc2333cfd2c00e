from __future__ import annotations

from pathlib import Path

import pytest

from telecom.catalog import CatalogError, load_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_plans_and_tariffs_load(make_catalog_root):
    catalog = load_catalog(make_catalog_root())
    assert catalog.plan("5G_DATA_99").monthly_fee == 9900
    assert {"HMT", "ASIA1", "ASIA2", "EU", "NA", "OCE", "LATAM", "AFRICA", "ME"} <= set(
        catalog.tariffs
    )
    hmt = catalog.tariff("HMT")
    assert hmt.daily_pass.price == 1000 and hmt.daily_pass.high_speed_mb == 1024


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("香港", "中国香港"),
        ("hong kong", "中国香港"),
        ("HK", "中国香港"),
        ("JP", "日本"),
        ("我下周去东京出差", "日本"),
        ("去印度", "印度"),
        ("印度尼西亚", "印度尼西亚"),  # not 印度
        ("马来", "马来西亚"),
        ("先去日本再去美国", "日本"),
        ("Norway", "挪威"),
    ],
)
def test_find_destination(make_catalog_root, text, name):
    assert load_catalog(make_catalog_root()).find_destination(text).name == name


@pytest.mark.parametrize("text", ["火星", "", "   ", "plus", "no"])
def test_unknown_destination(make_catalog_root, text):
    assert load_catalog(make_catalog_root()).find_destination(text) is None


def test_expand_group(make_catalog_root):
    catalog = load_catalog(make_catalog_root())
    assert [d.name for d in catalog.expand_group("新马泰")] == ["新加坡", "马来西亚", "泰国"]
    assert [d.code for d in catalog.expand_group("打算去新马泰三国玩")] == ["SG", "MY", "TH"]
    assert catalog.expand_group("日本") == []


def test_missing_destinations_file_gives_empty_list(make_catalog_root):
    catalog = load_catalog(make_catalog_root(destinations=None))
    assert catalog.destinations == () and catalog.find_destination("日本") is None
    assert catalog.plans


def test_cache_reloads_when_a_file_changes(make_catalog_root):
    root = make_catalog_root()
    first = load_catalog(root)
    assert load_catalog(root) is first
    path = root / "catalog" / "destinations.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("东京", "东京, 大阪"), "utf-8")
    assert load_catalog(root).find_destination("大阪").code == "JP"


def test_unknown_group_member_is_an_error(make_catalog_root):
    root = make_catalog_root(
        destinations="destinations: []\ngroups:\n  - {name: 新马泰, members: [新加坡]}\n"
    )
    with pytest.raises(CatalogError):
        load_catalog(root)


def test_plan_lookup_by_alias(make_catalog_root):
    catalog = load_catalog(make_catalog_root())
    assert catalog.find_plan("流量王").code == "5G_DATA_99"
    assert catalog.find_plan("我想换成家庭套餐").code == "FAMILY_169"


def test_roaming_package_choice(make_catalog_root):
    asia = load_catalog(make_catalog_root()).tariff("ASIA1")
    assert asia.package_for(7).label == "7天3GB"
    assert asia.package_for(7).price == 6800
    assert asia.package_for(400) is None
    assert asia.daily_total(3) == 3 * asia.daily_pass.price


def test_real_catalog_every_destination_has_a_tariff():
    if not (REPO_ROOT / "catalog" / "destinations.yml").exists():
        pytest.skip("catalog/destinations.yml not written yet")
    catalog = load_catalog(REPO_ROOT)
    assert len(catalog.destinations) >= 100
    missing = {d.zone for d in catalog.destinations} - set(catalog.tariffs)
    assert not missing
    for tariff in catalog.tariffs.values():
        assert tariff.packages and tariff.daily_pass.price > 0
