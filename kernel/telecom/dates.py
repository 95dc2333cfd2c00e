"""Months and billing dates as customers say them: 上个月, 3月, 三月份, 2026年3月, 2026-03."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta, timezone

from telecom.numbers import TRADITIONAL_QUANTITY_CHARS, cn_number

__all__ = ["CHINA_TZ", "add_months", "month_key", "next_month_first", "parse_month"]

# China Standard Time, no daylight saving: bills, plan changes, ticket numbers follow it
CHINA_TZ = timezone(timedelta(hours=8))

_RELATIVE = (
    (re.compile(r"上上个?月"), -2),
    (re.compile(r"上个?月|前一个?月"), -1),
    (re.compile(r"本月|这个?月|当月|今月"), 0),
    (re.compile(r"下个?月"), 1),
)
_AGO = re.compile(r"(?P<n>\d+|[一二两三四五六七八九十]+)个月(?:以)?前")
_ISO = re.compile(
    r"(?<!\d)(?P<y>20\d\d)\s*[-/.年]\s*(?P<m>\d{1,2}|[一二三四五六七八九十]+)(?:\s*月)?(?!\d)"
)
_MONTH = re.compile(
    r"(?P<prefix>去年|今年|前年)?\s*(?P<m>\d{1,2}|十[一二]?|[一二三四五六七八九])\s*月"
)


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def add_months(day: date, months: int) -> tuple[int, int]:
    """(year, month) of the month `months` away from `day`'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return index // 12, index % 12 + 1


def next_month_first(today: date) -> date:
    """The 1st of the month after `today` (plan changes take effect then, packages reset then)."""
    year, month = add_months(today, 1)
    return date(year, month, 1)


def parse_month(text: str | None, today: date) -> str | None:
    """The billing month meant by `text` as 'YYYY-MM', or None.

    A month without a year is the latest such month not after today (in November, '12月' is last
    December). '3个月' is a duration, not a month, and gives None.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).translate(TRADITIONAL_QUANTITY_CHARS)
    iso = _ISO.search(text)
    if iso:
        month = cn_number(iso.group("m"))
        if month and 1 <= month <= 12:
            return month_key(int(iso.group("y")), month)
    ago = _AGO.search(text)
    if ago:
        n = cn_number(ago.group("n"))
        if n is not None:
            return month_key(*add_months(today, -n))
    for pattern, offset in _RELATIVE:
        if pattern.search(text):
            return month_key(*add_months(today, offset))
    for match in _MONTH.finditer(text):
        month = cn_number(match.group("m"))
        if not month or not 1 <= month <= 12:
            continue
        prefix = match.group("prefix")
        if prefix == "去年":
            return month_key(today.year - 1, month)
        if prefix == "前年":
            return month_key(today.year - 2, month)
        if prefix == "今年" or month <= today.month:
            return month_key(today.year, month)
        return month_key(today.year - 1, month)
    return None
