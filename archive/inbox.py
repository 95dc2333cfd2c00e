"""The analysts' inbox: the customer turns worth a look, most useful first (docs/analysts.md).

A customer turn of the archive (a `turns` row with its masked message) is a candidate for one
or more reasons (`REASONS`); candidates whose normalised text is equal or nearly so are one
group (`group`); a group's score is its turns' mean score (`score`) grown with the traffic it
stands for (`group_score`). Only placeholder text (archive/placeholders.py) leaves this module.
Reading the inbox is reading customer text: the caller audits it (router/audit.py).
"""

from __future__ import annotations

import functools
import hashlib
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from archive.placeholders import PLACEHOLDER, placeholder_text

__all__ = [
    "REASONS",
    "STATUSES",
    "Candidate",
    "InboxGroup",
    "InboxQuery",
    "InboxQueryError",
    "candidates",
    "group",
    "group_key",
    "group_score",
    "inbox",
    "normalise",
    "score",
]

LOW_CONFIDENCE = (
    0.60  # understood but barely (config.yml's FallbackClassifier falls back below 0.5)
)
SMALL_MARGIN = 0.15  # top intent's confidence minus the second's
LOW_ASR = 0.60  # a voice turn's speech-recognition confidence below it (turns.asr_confidence)
POOR_RATING = 2  # a bot-only conversation rated this or lower
NEAR_DUPLICATE = 0.8  # character 3-gram Jaccard at or above it: one group
MAX_TURNS = 20_000  # the newest candidate turns one inbox reads
MAX_EXAMPLES = 5
# weight of each reason: a certain failure weighs more than a suspicion
REASONS: dict[str, float] = {
    "fallback": 3.0,
    "handoff_after": 3.0,
    "poor_rating": 2.0,
    "low_asr": 2.0,
    "low_confidence": 2.0,
    "small_margin": 1.0,
}
STATUSES = ("open", "annotated", "double", "disputed", "settled", "exported")
# a handoff after one of these was asked for: the turn before it is the one the assistant failed
ASKED_FOR_HUMAN = frozenset({"request_human"})
# turns of a poorly rated conversation that say nothing about what went wrong
COURTESY = frozenset({"greet", "goodbye", "thanks", "thank"})


class InboxQueryError(ValueError):
    """A query parameter the inbox cannot use; `field` names it, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class InboxQuery:
    start_ms: int
    end_ms: int
    reasons: tuple[str, ...] | None = None  # groups with any of them; None: all
    search: str | None = None  # a substring of the normalised text
    status: str | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise InboxQueryError("end", "end must be after start")
        unknown = sorted(set(self.reasons or ()) - set(REASONS))
        if unknown:
            raise InboxQueryError("reason", f"unknown reason: {', '.join(unknown)}")
        if self.status is not None and self.status not in STATUSES:
            raise InboxQueryError("status", f"status is one of {', '.join(STATUSES)}")
        if self.search is not None and len(self.search) > 100:
            raise InboxQueryError("q", "the search is at most 100 characters")
        if not 1 <= self.limit <= 200:
            raise InboxQueryError("limit", "limit is 1 to 200")
        if not 0 <= self.offset <= 100_000:
            raise InboxQueryError("offset", "offset is 0 to 100000")


@dataclass(frozen=True)
class Candidate:
    conversation_id: str
    seq: str
    ts_ms: int
    text: str  # placeholder text
    intent: str | None
    confidence: float | None
    margin: float | None
    reasons: tuple[str, ...]


@dataclass
class InboxGroup:
    key: str
    text: str
    count: int
    reasons: list[str]
    score: float
    predicted_intent: str | None
    confidence: float | None
    examples: list[dict[str, Any]]
    status: str = "open"  # STATUSES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- pure: reasons, normalisation, scores, groups ------------------------------------------------
def reading_reasons(
    intent: str | None,
    confidence: float | None,
    margin: float | None,
    fallback: bool,
    asr_confidence: float | None = None,
) -> list[str]:
    """The reasons the assistant's own reading of a turn gives (and, for a voice turn, the
    speech recogniser's confidence in what it heard)."""
    found = []
    if fallback or intent == "nlu_fallback":
        found.append("fallback")
    if asr_confidence is not None and asr_confidence < LOW_ASR:
        found.append("low_asr")
    if confidence is not None and confidence < LOW_CONFIDENCE:
        found.append("low_confidence")
    if margin is not None and margin < SMALL_MARGIN:
        found.append("small_margin")
    return found


def score(
    reasons: Iterable[str], confidence: float | None = None, margin: float | None = None
) -> float:
    """How useful a look at one turn is: the weights of its reasons, plus up to 1 the further
    its confidence is below LOW_CONFIDENCE and up to 0.5 the smaller its margin."""
    value = sum(REASONS[r] for r in set(reasons))
    if confidence is not None and confidence < LOW_CONFIDENCE:
        value += (LOW_CONFIDENCE - max(confidence, 0.0)) / LOW_CONFIDENCE
    if margin is not None and margin < SMALL_MARGIN:
        value += 0.5 * (SMALL_MARGIN - max(margin, 0.0)) / SMALL_MARGIN
    return round(value, 4)


