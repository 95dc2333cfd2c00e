from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from actions.plans import (
    DATA_OVERAGE_FEN_PER_GB,
    PLAN_PACKAGE_PREFIX,
    VOICE_OVERAGE_FEN_PER_MIN,
    Allowance,
    UsageProfile,
    allowances,
    effective_date,
    estimated_monthly_cost,
    price_difference,
    recommend_plans,
)
from actions.store.base import MonthlyUsage
from telecom.catalog import Plan, load_catalog


@pytest.fixture(scope="module")
def catalog(catalog_root):
    return load_catalog(catalog_root)


@pytest.fixture
def usage():
    """create(data_gb, voice_min, months=6) → a UsageProfile from a flat history."""

    def create(data_gb: float, voice_min: int, months: int = 6) -> UsageProfile:
        history = [
            MonthlyUsage(f"2026-{m:02d}", int(data_gb * 1024), voice_min, 10)
            for m in range(5, 5 + months)
        ]
        return UsageProfile.from_history(history)

    return create


def test_price_difference(catalog):
    assert price_difference(catalog.plan("4G_STANDARD_39"), catalog.plan("5G_STARTER_79")) == 4000
    assert price_difference(catalog.plan("5G_PREMIUM_199"), catalog.plan("5G_PLUS_129")) == -7000


@pytest.mark.parametrize(
    ("today", "first"),
    [(date(2026, 11, 23), date(2026, 12, 1)), (date(2026, 12, 1), date(2027, 1, 1))],
)
def test_effective_date_is_first_of_next_month(today, first):
    assert effective_date(today) == first


def test_usage_profile_from_history(usage):
    profile = usage(12, 150)
    assert profile.avg_data_mb == 12 * 1024 and profile.avg_voice_min == 150 and profile.months == 6
    assert UsageProfile.from_history([]).avg_data_mb == 0


def test_heavy_data_user_gets_plans_that_cover_the_use(catalog, usage):
    profile = usage(45, 150)
    recs = recommend_plans(catalog.plan("4G_STANDARD_39"), profile, catalog.plans)
    assert 2 <= len(recs) <= 3
    for rec in recs:
        assert rec.plan.data_mb >= 45 * 1024
        assert rec.plan.code != "4G_STANDARD_39"
        assert "流量" in rec.reason
        assert rec.monthly_difference == rec.plan.monthly_fee - 3900
    costs = [estimated_monthly_cost(r.plan, profile) for r in recs]
    assert costs == sorted(costs)


def test_light_user_on_big_plan_is_offered_a_cheaper_one(catalog, usage):
    recs = recommend_plans(catalog.plan("5G_PREMIUM_199"), usage(8, 100), catalog.plans)
    assert recs[0].monthly_difference < 0
    assert "省" in recs[0].reason


def test_5g_customer_is_not_moved_back_to_4g(catalog, usage):
    recs = recommend_plans(catalog.plan("5G_STARTER_79"), usage(3, 50), catalog.plans)
    assert recs and all(r.plan.network == "5G" for r in recs)


def test_family_and_senior_plans_only_for_their_customers(catalog, usage):
    individual = recommend_plans(catalog.plan("4G_STANDARD_39"), usage(1, 30), catalog.plans)
    assert all(r.plan.category != "family" and not r.plan.is_senior for r in individual)
    family = recommend_plans(catalog.plan("FAMILY_169"), usage(150, 1500), catalog.plans)
    assert family[0].plan.code == "FAMILY_239"


def test_usage_beyond_every_plan_still_gets_the_closest(catalog, usage):
    recs = recommend_plans(catalog.plan("5G_PREMIUM_199"), usage(500, 3000), catalog.plans)
    assert len(recs) >= 2
    assert all(r.reason for r in recs)


# -- exact rules on small made-up plans (every boundary and every text) ------------------------
def plan(code: str, fee: int, data_mb: int, voice: int, **kw) -> Plan:
    fields = {"network": "5G", "category": "individual", "sms": 0, **kw}
    return Plan(code, f"{code}套餐", monthly_fee=fee, data_mb=data_mb, voice_min=voice, **fields)


def profile(data_mb: int, voice: int, months: int = 3) -> UsageProfile:
    return UsageProfile(data_mb, voice, data_mb, months)


