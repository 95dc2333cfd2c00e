"""Plan-change decisions as plain functions: what to recommend, what it costs, when it starts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from telecom.catalog import Plan
from telecom.dates import next_month_first
from telecom.money import yuan

__all__ = [
    "DATA_OVERAGE_FEN_PER_GB",
    "PLAN_PACKAGE_PREFIX",
    "VOICE_OVERAGE_FEN_PER_MIN",
    "Allowance",
    "Recommendation",
    "UsageProfile",
    "allowances",
    "effective_date",
    "estimated_monthly_cost",
    "price_difference",
    "recommend_plans",
]

# Out-of-plan prices used to estimate what a plan really costs for a given usage.
DATA_OVERAGE_FEN_PER_GB = 500  # 5元/GB
VOICE_OVERAGE_FEN_PER_MIN = 15  # 0.15元/分钟
HEADROOM = 1.15  # recommend plans with ~15 % room above average use
PLAN_PACKAGE_PREFIX = "套餐内"  # packages named so come with the plan; others are add-ons


@dataclass(frozen=True)
class Allowance:
    """One package a plan includes every month."""

    name: str
    kind: str  # data | voice | sms
    total: int
    unit: str


def allowances(plan: Plan) -> list[Allowance]:
    """The packages `plan` includes each month: data, voice, and SMS when it has any."""
    included = [
        Allowance(f"{PLAN_PACKAGE_PREFIX}通用流量", "data", plan.data_mb, "MB"),
        Allowance(f"{PLAN_PACKAGE_PREFIX}国内通话", "voice", plan.voice_min, "分钟"),
    ]
    if plan.sms:
        included.append(Allowance(f"{PLAN_PACKAGE_PREFIX}短信", "sms", plan.sms, "条"))
    return included


class MonthlyRecord(Protocol):
    """One month's use (e.g. the store's MonthlyUsage)."""

    @property
    def data_mb(self) -> int: ...

    @property
    def voice_min(self) -> int: ...


@dataclass(frozen=True)
class UsageProfile:
    avg_data_mb: int
    avg_voice_min: int
    peak_data_mb: int = 0
    months: int = 0

    @classmethod
    def from_history(cls, history: Iterable[MonthlyRecord]) -> UsageProfile:
        """From monthly records with `data_mb` and `voice_min` attributes (e.g. MonthlyUsage)."""
        rows = list(history)
        if not rows:
            return cls(0, 0, 0, 0)
        data = [int(r.data_mb) for r in rows]
        voice = [int(r.voice_min) for r in rows]
        return cls(
            avg_data_mb=round(sum(data) / len(rows)),
            avg_voice_min=round(sum(voice) / len(rows)),
            peak_data_mb=max(data),
            months=len(rows),
        )


@dataclass(frozen=True)
class Recommendation:
    plan: Plan
    reason: str  # one short Chinese sentence
    monthly_difference: int  # fen, target fee minus current fee (negative = cheaper)


def price_difference(current: Plan, target: Plan) -> int:
    """Monthly fee of `target` minus that of `current`, in fen (negative means cheaper)."""
    return target.monthly_fee - current.monthly_fee


def effective_date(today: date) -> date:
    """Plan changes take effect on the 1st of next month."""
    return next_month_first(today)


def estimated_monthly_cost(plan: Plan, usage: UsageProfile) -> int:
    """Monthly fee plus what the average use beyond the allowances would cost (fen)."""
    extra_data_mb = max(usage.avg_data_mb - plan.data_mb, 0)
    extra_voice = max(usage.avg_voice_min - plan.voice_min, 0)
    data_cost = -(-extra_data_mb * DATA_OVERAGE_FEN_PER_GB // 1024)  # ceil
    return plan.monthly_fee + data_cost + extra_voice * VOICE_OVERAGE_FEN_PER_MIN


def _gb(mb: int) -> str:
    gb = mb / 1024
    return f"{gb:.0f}GB" if gb >= 10 or gb == int(gb) else f"{gb:.1f}GB"


def _eligible(plan: Plan, current: Plan) -> bool:
    """Not the current plan; family plans only to family customers, 关爱 only to seniors."""
    if plan.code == current.code:
        return False
    if plan.category == "family" and current.category != "family":
        return False
    return current.is_senior or not plan.is_senior


def recommend_plans(
    current: Plan, usage: UsageProfile, plans: Sequence[Plan], *, limit: int = 3
) -> list[Recommendation]:
    """Two or three plans that fit `usage`, cheapest real cost first, each with a reason.

    Plans whose allowances cover average use with headroom come first (cheapest estimated cost),
    a 5G customer is not moved back to 4G, and when nothing fits the closest plans are offered.
    """
    need_data = int(usage.avg_data_mb * HEADROOM)
    need_voice = int(usage.avg_voice_min * HEADROOM)
    candidates = [p for p in plans if _eligible(p, current)]
    if current.network == "5G":
        candidates = [p for p in candidates if p.network == "5G"] or candidates

    def fits(p: Plan) -> bool:
        return p.data_mb >= need_data and p.voice_min >= need_voice

    fitting = sorted(
        (p for p in candidates if fits(p)),
        key=lambda p: (estimated_monthly_cost(p, usage), -p.data_mb),
    )
    others = sorted(
        (p for p in candidates if not fits(p)),
        key=lambda p: (
            -min(p.data_mb / max(need_data, 1), p.voice_min / max(need_voice, 1)),
            p.monthly_fee,
        ),
    )
    chosen = (fitting + others)[: max(limit, 0)]
    current_cost = estimated_monthly_cost(current, usage)
    return [
        Recommendation(
            plan=p,
            reason=_reason(p, current, usage, current_cost, fits(p)),
            monthly_difference=price_difference(current, p),
        )
        for p in chosen
    ]


def _reason(plan: Plan, current: Plan, usage: UsageProfile, current_cost: int, fit: bool) -> str:
    used = (
        f"您近{usage.months or 1}个月平均每月用流量约{_gb(usage.avg_data_mb)}、"
        f"通话约{usage.avg_voice_min}分钟"
    )
    offer = f"{plan.name}含{_gb(plan.data_mb)}流量和{plan.voice_min}分钟通话"
    if not fit:
        return f"{used}，{offer}，是目前最接近您用量的套餐"
    saving = current_cost - estimated_monthly_cost(plan, usage)
    if saving > 0:
        tail = f"够用，算上超出费用每月约省{yuan(saving)}"
    elif plan.network == "5G" and current.network == "4G":
        tail = "够用，还能升级到5G网络"
    else:
        tail = "够用，不用再担心超出套餐"
    return f"{used}，{offer}，{tail}"
