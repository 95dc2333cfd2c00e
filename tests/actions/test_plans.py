from __future__ import annotations

from datetime import date

import pytest

from actions.plans import (
    UsageProfile,
    effective_date,
    estimated_monthly_cost,
    price_difference,
    recommend_plans,
)
from actions.store.base import MonthlyUsage
from telecom.catalog import load_catalog


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
