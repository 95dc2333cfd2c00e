"""The ticket service's request bodies and query values, checked before anything is done, pure:
a JSON object with only the fields named, each of its type and length. Anything else raises
Invalid, which the API answers 422 `invalid` with the reason (English, naming the field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from actions.store.base import OUTAGE_SERVICES
from telecom import tickets

__all__ = [
    "CLOSE_OUTAGE",
    "DECLARE_OUTAGE",
    "DELIVERED",
    "FEEDBACK",
    "SMS",
    "STEP",
    "TEXT_MAX",
    "UPDATE_OUTAGE",
    "WATCH",
    "Invalid",
    "check",
    "parse_json",
    "query_int",
]

TEXT_MAX = 2000  # a response, note, reason, result, remedy (as the store keeps them)
SHORT_MAX = 64  # a city, a district
CAUSE_MAX = 500  # an outage's cause, its result, a feedback comment
LINK_MAX = 1000
_LINK = re.compile(r"https?://[^\s<>\"'{}]+")

Check = Callable[[str, Any], Any]


class Invalid(ValueError):
    """A body or query value the service does not accept; str() says why."""


def parse_json(raw: bytes | None) -> dict[str, Any]:
    """The body as a JSON object ({} when empty)."""
    if not raw or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("the body is not JSON") from None
    if not isinstance(value, dict):
        raise Invalid("the body is not a JSON object")
    return value


def text(maximum: int) -> Check:
    def checked(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"{name} must be text")
        if len(value) > maximum:
            raise Invalid(f"{name} is longer than {maximum} characters")
        return value

    return checked


def one_of(*values: str) -> Check:
    def checked(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in values:
            raise Invalid(f"{name} must be one of {', '.join(values)}")
        return value

    return checked


def whole(low: int, high: int) -> Check:
    def checked(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"{name} must be a whole number from {low} to {high}")
        return value

    return checked


def actor(name: str, value: Any) -> str:
    try:
        tickets.actor_role(value)
    except tickets.TicketRuleError:
        raise Invalid(f"{name} must be agent:<id>, supervisor:<id>, system or customer") from None
    return str(value)


def moment(name: str, value: Any) -> datetime:
    """ISO 8601 with its offset."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Invalid(f"{name} must be an ISO 8601 time with its offset")
    return parsed


def link(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > LINK_MAX or not _LINK.fullmatch(value):
        raise Invalid(f"{name} must be an http(s) URL")
    return value


Spec = Mapping[str, Check]


def check(
    body: dict[str, Any],
    spec: Spec,
    required: tuple[str, ...] = (),
    nullable: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The fields of `body` checked by `spec`: an unknown field, a missing `required` one or a
    wrong value raises Invalid. A null is left out, except in a `nullable` field (kept: it
    clears the value)."""
    unknown = sorted(set(body) - set(spec))
    if unknown:
        raise Invalid(f"unknown field: {unknown[0]}")
    out: dict[str, Any] = {}
    for name, value in body.items():
        if value is None:
            if name in nullable:
                out[name] = None
            continue
        out[name] = spec[name](name, value)
    missing = [name for name in required if out.get(name) is None]
    if missing:
        raise Invalid(f"{missing[0]} is required")
    return out


def query_int(args: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole-number query value (`args` a mapping of name → str) within [low, high]."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise Invalid(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise Invalid(f"{name} must be from {low} to {high}")
    return value


STEP: Spec = {
    "step": one_of(*tickets.STEPS),
    "actor": actor,
    "text": text(TEXT_MAX),
    "team": one_of(*tickets.TEAMS),
    "result": text(TEXT_MAX),
    "remedy": text(TEXT_MAX),
    "rating": whole(1, 5),
    "window": one_of(*tickets.WINDOWS),
}
WATCH: Spec = {}
DELIVERED: Spec = {"via": one_of("conversation")}
SMS: Spec = {"link": link}
FEEDBACK: Spec = {"token": text(200), "rating": whole(1, 5), "comment": text(CAUSE_MAX)}
DECLARE_OUTAGE: Spec = {
    "actor": actor,
    "city": text(SHORT_MAX),
    "district": text(SHORT_MAX),
    "service": one_of(*OUTAGE_SERVICES),
    "description": text(CAUSE_MAX),
    "expected_restore_at": moment,
}
UPDATE_OUTAGE: Spec = {
    "actor": actor,
    "description": text(CAUSE_MAX),
    "expected_restore_at": moment,
}
CLOSE_OUTAGE: Spec = {"actor": actor, "result": text(CAUSE_MAX)}