def group_score(scores: Sequence[float]) -> float:
    """A group's score: its turns' mean score × (1 + log2 of how many turns it has), so a
    phrasing that comes back often rises, but a rare certain failure is not buried."""
    if not scores:
        return 0.0
    return round(sum(scores) / len(scores) * (1 + math.log2(len(scores))), 4)


@functools.lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


# each placeholder as one private-use character, so that it is one "letter" of a 3-gram
_MARKS = {name: chr(0xE000 + i) for i, name in enumerate(("phone_number", "id_number",
                                                           "id_last6", "card_number"))}  # fmt: skip


@functools.lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    """The text the inbox compares: placeholders (each one character), full-width folded to
    half-width (NFKC), Traditional to Simplified (OpenCC), lower case, without punctuation,
    symbols or spaces."""
    marked = PLACEHOLDER.sub(lambda m: _MARKS[m.group(1)], placeholder_text(text))
    folded = _t2s().convert(unicodedata.normalize("NFKC", marked)).lower()
    return "".join(
        ch for ch in folded if ch in _MARKS.values() or unicodedata.category(ch)[0] in "LN"
    )


def group_key(normalised: str) -> str:
    """The stable key of a normalised text: its SHA-256, 20 hex characters."""
    return hashlib.sha256(normalised.encode()).hexdigest()[:20]


def _grams(text: str) -> frozenset[str]:
    return (
        frozenset(text[i : i + 3] for i in range(len(text) - 2))
        if len(text) > 2
        else (frozenset({text}))
    )


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def group(found: Sequence[Candidate], keep: Iterable[str] = ()) -> list[list[Candidate]]:
    """Candidates with equal normalised text, then those whose character 3-grams have a
    Jaccard similarity ≥ NEAR_DUPLICATE with a group's first text, as groups; the most
    frequent texts lead their groups (ties: the text's key), and a text whose key is in `keep`
    (already queued for annotation) leads the group it is in, so its key stays the group's."""
    by_text: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in found:
        by_text[normalise(candidate.text)].append(candidate)
    kept = set(keep)
    order = sorted(
        by_text, key=lambda t: (group_key(t) not in kept, -len(by_text[t]), group_key(t))
    )
    leaders: list[tuple[frozenset[str], list[str]]] = []
    index: dict[str, list[int]] = defaultdict(list)  # 3-gram → leaders having it
    for text in order:
        grams = _grams(text)
        shared = Counter(i for g in grams for i in index[g])
        best = None
        for i, common in shared.most_common():
            if common < NEAR_DUPLICATE * len(grams):
                break  # |A ∩ B| ≥ 0.8 |A ∪ B| ≥ 0.8 |A|: no later leader can be near enough
            if jaccard(grams, leaders[i][0]) >= NEAR_DUPLICATE:
                best = i
                break
        if best is None:
            for g in grams:
                index[g].append(len(leaders))
            leaders.append((grams, [text]))
        else:
            leaders[best][1].append(text)
    return [[c for text in texts for c in by_text[text]] for _, texts in leaders]


def summarise(members: list[Candidate]) -> InboxGroup:
    """A group of candidates (its leader's first) as the inbox shows it."""
    leader = normalise(members[0].text)
    reasons = {r for c in members for r in c.reasons}
    intents = Counter(c.intent for c in members)
    predicted = min(intents, key=lambda i: (-intents[i], i or "")) if intents else None
    confidences = [c.confidence for c in members if c.intent == predicted and c.confidence]
    newest = sorted(members, key=lambda c: (-c.ts_ms, c.conversation_id, c.seq))
    return InboxGroup(
        key=group_key(leader),
        text=Counter(c.text for c in members if normalise(c.text) == leader).most_common(1)[0][0],
        count=len(members),
        reasons=[r for r in REASONS if r in reasons],
        score=group_score([score(c.reasons, c.confidence, c.margin) for c in members]),
        predicted_intent=predicted,
        confidence=round(sum(confidences) / len(confidences), 4) if confidences else None,
        examples=[
            {
                "conversation_id": c.conversation_id,
                "seq": c.seq,
                "ts_ms": c.ts_ms,
                "intent": c.intent,
                "confidence": c.confidence,
                "margin": c.margin,
                "reasons": list(c.reasons),
            }
            for c in newest[:MAX_EXAMPLES]
        ],
    )


# -- the archive ------------------------------------------------------------------------------
_T = sa.table(
    "turns", *(sa.column(c) for c in ("conversation_id", "seq", "ts_ms", "intent", "confidence",
                                      "margin", "fallback", "asr_confidence"))
)  # fmt: skip
_M = sa.table("messages", sa.column("conversation_id"), sa.column("seq"), sa.column("text"))
_H = sa.table("handoffs", sa.column("conversation_id"), sa.column("created_ms"))
_C = sa.table("conversations", sa.column("id"), sa.column("rating"), sa.column("rating_of"),
              sa.column("handoffs"))  # fmt: skip


