"""The pure half of the analysts' annotations (archive/annotations.py): a decision, the
double-annotated sample, Cohen's kappa, an item's status and the decision it is exported with,
and the checks a decision passes before it is recorded."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from archive.placeholders import PLACEHOLDER
from telecom.labels import INTENTS

DOUBLE_SHARE = 0.2
DECISIONS = ("confirm", "correct", "none", "new_intent")
DONE = ("export", "listed", "withheld")  # the export's marks
ANNOTATABLE = frozenset(INTENTS) - {"nlu_fallback"}
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_ENTITIES = 20


class AnnotationError(ValueError):
    """A decision that cannot be recorded; `field` names the offending field (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NoSuchItem(LookupError):
    """No inbox group has this key (a 404)."""


class AnnotationConflict(RuntimeError):
    """The item is not in a state that allows it; `code`: exported | not_disputed (a 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Decision:
    id: int
    key: str
    analyst_id: str
    decision: str
    intent: str | None
    new_intent: str | None
    entities: tuple[tuple[int, int, str], ...]
    batch: str | None
    ts_ms: int

    def label(self) -> str:
        """What agreement compares: the intent, else 'none' or 'new_intent'."""
        return (
            self.intent
            if self.decision in ("confirm", "correct") and self.intent
            else (self.decision)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "analyst_id": self.analyst_id,
            "decision": self.decision,
            "intent": self.intent,
            "new_intent": self.new_intent,
            "entities": [list(e) for e in self.entities],
            "ts_ms": self.ts_ms,
        }


def sampled(key: str) -> bool:
    """Whether the item `key` is annotated twice: DOUBLE_SHARE of keys, by their hash."""
    digest = hashlib.sha256(b"double:" + key.encode()).digest()
    return int.from_bytes(digest[:4], "big") < DOUBLE_SHARE * 2**32


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels: (observed − chance agreement) / (1 − chance).
    None when there are no pairs, or when chance agreement is 1 (both raters gave one and the
    same label throughout: kappa is undefined). Hand-written: scikit-learn is not in the
    router's environment and this is the textbook formula."""
    pairs = list(pairs)
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(first[label] * second[label] for label in first) / (n * n)
    if chance >= 1.0:
        return None
    return round((observed - chance) / (1 - chance), 4)


def latest_by_analyst(decisions: Sequence[Decision]) -> dict[str, Decision]:
    """Each analyst's latest decision, analysts in the order they first decided."""
    found: dict[str, Decision] = {}
    for d in sorted(decisions, key=lambda d: (d.ts_ms, d.id)):
        if d.decision in DECISIONS:
            found.setdefault(d.analyst_id, d)
            found[d.analyst_id] = d
    return found


def status_of(double: bool, decisions: Sequence[Decision]) -> str:
    """open | annotated | double | disputed | settled | exported (inbox.STATUSES)."""
    if any(d.decision in DONE for d in decisions):
        return "exported"
    if any(d.decision == "settle" for d in decisions):
        return "settled"
    analysts = list(latest_by_analyst(decisions).values())
    if not analysts:
        return "open"
    if not double or len(analysts) < 2:
        return "annotated"
    return "double" if analysts[0].label() == analysts[1].label() else "disputed"


def accepted(double: bool, decisions: Sequence[Decision]) -> Decision | None:
    """The decision an item is exported with, None while it has none (or was exported): the
    settle, else both sampled analysts agreeing, else the latest decision outside the sample;
    confirm, correct or settle give an example, none and new_intent only a header line."""
    status = status_of(double, decisions)
    if status == "settled":
        return max((d for d in decisions if d.decision == "settle"), key=lambda d: (d.ts_ms, d.id))
    analysts = list(latest_by_analyst(decisions).values())
    if status == "double":
        return analysts[0]
    if status == "annotated" and not double:
        return max(analysts, key=lambda d: (d.ts_ms, d.id))
    return None


def checked(text: str, predicted: str | None, decision: str, intent: str | None,
            new_intent: str | None, entities: Sequence[Any]) -> tuple[
                str | None, str | None, tuple[tuple[int, int, str], ...]]:  # fmt: skip
    """The (intent, new_intent, entities) a decision records, or AnnotationError."""
    if decision not in DECISIONS:
        raise AnnotationError("decision", f"decision is one of {', '.join(DECISIONS)}")
    if decision == "confirm":
        intent = intent or predicted
        if intent != predicted or intent not in ANNOTATABLE:
            raise AnnotationError("intent", "confirm takes the assistant's predicted intent")
    elif decision == "correct":
        if intent not in ANNOTATABLE:
            raise AnnotationError("intent", "correct needs one of the assistant's intents")
    elif intent is not None:
        raise AnnotationError("intent", f"{decision} takes no intent")
    if decision == "new_intent":
        if not new_intent or not NAME.match(new_intent) or new_intent in INTENTS:
            raise AnnotationError(
                "new_intent", "new_intent needs a new name: a-z, digits and _, not an intent"
            )
    elif new_intent is not None:
        raise AnnotationError("new_intent", "only a new_intent decision names a new intent")
    if entities and decision not in ("confirm", "correct"):
        raise AnnotationError("entities", "only confirm and correct annotate entities")
    return intent, new_intent, spans(text, entities)


def spans(text: str, entities: Sequence[Any]) -> tuple[tuple[int, int, str], ...]:
    """Entity annotations as (start, end, entity) spans of `text`, checked: inside it, not
    empty, not overlapping each other or a placeholder."""
    if len(entities) > MAX_ENTITIES:
        raise AnnotationError("entities", f"at most {MAX_ENTITIES} entities")
    found = []
    for e in entities:
        if isinstance(e, dict):
            start, end, name = e.get("start"), e.get("end"), e.get("entity")
        elif isinstance(e, list | tuple) and len(e) == 3:
            start, end, name = e
        else:
            raise AnnotationError("entities", "an entity is {start, end, entity}")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(name, str)):
            raise AnnotationError("entities", "an entity is {start, end, entity}")
        if not 0 <= start < end <= len(text) or not NAME.match(name):
            raise AnnotationError("entities", "an entity is a named span of the text")
        found.append((start, end, name))
    taken = [(m.start(), m.end(), "") for m in PLACEHOLDER.finditer(text)] + found
    taken.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(taken)):
        raise AnnotationError("entities", "entities overlap each other or a placeholder")
    return tuple(sorted(found))