def test_allowances_are_data_voice_and_sms_when_any():
    assert allowances(plan("A", 3900, 2048, 100)) == [
        Allowance("套餐内通用流量", "data", 2048, "MB"),
        Allowance("套餐内国内通话", "voice", 100, "分钟"),
    ]
    assert allowances(plan("B", 3900, 2048, 100, sms=50))[2:] == [
        Allowance("套餐内短信", "sms", 50, "条")
    ]
    assert PLAN_PACKAGE_PREFIX == "套餐内"


def test_usage_profile_rounds_averages_and_keeps_the_peak():
    history = [MonthlyUsage("2026-09", 1000, 10, 0), MonthlyUsage("2026-10", 1003, 13, 0)]
    assert UsageProfile.from_history(history) == UsageProfile(1002, 12, 1003, 2)
    assert UsageProfile.from_history([]) == UsageProfile(0, 0, 0, 0)
    assert UsageProfile(1, 2) == UsageProfile(1, 2, 0, 0)


def test_estimated_cost_adds_overage_rounded_up_per_fen():
    p = plan("A", 3900, 1024, 100)
    assert (DATA_OVERAGE_FEN_PER_GB, VOICE_OVERAGE_FEN_PER_MIN) == (500, 15)
    assert estimated_monthly_cost(p, profile(1024, 100)) == 3900
    assert estimated_monthly_cost(p, profile(0, 0)) == 3900  # unused allowance is no credit
    assert estimated_monthly_cost(p, profile(1025, 100)) == 3901  # 1 MB: 500/1024 fen, rounded up
    assert estimated_monthly_cost(p, profile(2048, 100)) == 4400
    assert estimated_monthly_cost(p, profile(1024, 110)) == 4050


def test_headroom_is_fifteen_percent():
    fits, short = plan("FIT", 5000, 1150, 115), plan("SHORT", 4000, 1149, 115)
    recs = recommend_plans(plan("CUR", 9900, 100, 10), profile(1000, 100), [fits, short])
    assert [r.plan.code for r in recs] == ["FIT", "SHORT"]
    assert recs[0].reason.endswith("够用，算上超出费用每月约省66.90元")
    assert recs[1].reason.endswith("是目前最接近您用量的套餐")


def test_cheapest_real_cost_first_then_more_data():
    plans = [
        plan("BIG", 5000, 8192, 500),
        plan("SAME", 5000, 4096, 500),
        plan("CHEAP", 3000, 4096, 500),
        plan("CUR", 9900, 100, 10),
    ]
    recs = recommend_plans(plans[3], profile(2048, 100), plans, limit=5)
    assert [r.plan.code for r in recs] == ["CHEAP", "BIG", "SAME"]
    assert [r.monthly_difference for r in recs] == [-6900, -4900, -4900]
    assert recommend_plans(plans[3], profile(2048, 100), plans, limit=1)[0].plan.code == "CHEAP"
    assert recommend_plans(plans[3], profile(2048, 100), plans, limit=0) == []
    assert recommend_plans(plans[3], profile(2048, 100), plans, limit=-1) == []
    assert len(recommend_plans(plans[3], profile(2048, 100), plans)) == 3


def test_closest_plans_when_nothing_fits_then_cheapest():
    current = plan("CUR", 9900, 100, 10)
    plans = [
        plan("HALF", 6000, 5000, 1000),
        plan("HALF_CHEAP", 5000, 5000, 1000),
        plan("TENTH", 1000, 1000, 1000),
        current,
    ]
    recs = recommend_plans(current, profile(8696, 100), plans)  # needs 10000 MB
    assert [r.plan.code for r in recs] == ["HALF_CHEAP", "HALF", "TENTH"]
    assert recs[0].reason == (
        "您近3个月平均每月用流量约8.5GB、通话约100分钟，"
        "HALF_CHEAP套餐含4.9GB流量和1000分钟通话，是目前最接近您用量的套餐"
    )
    # nothing needed at all: closeness divides by at least 1, not by zero
    none_needed = recommend_plans(current, profile(0, 0, months=0), plans[:1])
    assert none_needed[0].reason.startswith("您近1个月平均每月用流量约0GB、通话约0分钟，")