def candidates(conn: sa.Connection, start_ms: int, end_ms: int) -> list[Candidate]:
    """The customer turns of [start_ms, end_ms) that are candidates, the newest MAX_TURNS."""
    handed_off = sa.select(_H.c.conversation_id).where(_H.c.created_ms >= start_ms)
    poorly_rated = sa.select(_C.c.id).where(
        _C.c.rating <= POOR_RATING, _C.c.rating_of == "bot", _C.c.handoffs == 0
    )
    statement = (
        sa.select(_T, _M.c.text)
        .join(_M, sa.and_(_M.c.conversation_id == _T.c.conversation_id, _M.c.seq == _T.c.seq))
        .where(
            _T.c.ts_ms >= start_ms,
            _T.c.ts_ms < end_ms,
            sa.or_(
                _T.c.fallback == sa.true(),
                _T.c.intent == "nlu_fallback",
                _T.c.confidence < LOW_CONFIDENCE,
                _T.c.margin < SMALL_MARGIN,
                _T.c.asr_confidence < LOW_ASR,
                _T.c.conversation_id.in_(handed_off),
                _T.c.conversation_id.in_(poorly_rated),
            ),
        )
        .order_by(_T.c.ts_ms.desc(), _T.c.conversation_id, _T.c.seq)
        .limit(MAX_TURNS)
    )
    turns = [dict(row) for row in conn.execute(statement).mappings()]
    conversations = {t["conversation_id"] for t in turns}
    handoffs: dict[str, list[int]] = defaultdict(list)
    rated: set[str] = set()
    for chunk in _chunks(sorted(conversations)):
        for cid, created in conn.execute(
            sa.select(_H.c.conversation_id, _H.c.created_ms).where(
                _H.c.conversation_id.in_(chunk), _H.c.created_ms.is_not(None)
            )
        ):
            handoffs[cid].append(int(created))
        rated.update(conn.execute(poorly_rated.where(_C.c.id.in_(chunk))).scalars())
    after = handoff_turns(turns, handoffs)
    found = []
    for t in turns:
        reasons = reading_reasons(
            t["intent"], t["confidence"], t["margin"], bool(t["fallback"]), t["asr_confidence"]
        )
        if (t["conversation_id"], t["seq"]) in after:
            reasons.append("handoff_after")
        if t["conversation_id"] in rated and t["intent"] not in COURTESY:
            reasons.append("poor_rating")
        if reasons:
            found.append(
                Candidate(
                    conversation_id=t["conversation_id"],
                    seq=t["seq"],
                    ts_ms=int(t["ts_ms"]),
                    text=placeholder_text(t["text"]),
                    intent=t["intent"],
                    confidence=t["confidence"],
                    margin=t["margin"],
                    reasons=tuple(r for r in REASONS if r in reasons),
                )
            )
    return found


def handoff_turns(
    turns: Iterable[dict[str, Any]], handoffs: dict[str, list[int]]
) -> set[tuple[str, str]]:
    """(conversation, seq) of the turns a handoff came right after: the customer's last turn
    at or before the handoff's creation (before their next turn); when that turn asked for a
    person, the turn before it, whose answer made them ask."""
    by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in turns:
        by_conversation[t["conversation_id"]].append(t)
    found = set()
    for cid, created in handoffs.items():
        ordered = sorted(by_conversation.get(cid, []), key=lambda t: (t["ts_ms"], t["seq"]))
        for ts in created:
            before = [t for t in ordered if t["ts_ms"] <= ts]
            if before and before[-1]["intent"] in ASKED_FOR_HUMAN:
                before = before[:-1]
            if before:
                found.add((cid, before[-1]["seq"]))
    return found


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def grouped(conn: sa.Connection, start_ms: int, end_ms: int) -> list[InboxGroup]:
    """Every group of the window with its status, most useful first (score, then count, then
    the newest example)."""
    from archive import annotations

    found = candidates(conn, start_ms, end_ms)
    groups = [summarise(members) for members in group(found, keep=annotations.queued_keys(conn))]
    statuses = annotations.statuses(conn, [g.key for g in groups])
    for g in groups:
        g.status = statuses.get(g.key, "open")
    groups.sort(key=lambda g: (-g.score, -g.count, -g.examples[0]["ts_ms"], g.key))
    return groups


def inbox(conn: sa.Connection, q: InboxQuery) -> list[InboxGroup]:
    """The groups of q's window with any of q.reasons, containing q.search (normalised) and
    in q.status, most useful first, q.limit of them from q.offset."""
    groups = grouped(conn, q.start_ms, q.end_ms)
    if q.reasons:
        groups = [g for g in groups if set(g.reasons) & set(q.reasons)]
    if q.search:
        needle = normalise(q.search)
        groups = [g for g in groups if needle in normalise(g.text)]
    if q.status:
        groups = [g for g in groups if g.status == q.status]
    return groups[q.offset : q.offset + q.limit]
