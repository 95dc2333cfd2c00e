"""The operator's catalogues: plans (catalog/plans.yml), roaming destinations and groups
(catalog/destinations.yml) and roaming tariffs per zone (catalog/roaming.yml).

`load_catalog(root)` reads them from a repository root and caches the result until one of the
files changes. A missing destinations.yml gives an empty destination list, not an error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

__all__ = [
    "Catalog",
    "CatalogError",
    "DailyPass",
    "Destination",
    "Group",
    "Plan",
    "RoamingPackage",
    "RoamingTariff",
    "load_catalog",
]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Item = TypeVar("_Item")
PLANS_FILE = Path("catalog/plans.yml")
DESTINATIONS_FILE = Path("catalog/destinations.yml")
ROAMING_FILE = Path("catalog/roaming.yml")


class CatalogError(ValueError):
    """A catalogue file is malformed (names the file and entry, never customer data)."""


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    network: str  # 4G | 5G
    category: str  # individual | data | family
    monthly_fee: int  # fen
    data_mb: int
    voice_min: int
    sms: int
    aliases: tuple[str, ...] = ()

    @property
    def is_senior(self) -> bool:
        return self.code.startswith("SENIOR")


@dataclass(frozen=True)
class Destination:
    name: str  # canonical Simplified Chinese name
    code: str  # ISO 3166-1 alpha-2
    zone: str  # key of roaming.yml zones
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    name: str  # 新马泰, 欧洲 …
    members: tuple[str, ...]  # destination codes
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class DailyPass:
    price: int  # fen per day on which data is used
    high_speed_mb: int  # per day, then throttled
    throttle_kbps: int


@dataclass(frozen=True)
class RoamingPackage:
    days: int
    data_mb: int
    price: int  # fen

    @property
    def label(self) -> str:
        """'7天3GB'."""
        size = f"{self.data_mb // 1024}GB" if self.data_mb % 1024 == 0 else f"{self.data_mb}MB"
        return f"{self.days}天{size}"


@dataclass(frozen=True)
class RoamingTariff:
    zone: str
    zone_name: str
    daily_pass: DailyPass
    packages: tuple[RoamingPackage, ...]
    call_home: int  # fen per minute, calling mainland China
    call_local: int  # fen per minute, calling a local number
    answer: int  # fen per minute, answering
    sms: int  # fen per message sent

    def package_for(self, days: int) -> RoamingPackage | None:
        """The cheapest package that covers a stay of `days`, or None if none is long enough."""
        covering = [p for p in self.packages if p.days >= days]
        return min(covering, key=lambda p: (p.price, p.days)) if covering else None

    def daily_total(self, days: int) -> int:
        """What the daily pass costs if data is used on each of `days` days (fen)."""
        return self.daily_pass.price * max(days, 0)


@dataclass(frozen=True)
class Catalog:
    plans: tuple[Plan, ...]
    destinations: tuple[Destination, ...]
    groups: tuple[Group, ...]
    tariffs: dict[str, RoamingTariff] = field(hash=False)

    # -- plans
    def plan(self, code: str) -> Plan | None:
        return next((p for p in self.plans if p.code == code), None)

    def find_plan(self, text: str) -> Plan | None:
        """A plan by code, name or alias (exact after normalisation, then the longest contained)."""
        return _lookup(text, self._plan_index)

    # -- destinations
    def destination(self, code: str) -> Destination | None:
        return self._by_code.get(code.upper())

    def find_destination(self, text: str) -> Destination | None:
        """A destination by name, alias or ISO code: '香港', 'Japan', '我下周去东京' → 日本."""
        return _lookup(text, self._destination_index, codes=self._by_code)

    def find_group(self, text: str) -> Group | None:
        return _lookup(text, self._group_index)

    def expand_group(self, text: str) -> list[Destination]:
        """The destinations of a group such as 新马泰 or 欧洲; [] when `text` names no group."""
        group = self.find_group(text)
        if group is None:
            return []
        return [self._by_code[c] for c in group.members if c in self._by_code]

    # -- lookup indexes, built on first use
    @cached_property
    def _plan_index(self) -> tuple[_Names[Plan], ...]:
        return _index((p, (p.code, p.name, *p.aliases)) for p in self.plans)

    @cached_property
    def _destination_index(self) -> tuple[_Names[Destination], ...]:
        return _index((d, (d.name, *d.aliases)) for d in self.destinations)

    @cached_property
    def _group_index(self) -> tuple[_Names[Group], ...]:
        return _index((g, (g.name, *g.aliases)) for g in self.groups)

    @cached_property
    def _by_code(self) -> dict[str, Destination]:
        return {d.code: d for d in self.destinations}

    def tariff(self, zone: str) -> RoamingTariff | None:
        return self.tariffs.get(zone)

    def tariff_for(self, destination_code: str) -> RoamingTariff | None:
        destination = self.destination(destination_code)
        return self.tariffs.get(destination.zone) if destination else None


# ------------------------------------------------------------------------------------- matching


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s\-_'’·.,，。!！?？]+", "", text)


def _norm_spaced(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s\-_'’·.,，。!！?？]+", " ", text).strip()


@dataclass(frozen=True)
class _Names(Generic[_Item]):
    """Lookup keys of one catalogue item, normalised and compiled once."""

    item: _Item
    exact: frozenset[str]
    words: tuple[re.Pattern[str], ...]  # ASCII names, matched as whole words
    substrings: tuple[str, ...]  # Chinese names, matched anywhere


def _index(entries: Iterable[tuple[_Item, tuple[str, ...]]]) -> tuple[_Names[_Item], ...]:
    out = []
    for item, names in entries:
        keys = [n for n in names if n and _norm(n)]
        words: list[re.Pattern[str]] = []
        substrings: list[str] = []
        for raw in keys:
            key = _norm(raw)
            if len(key) < 2:
                continue
            if key.isascii():
                body = re.escape(_norm_spaced(raw)).replace(r"\ ", " ?")
                words.append(re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])"))
            else:
                substrings.append(key)
        out.append(_Names(item, frozenset(_norm(k) for k in keys), tuple(words), tuple(substrings)))
    return tuple(out)


def _lookup(
    text: str | None,
    index: tuple[_Names[_Item], ...],
    codes: Mapping[str, _Item] | None = None,
) -> _Item | None:
    if not text or not text.strip():
        return None
    if codes:  # ISO codes only as written in capitals: 'NO' is Norway, 'no' is a refusal
        stripped = text.strip()
        if stripped in codes:
            return codes[stripped]
    query = _norm(text)
    if not query:
        return None
    for names in index:
        if query in names.exact:
            return names.item
    spaced = _norm_spaced(text)
    hits: list[tuple[int, int, _Item]] = []  # (start, end, item)
    for names in index:
        for pattern in names.words:
            hits += [(m.start(), m.end(), names.item) for m in pattern.finditer(spaced)]
        for key in names.substrings:
            start = spaced.find(key)
            while start != -1:
                hits.append((start, start + len(key), names.item))
                start = spaced.find(key, start + 1)
    if not hits:
        return None
    # Drop hits inside a longer hit (印度 inside 印度尼西亚), then take the earliest.
    kept = [
        h
        for h in hits
        if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) for o in hits)
    ]
    kept.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    return kept[0][2]


# -------------------------------------------------------------------------------------- loading


def load_catalog(root: str | Path) -> Catalog:
    """The catalogues under `root` (a repository root), cached until a file changes."""
    root = Path(root).resolve()
    stamps = tuple(_stamp(root / f) for f in (PLANS_FILE, DESTINATIONS_FILE, ROAMING_FILE))
    return _load(root, stamps)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=8)
def _load(root: Path, stamps: tuple[tuple[int, int] | None, ...]) -> Catalog:
    plans = tuple(_plan(p) for p in _read(root / PLANS_FILE).get("plans") or [])
    dest_doc = _read(root / DESTINATIONS_FILE) if stamps[1] else {}
    destinations = tuple(_destination(d) for d in dest_doc.get("destinations") or [])
    groups = tuple(_group(g, destinations) for g in dest_doc.get("groups") or [])
    zones = (_read(root / ROAMING_FILE) if stamps[2] else {}).get("zones") or {}
    tariffs = {str(zone): _tariff(str(zone), spec) for zone, spec in zones.items()}
    return Catalog(plans=plans, destinations=destinations, groups=groups, tariffs=tariffs)


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        doc = yaml.load(handle, Loader=_LOADER) or {}
    if not isinstance(doc, dict):
        raise CatalogError(f"{path.name}: expected a mapping at the top level")
    return doc


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (values or []) if v is not None and str(v).strip())


def _plan(spec: dict[str, Any]) -> Plan:
    try:
        return Plan(
            code=str(spec["code"]),
            name=str(spec["name"]),
            network=str(spec["network"]),
            category=str(spec["category"]),
            monthly_fee=int(spec["monthly_fee"]),
            data_mb=int(spec["data_mb"]),
            voice_min=int(spec["voice_min"]),
            sms=int(spec.get("sms", 0)),
            aliases=_strs(spec.get("aliases")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"plans.yml: bad plan {spec.get('code', '?')!r}: {exc}") from None


def _destination(spec: dict[str, Any]) -> Destination:
    try:
        return Destination(
            name=str(spec["name"]),
            code=str(spec["code"]).upper(),
            zone=str(spec["zone"]),
            aliases=_strs(spec.get("aliases")),
        )
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"destinations.yml: bad destination {spec!r}: {exc}") from None


def _group(spec: dict[str, Any], destinations: tuple[Destination, ...]) -> Group:
    index: dict[str, str] = {}
    for d in destinations:
        for key in (d.code, d.name, *d.aliases):
            index.setdefault(_norm(key), d.code)
    members = spec.get("members") or spec.get("destinations") or spec.get("codes") or []
    codes = []
    for member in members:
        code = index.get(_norm(str(member)))
        if code is None:
            raise CatalogError(f"destinations.yml: group {spec.get('name')!r}: unknown {member!r}")
        codes.append(code)
    return Group(name=str(spec["name"]), members=tuple(codes), aliases=_strs(spec.get("aliases")))


def _tariff(zone: str, spec: dict[str, Any]) -> RoamingTariff:
    try:
        daily = spec["daily_pass"]
        voice = spec["voice"]
        return RoamingTariff(
            zone=zone,
            zone_name=str(spec.get("name", zone)),
            daily_pass=DailyPass(
                price=int(daily["price"]),
                high_speed_mb=int(daily["high_speed_mb"]),
                throttle_kbps=int(daily.get("throttle_kbps", 128)),
            ),
            packages=tuple(
                RoamingPackage(
                    days=int(p["days"]), data_mb=int(p["data_mb"]), price=int(p["price"])
                )
                for p in spec.get("packages") or []
            ),
            call_home=int(voice["call_home"]),
            call_local=int(voice["call_local"]),
            answer=int(voice["answer"]),
            sms=int(spec["sms"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"roaming.yml: bad zone {zone!r}: {exc}") from None
