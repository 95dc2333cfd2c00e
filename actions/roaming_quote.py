"""Roaming replies as plain functions: what the customer wants done, and the tariff quote."""

from __future__ import annotations

import re
from collections.abc import Sequence

from telecom import mask
from telecom.catalog import Destination, RoamingTariff
from telecom.money import yuan

_DEACTIVATE = re.compile(r"(关闭|关掉|关了|取消|停掉|停用|不要了|注销|關閉|取消掉)")
_ACTIVATE = re.compile(r"(开通|开一下|开个|打开|办理|办一下|开启|開通|辦理)")
_STATUS = re.compile(r"(开了没|开通了吗|有没有开|开没开|是否开通|状态)")


def infer_roaming_action(text: str) -> str | None:
    """'activate', 'deactivate', 'status' or None (a price question) from the customer's words."""
    if not text:
        return None
    if _STATUS.search(text):
        return "status"
    if _DEACTIVATE.search(text):
        return "deactivate"
    if _ACTIVATE.search(text):
        return "activate"
    return None


def _size(mb: int) -> str:
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


def tariff_lines(tariff: RoamingTariff, days: int | None = None) -> list[str]:
    """Daily pass, packages and voice/SMS prices of one zone; the best package for `days`."""
    dp = tariff.daily_pass
    lines = [
        f"· 按天计费：{yuan(dp.price)}/天（当天使用流量才收费），"
        f"每天高速 {_size(dp.high_speed_mb)}，"
        f"超出后限速 {dp.throttle_kbps}kbps",
    ]
    if tariff.packages:
        packs = "、".join(f"{p.label} {yuan(p.price)}" for p in tariff.packages)
        lines.append(f"· 流量包：{packs}")
    lines.append(
        f"· 通话：拨打国内 {yuan(tariff.call_home)}/分钟，拨打当地 {yuan(tariff.call_local)}/分钟，"
        f"接听 {yuan(tariff.answer)}/分钟；发短信 {yuan(tariff.sms)}/条，接收免费"
    )
    if days:
        best = tariff.package_for(days)
        by_day = tariff.daily_total(days)
        if best is not None and best.price < by_day:
            lines.append(
                f"· 按您停留 {days} 天计算，推荐 {best.label} 流量包（{yuan(best.price)}），"
                f"比每天按天计费（最多 {yuan(by_day)}）更划算"
            )
        else:
            lines.append(f"· 按您停留 {days} 天计算，按天计费最多 {yuan(by_day)}")
    return lines


def quote(
    destinations: Sequence[Destination], tariffs: dict[str, RoamingTariff], days: int | None = None
) -> str:
    """The quote for one destination or a group; members sharing a zone are quoted once.

    `tariffs` maps destination code → RoamingTariff.
    """
    by_zone: dict[str, list[Destination]] = {}
    for d in destinations:
        by_zone.setdefault(d.zone, []).append(d)
    parts = []
    for zone_dests in by_zone.values():
        tariff = tariffs[zone_dests[0].code]
        names = "、".join(d.name for d in zone_dests)
        parts.append(
            "\n".join([f"{names}（{tariff.zone_name}资费）：", *tariff_lines(tariff, days)])
        )
    return "\n".join(parts)


def status_line(phone: str, active: bool) -> str:
    if active:
        return f"{mask.phone(phone)} 已开通国际漫游，出境后开机即可使用。"
    return f"{mask.phone(phone)} 目前未开通国际漫游，出境前需要先开通。"


def unknown_destination(text: str) -> str:
    shown = re.sub(r"[^\w\u4e00-\u9fff]", "", mask.text(text or ""))[:20]
    named = f"“{shown}”" if shown else "这个地方"
    return (
        f"抱歉，没有查到{named}的国际漫游资费。请告诉我具体的国家或地区中文名称，"
        "例如“日本”“泰国”“新马泰”“欧洲”，或回复“取消”。"
    )
