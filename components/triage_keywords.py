"""The triage word lists (catalog/triage_keywords.yml), checked and compiled once.

`keywords()` reads the file the first time a rule needs it (never at import) and keeps the
compiled patterns for the life of the process; `load_keywords(path)` reads another file, for
tests. A malformed file raises `KeywordsError` naming the key, so a bad edit stops the NLU
component and the action server at their first triage rather than silently matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["KEYWORDS_FILE", "Keywords", "KeywordsError", "keywords", "load_keywords"]

KEYWORDS_FILE = Path(__file__).resolve().parents[1] / "catalog" / "triage_keywords.yml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The names the rules in components/triage_rules.py look up; the file must have exactly these.
SIGNALS = (
    "regulator", "media", "legal", "personal_data", "staff_misconduct", "safety", "repeated",
    "business", "business_hurt", "business_down", "now", "habitual", "in_progress", "fraud",
    "rapid_charging", "emergency", "vulnerable", "cut_off", "alone_or_sudden", "past",
    "urgent_words", "not_urgent", "time_critical_need", "stalled", "outage_words",
    "threat", "threat_intent", "data_leak", "hypothetical", "lost_phone", "payment_bound",
    "suspend", "suspected_fraud", "unexplained",
)  # fmt: skip
VOTES = {
    "complaint_category": ("service", "product", "fee", "network", "other"),
    "fault_category": ("hardware", "software", "network", "business"),
    "fault_service": ("mobile", "broadband", "tv"),
}
TICKET_LABELS = {
    "complaint_category": VOTES["complaint_category"],
    "fault_category": VOTES["fault_category"],
    "fault_service": VOTES["fault_service"],
}
TICKET_LISTS = ("major", "moderate", "handling", "fillers")
TONE_LISTS = ("angry", "calm")


class KeywordsError(ValueError):
    """The keyword file is malformed (names the key, never a customer's text)."""


Labelled = tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True, eq=False)
class Keywords:
    """Compiled patterns; a labelled list keeps the file's order (a vote's tie-break, a ticket
    check's first match)."""

    large_amount_yuan: float
    amounts_before: str  # alternation source, embedded in the amount pattern
    amounts_fillers: str
    signals: Mapping[str, re.Pattern[str]]
    votes: Mapping[str, Labelled]
    tickets: Mapping[str, Labelled]
    ticket_lists: Mapping[str, re.Pattern[str]]
    tone: Mapping[str, re.Pattern[str]]


def _words(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(w, str) for w in value):
        raise KeywordsError(f"{where}: expected a non-empty list of strings")
    for word in value:
        try:
            re.compile(word)
        except re.error as exc:
            raise KeywordsError(f"{where}: bad pattern ({exc})") from None
    return value


def _pattern(value: Any, where: str) -> re.Pattern[str]:
    return re.compile("|".join(_words(value, where)))


def _section(data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise KeywordsError(f"{where}{key}: expected a mapping")
    return value


def _labelled(section: Mapping[str, Any], key: str, known: Sequence[str], where: str) -> Labelled:
    labels = _section(section, key, where)
    unknown = sorted(set(labels) - set(known))
    if unknown:
        raise KeywordsError(f"{where}{key}: unknown labels {unknown}")
    return tuple(
        (label, _pattern(words, f"{where}{key}.{label}")) for label, words in labels.items()
    )


def _exactly(section: Mapping[str, Any], names: Sequence[str], where: str) -> None:
    missing = [n for n in names if n not in section]
    extra = sorted(set(section) - set(names))
    if missing or extra:
        raise KeywordsError(f"{where}: missing {missing}, unknown {extra}")


def load_keywords(path: Path = KEYWORDS_FILE) -> Keywords:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise KeywordsError(f"{path.name}: unreadable ({type(exc).__name__})") from None
    if not isinstance(data, Mapping):
        raise KeywordsError(f"{path.name}: expected a mapping")
    amount = data.get("large_amount_yuan")
    if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
        raise KeywordsError("large_amount_yuan: expected a positive number")
    amounts = _section(data, "amounts")
    signals = _section(data, "signals")
    _exactly(signals, SIGNALS, "signals")
    votes = _section(data, "votes")
    _exactly(votes, tuple(VOTES), "votes")
    tickets = _section(data, "tickets")
    _exactly(tickets, (*TICKET_LABELS, *TICKET_LISTS), "tickets")
    tone = _section(data, "tone")
    _exactly(tone, TONE_LISTS, "tone")
    return Keywords(
        large_amount_yuan=amount,
        amounts_before="|".join(_words(amounts.get("before"), "amounts.before")),
        amounts_fillers="|".join(_words(amounts.get("fillers"), "amounts.fillers")),
        signals={name: _pattern(signals[name], f"signals.{name}") for name in SIGNALS},
        votes={task: _labelled(votes, task, known, "votes.") for task, known in VOTES.items()},
        tickets={
            task: _labelled(tickets, task, known, "tickets.")
            for task, known in TICKET_LABELS.items()
        },
        ticket_lists={n: _pattern(tickets[n], f"tickets.{n}") for n in TICKET_LISTS},
        tone={name: _pattern(tone[name], f"tone.{name}") for name in TONE_LISTS},
    )


@lru_cache(maxsize=1)
def keywords() -> Keywords:
    """The keyword file of this checkout, read once."""
    return load_keywords()
