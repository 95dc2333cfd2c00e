from __future__ import annotations

from datetime import date, timedelta

import pytest

from telecom.dates import CHINA_TZ, add_months, month_key, next_month_first, parse_month

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("上个月", "2026-10"),
        ("上月账单", "2026-10"),
        ("上上个月", "2026-09"),
        ("本月", "2026-11"),
        ("这个月", "2026-11"),
        ("3月", "2026-03"),
        ("三月份", "2026-03"),
        ("十月份的话费", "2026-10"),
        ("十一月", "2026-11"),
        ("12月", "2025-12"),  # no year: the latest December not after today
        ("去年3月", "2025-03"),
        ("2026年3月", "2026-03"),
        ("2026-03", "2026-03"),
        ("2025/12", "2025-12"),
        ("３月", "2026-03"),
        ("三个月前", "2026-08"),
        ("3月5日那笔", "2026-03"),
    ],
)
def test_parse_month(text, month):
    assert parse_month(text, TODAY) == month


@pytest.mark.parametrize("text", ["", None, "3个月", "一个月", "13月", "查话费"])
def test_parse_month_none(text):
    assert parse_month(text, TODAY) is None


def test_parse_month_across_new_year():
    assert parse_month("上个月", date(2027, 1, 5)) == "2026-12"
    assert parse_month("上上个月", date(2027, 1, 5)) == "2026-11"


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2026, 11, 23), date(2026, 12, 1)),
        (date(2026, 12, 31), date(2027, 1, 1)),
        (date(2026, 1, 1), date(2026, 2, 1)),
    ],
)
def test_next_month_first(today, first):
    assert next_month_first(today) == first


def test_add_months():
    assert add_months(date(2026, 3, 15), -3) == (2025, 12)
    assert add_months(date(2026, 3, 15), 10) == (2027, 1)


def test_parse_month_reads_traditional_characters():
    from datetime import date

    from telecom.dates import parse_month

    assert parse_month("上個月的帳單", date(2026, 11, 23)) == "2026-10"


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("下个月", "2026-12"),
        ("前一个月", "2026-10"),
        ("当月", "2026-11"),
        ("今月", "2026-11"),
        ("0个月前", "2026-11"),  # zero months ago is still a number
        ("12个月以前", "2025-11"),
        ("两个月前", "2026-09"),
        ("11月", "2026-11"),  # this month counts as not after today
        ("今年12月", "2026-12"),
        ("前年3月", "2024-03"),
        ("2026年十二月", "2026-12"),
        ("2026.3", "2026-03"),
        ("2026 年 3 月", "2026-03"),
        ("12月和3月", "2025-12"),  # the first month named
        ("0月或者5月", "2026-05"),  # not a month, then one
        ("1月", "2026-01"),
        ("2025年1月", "2025-01"),
    ],
)
def test_parse_month_more(text, month):
    assert parse_month(text, TODAY) == month


@pytest.mark.parametrize("text", ["2026-00", "2026年13月", "0月", "20261月"])
def test_parse_month_not_a_month(text):
    assert parse_month(text, TODAY) is None


def test_keys_and_the_china_time_zone():
    assert month_key(2026, 3) == "2026-03" and month_key(999, 12) == "0999-12"
    assert CHINA_TZ.utcoffset(None) == timedelta(hours=8)
    assert add_months(date(2026, 12, 1), 0) == (2026, 12)
    assert add_months(date(2026, 1, 31), -1) == (2025, 12)
