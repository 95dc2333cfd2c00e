"""The blind evaluation set (eval/blind/): loading it unchanged, and the measures bench.nlu prints.

The set was written by someone who never saw our training data, from the intent and urgency
definitions only (eval/blind/README.md); beside it, messages that carry no request at all
(eval/blind/UNCLEAR.md), which price the fallback threshold. Both are frozen: a file whose SHA-256
is not the one recorded in eval/blind/SHA256SUMS is refused, and nothing of them is ever trained
on (tests/scripts/test_blind_set.py checks that no text of them is in nlu_data/).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scripts.paths import ROOT

__all__ = [
    "BLIND",
    "FALLBACK",
    "BlindMessage",
    "confusions",
    "load",
    "load_unclear",
    "per_intent",
    "recorded_hash",
    "urgency_report",
]

BLIND = ROOT / "eval" / "blind"
MESSAGES = "messages.jsonl"
UNCLEAR = "unclear.jsonl"  # messages that carry no request: their right reading is nlu_fallback
FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class BlindMessage:
    id: str
    text: str
    intent: str
    urgency: str
    voice: tuple[str, ...]
    also: tuple[str, ...]


def recorded_hash(folder: pathlib.Path = BLIND, name: str = MESSAGES) -> str:
    """The SHA-256 of one of the set's files, recorded in SHA256SUMS when it was frozen."""
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, _, recorded = line.partition("  ")
        if recorded.strip() == name:
            return digest.strip()
    raise ValueError(f"{folder / 'SHA256SUMS'} records no hash for {name}")


def _frozen_lines(folder: pathlib.Path, name: str) -> list[dict[str, Any]]:
    """The JSON lines of a frozen file; ValueError when the file is not the frozen one."""
    raw = (folder / name).read_bytes()
    if hashlib.sha256(raw).hexdigest() != recorded_hash(folder, name):
        raise ValueError(f"{folder / name} changed since it was frozen (SHA256SUMS)")
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def load(folder: pathlib.Path = BLIND) -> list[BlindMessage]:
    """Every message of the frozen set; ValueError when the file is not the frozen one."""
    return [
        BlindMessage(
            id=item["id"],
            text=item["text"],
            intent=item["intent"],
            urgency=item["urgency"],
            voice=tuple(item.get("voice", ())),
            also=tuple(item.get("also", ())),
        )
        for item in _frozen_lines(folder, MESSAGES)
    ]


def load_unclear(folder: pathlib.Path = BLIND) -> list[BlindMessage]:
    """The frozen messages that carry no request (gibberish, fillers, cut-off fragments): their
    right reading is nlu_fallback, and their urgency is not judged."""
    return [
        BlindMessage(
            id=item["id"],
            text=item["text"],
            intent=FALLBACK,
            urgency="",
            voice=tuple(item.get("voice", ())),
            also=(),
        )
        for item in _frozen_lines(folder, UNCLEAR)
    ]


def per_intent(
    truth: Sequence[str], *predictions: Sequence[str]
) -> list[tuple[str, int, list[float]]]:
    """(intent, messages, [accuracy of each prediction list]) per true intent, worst first by
    the first prediction list."""
    rows = []
    for intent in sorted(set(truth)):
        idx = [i for i, t in enumerate(truth) if t == intent]
        accs = [sum(p[i] == intent for i in idx) / len(idx) for p in predictions]
        rows.append((intent, len(idx), accs))
    return sorted(rows, key=lambda row: (row[2][0], row[0]))


def confusions(truth: Sequence[str], predicted: Sequence[str], top: int = 12) -> list[tuple]:
    """The most frequent (true, predicted, count) mistakes."""
    pairs = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    return [(t, p, n) for (t, p), n in pairs.most_common(top)]


@dataclass(frozen=True)
class UrgencyReport:
    critical_recall: float  # critical messages read as critical
    critical_total: int
    low_called_critical: int  # low-urgency messages read as critical
    critical_precision: float
    exact: float  # level read exactly
    missed: list[tuple[str, str]]  # (id, level read) of critical messages not read as critical


def urgency_report(
    messages: Sequence[BlindMessage], predicted: Sequence[str | None]
) -> UrgencyReport:
    pairs = list(zip(messages, predicted, strict=True))
    critical = [(m, p) for m, p in pairs if m.urgency == "critical"]
    called = [(m, p) for m, p in pairs if p == "critical"]
    hit = sum(p == "critical" for _, p in critical)
    return UrgencyReport(
        critical_recall=hit / len(critical) if critical else float("nan"),
        critical_total=len(critical),
        low_called_critical=sum(m.urgency == "low" for m, _ in called),
        critical_precision=hit / len(called) if called else float("nan"),
        exact=sum(m.urgency == p for m, p in pairs) / len(pairs) if pairs else float("nan"),
        missed=[(m.id, str(p)) for m, p in critical if p != "critical"],
    )


# A clear request sent to nlu_fallback costs the customer one turn (the clarifying question with
# the two likeliest requests as buttons); a wrong intent accepted costs two (the wrong flow's
# question is answered or cancelled, then the request is said again).
FALLBACK_COST = 1
WRONG_COST = 2


@dataclass(frozen=True)
class ThresholdCost:
    threshold: float
    fallback: int  # messages with a request sent to nlu_fallback
    fallback_right: int  # … of which the classifier's top intent was right
    wrong: int  # wrong intents accepted for messages with a request
    unclear_accepted: int  # messages without a request (gold nlu_fallback) taken as an intent
    cost: int  # turns lost: fallback × FALLBACK_COST + (wrong + unclear_accepted) × WRONG_COST


def threshold_costs(
    truth: Sequence[str],
    ranked: Sequence[Sequence[tuple[str, float]]],
    thresholds: Sequence[float],
    ambiguity: float,
) -> list[ThresholdCost]:
    """What a FallbackClassifier threshold would cost on these messages. `ranked` holds each
    message's intents with confidences, best first: a message falls back when its top
    confidence is under the threshold or the top two are within `ambiguity`, and always when its
    top is nlu_fallback (a component decided it whatever the threshold). A gold nlu_fallback
    costs nothing when it falls back and a wrong intent's turns when it is accepted."""
    rows = []
    for threshold in thresholds:
        fallback = fallback_right = wrong = unclear_accepted = 0
        for gold, ranking in zip(truth, ranked, strict=True):
            top, confidence = ranking[0]
            second = ranking[1][1] if len(ranking) > 1 else 0.0
            falls = top == FALLBACK or confidence < threshold or confidence - second < ambiguity
            if gold == FALLBACK:
                unclear_accepted += not falls
            elif falls:
                fallback += 1
                fallback_right += top == gold
            elif top != gold:
                wrong += 1
        rows.append(
            ThresholdCost(
                threshold,
                fallback,
                fallback_right,
                wrong,
                unclear_accepted,
                fallback * FALLBACK_COST + (wrong + unclear_accepted) * WRONG_COST,
            )
        )
    return rows