def test_5g_customers_stay_on_5g_unless_there_is_none():
    current = plan("CUR", 9900, 100, 10)
    four_g, five_g = plan("4G", 1000, 9000, 900, network="4G"), plan("5G", 9000, 200, 20)
    assert [r.plan.code for r in recommend_plans(current, profile(100, 10), [four_g, five_g])] == [
        "5G"
    ]
    assert [r.plan.code for r in recommend_plans(current, profile(100, 10), [four_g])] == ["4G"]
    from_4g = recommend_plans(
        plan("CUR4", 1000, 100, 10, network="4G"), profile(100, 10), [four_g, five_g]
    )
    assert [r.plan.code for r in from_4g] == ["4G", "5G"]
    assert from_4g[1].reason.endswith("够用，还能升级到5G网络")


def test_who_may_get_family_and_senior_plans():
    family = plan("FAM", 1000, 9000, 900, category="family")
    senior = plan("SENIOR_X", 1000, 9000, 900)
    other = plan("OTHER", 1000, 9000, 900)
    individual = plan("CUR", 9900, 100, 10)
    assert [
        r.plan.code for r in recommend_plans(individual, profile(100, 10), [family, senior, other])
    ] == ["OTHER"]
    fam_current = plan("FAM0", 9900, 100, 10, category="family")
    assert {
        r.plan.code for r in recommend_plans(fam_current, profile(100, 10), [family, other])
    } == {
        "FAM",
        "OTHER",
    }
    senior_current = plan("SENIOR_0", 9900, 100, 10)
    assert {
        r.plan.code for r in recommend_plans(senior_current, profile(100, 10), [senior, other])
    } == {"SENIOR_X", "OTHER"}
    assert recommend_plans(individual, profile(100, 10), [individual]) == []


def test_reason_texts():
    current = plan("CUR", 3000, 20480, 1000)
    same = plan("SAME", 3000, 10752, 1000)  # fits, costs the same: no saving
    recs = recommend_plans(current, profile(1536, 10, months=6), [same])
    assert recs[0].reason == (
        "您近6个月平均每月用流量约1.5GB、通话约10分钟，"
        "SAME套餐含10GB流量和1000分钟通话，够用，不用再担心超出套餐"
    )
    pricier = plan("PRICIER", 3001, 1024, 1000)
    assert recommend_plans(current, profile(512, 10), [pricier])[0].reason.endswith(
        "PRICIER套餐含1GB流量和1000分钟通话，够用，不用再担心超出套餐"
    )
    assert "约0.5GB" in recommend_plans(current, profile(512, 10), [pricier])[0].reason


def test_more_edges_of_cost_fit_and_closeness():
    p = plan("A", 3900, 1024, 100)
    assert estimated_monthly_cost(p, profile(1024 + 10240, 100)) == 3900 + 5000  # 10 GB over
    current = plan("CUR", 9900, 100, 10)
    # voice needs 20 x 1.15 = 23 minutes: 23 fits, 22 does not
    recs = recommend_plans(
        current, profile(0, 20), [plan("V22", 1000, 9000, 22), plan("V23", 2000, 9000, 23)]
    )
    assert [r.plan.code for r in recs] == ["V23", "V22"]
    assert "够用" in recs[0].reason
    assert recs[1].reason.endswith("是目前最接近您用量的套餐")
    # nothing fits on voice and no data is needed: the data ratio divides by 1
    c, d = plan("C", 1000, 1, 90), plan("D", 1000, 100, 60)
    assert [r.plan.code for r in recommend_plans(current, profile(0, 87), [d, c])] == ["C", "D"]
    # nothing fits on data and no voice is needed: the voice ratio divides by 1
    e, f = plan("E", 1000, 900, 1), plan("F", 1000, 600, 100)
    assert [r.plan.code for r in recommend_plans(current, profile(870, 0), [f, e])] == ["E", "F"]
    # the voice ratio decides: the plan with more of the minutes needed first, whatever its fee
    g, h = plan("G", 1000, 90000, 50), plan("H", 2000, 90000, 80)
    assert [r.plan.code for r in recommend_plans(current, profile(870, 87), [g, h])] == ["H", "G"]


def test_a_saving_of_one_fen_is_a_saving_and_values_are_frozen():
    recs = recommend_plans(
        plan("CUR", 3001, 1024, 100), profile(10, 10), [plan("P", 3000, 1024, 100)]
    )
    assert recs[0].reason.endswith("够用，算上超出费用每月约省0.01元")
    for value, name in (
        (allowances(plan("A", 1, 1, 1))[0], "total"),
        (profile(1, 1), "months"),
        (recs[0], "monthly_difference"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, 2)
