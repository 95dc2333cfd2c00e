"""Keyword rules for triage: urgency, complaint severity and category, fault category and
service, a ticket description's category and severity, and the tone of a customer's turn.

The one triage module: the NLU component (`components/triage_model.py`, `components/urgency.py`),
the action server (`actions/flows/`, `actions/triage.py`) and the benchmark (`bench/triage.py`)
all call these functions. Pure functions, no Rasa import; the word lists are data
(catalog/triage_keywords.yml, read by `components.triage_keywords`), the logic that combines
them is here.

Rules only ever *raise* a model's urgency or severity (see `raise_to`), never lower it. Texts are
expected in Simplified Chinese (the pipeline converts Traditional earlier); `normalize` folds
full-width forms and case so that "ＡＰＰ", "App" and "app" look the same.

The word lists follow ../shared/domain.md: major severity covers personal-data leaks, large
unexpected charges, threats to go to the regulator or the media, outages hurting a business, safety
hazards, policy violations by staff, and a complaint repeated without resolution. Critical urgency
covers fraud or a data leak in progress, a business that is down right now, emergencies, and a
vulnerable person who has been cut off.

The ticket checks (`ticket_*`) are the action server's own, older keyword lists: first match wins,
on the text as written. They decide a stored ticket's category and whether a description reads as
a major complaint, and they differ from the NLU votes on many texts; making them one is a change
of behaviour, not of layout.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from components.triage_keywords import Keywords, Labelled, keywords
from telecom.numbers import parse_quantity
from telecom.urgency import LEVELS as URGENCY_LEVELS  # the kernel's, beside SEVERITY_LEVELS

SEVERITY_LEVELS: tuple[str, ...] = ("minor", "moderate", "major")
COMPLAINT_CATEGORIES: tuple[str, ...] = ("service", "product", "fee", "network", "other")
FAULT_CATEGORIES: tuple[str, ...] = ("hardware", "software", "network", "business")
SERVICES: tuple[str, ...] = ("mobile", "broadband", "tv")


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired: the level it asks for and a short machine-readable reason."""

    level: str
    reason: str


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).strip().lower()


def level_index(level: str | None, order: Sequence[str]) -> int:
    """Position of `level` in `order`; -1 for None or an unknown level."""
    try:
        return order.index(level) if level is not None else -1
    except ValueError:
        return -1


def raise_to(current: str | None, candidate: str | None, order: Sequence[str]) -> str | None:
    """The higher of two levels in `order`. Never lowers `current`."""
    if level_index(candidate, order) > level_index(current, order):
        return candidate
    return current


def max_level(levels: Iterable[str | None], order: Sequence[str]) -> str | None:
    best: str | None = None
    for level in levels:
        best = raise_to(best, level, order)
    return best


# ---------------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------------

_NUM = r"[0-9]+(?:\.[0-9]+)?[十百千万]?|[零一二两三四五六七八九十百千万几]+"
_MONEY_AFTER = re.compile(rf"({_NUM})\s*(?:多)?\s*(?:块|元|蚊|rmb|¥)")  # 蚊: Cantonese 元
_LONG_NUMBER = 9  # digits: a phone or ID number, never an amount
_MONEY_FEE = re.compile(rf"({_NUM})\s*多?\s*的?.{{0,4}}费")


@lru_cache(maxsize=4)
def _money_before(kw: Keywords) -> re.Pattern[str]:
    """An amount after a word like 扣了 or 一共 (amounts.before), fillers allowed between."""
    return re.compile(rf"(?:{kw.amounts_before})(?:{kw.amounts_fillers})*\s*({_NUM})")


def amounts_yuan(text: str) -> list[float]:
    """Money amounts mentioned in the text, in yuan (best effort)."""
    t = normalize(text)
    found = []
    for rx in (_MONEY_AFTER, _MONEY_FEE, _money_before(keywords())):
        for m in rx.finditer(t):
            # 几 ("a few") reads as 三: 几千 counts as 3000
            if sum(c.isdigit() for c in m.group(1)) >= _LONG_NUMBER:
                continue
            value = parse_quantity(m.group(1).replace("几", "三"))
            if value is not None:
                found.append(value)
    return found


# ---------------------------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------------------------


def _has(rx: re.Pattern[str], text: str) -> bool:
    return rx.search(text) is not None


def _near(a: re.Pattern[str], b: re.Pattern[str], text: str, window: int = 24) -> bool:
    """True when a match of `a` and a match of `b` lie within `window` characters of each other."""
    spans_a = [m.span() for m in a.finditer(text)]
    if not spans_a:
        return False
    for mb in b.finditer(text):
        for sa, ea in spans_a:
            if mb.start() - ea <= window and sa - mb.end() <= window:
                return True
    return False


def fraud_in_progress(text: str) -> bool:
    """Fraud, identity theft or unauthorised charging happening now (text already normalised)."""
    s = keywords().signals
    return _near(s["in_progress"], s["fraud"], text, window=24) or _has(s["rapid_charging"], text)


# ---------------------------------------------------------------------------------------------
# Severity (complaints)
# ---------------------------------------------------------------------------------------------

# (signal, reason) pairs that make a complaint major on their own
_MAJOR_SIGNALS = (
    ("regulator", "regulator_threat"),
    ("media", "media_threat"),
    ("legal", "legal_threat"),
    ("personal_data", "personal_data"),
    ("staff_misconduct", "policy_violation"),
    ("safety", "safety_hazard"),
    ("repeated", "repeated_unresolved"),
)


def severity_hits(text: str) -> list[RuleHit]:
    """Every severity rule that fires on the text."""
    kw = keywords()
    s = kw.signals
    t = normalize(text)
    hits = [RuleHit("major", reason) for name, reason in _MAJOR_SIGNALS if _has(s[name], t)]
    if any(a >= kw.large_amount_yuan for a in amounts_yuan(t)):
        hits.append(RuleHit("major", "large_charge"))
    if _near(s["business"], s["business_hurt"], t, window=30):
        hits.append(RuleHit("major", "business_impact"))
    if _near(s["emergency"], s["cut_off"], t, window=30) or _near(
        s["vulnerable"], s["cut_off"], t, window=30
    ):
        hits.append(RuleHit("major", "vulnerable_cut_off"))
    if fraud_in_progress(t):
        hits.append(RuleHit("major", "fraud"))
    return hits


def rule_severity(text: str) -> tuple[str | None, list[str]]:
    """(highest severity the rules ask for or None, reasons)."""
    hits = severity_hits(text)
    return max_level((h.level for h in hits), SEVERITY_LEVELS), [h.reason for h in hits]


# ---------------------------------------------------------------------------------------------
# Urgency (every message)
# ---------------------------------------------------------------------------------------------


def urgency_hits(text: str) -> list[RuleHit]:
    """Every urgency rule that fires on the text."""
    s = keywords().signals
    t = normalize(text)
    hits: list[RuleHit] = []
    past = _has(s["past"], t)
    # critical
    if fraud_in_progress(t):
        hits.append(RuleHit("critical", "fraud_in_progress"))
    if (
        _near(s["business"], s["business_down"], t, window=30)
        and _has(s["now"], t)
        and not _has(s["habitual"], t)
    ):
        hits.append(RuleHit("critical", "business_down"))
    if _near(s["emergency"], s["cut_off"], t, window=30) and not past:
        hits.append(RuleHit("critical", "emergency"))
    if (
        _near(s["vulnerable"], s["cut_off"], t, window=30)
        and _has(s["alone_or_sudden"], t)
        and not past
    ):
        hits.append(RuleHit("critical", "vulnerable_cut_off"))
    hits.extend(_critical_without_now(t, past))
    # high
    not_urgent = _has(s["not_urgent"], t)
    if _has(s["urgent_words"], t) and not not_urgent:
        hits.append(RuleHit("high", "urgent_words"))
    if _has(s["time_critical_need"], t) and not not_urgent:
        hits.append(RuleHit("high", "time_critical_need"))
    if _has(s["repeated"], t):
        hits.append(RuleHit("high", "repeated_unresolved"))
    if _has(s["stalled"], t) and _has(s["outage_words"], t):
        hits.append(RuleHit("high", "long_outage"))
    for h in severity_hits(t):
        if h.reason not in {"repeated_unresolved"}:
            hits.append(RuleHit("high", h.reason))
    return hits


def _critical_without_now(t: str, past: bool) -> list[RuleHit]:
    """The critical kinds that need no "happening now" (domain.md, Urgency): a major complaint
    with an explicit threat, a personal-data leak, a lost or stolen phone with payment apps bound
    (or to be suspended at once), suspected fraud, an unexplained large charge. `t` is normalised.
    """
    kw = keywords()
    s = kw.signals
    hypothetical = _has(s["hypothetical"], t)  # a worry or a question, not an event
    hits: list[RuleHit] = []
    if _near(s["threat"], s["threat_intent"], t, window=10):
        hits.append(RuleHit("critical", "major_threat"))
    if _has(s["data_leak"], t) and not hypothetical:
        hits.append(RuleHit("critical", "personal_data_leak"))
    lost_and_exposed = _near(s["lost_phone"], s["payment_bound"], t, window=40) or (
        _near(s["lost_phone"], s["suspend"], t, window=40) and _has(s["urgent_words"], t)
    )
    if lost_and_exposed and not past:
        hits.append(RuleHit("critical", "lost_phone"))
    if _has(s["suspected_fraud"], t) and not hypothetical:
        hits.append(RuleHit("critical", "suspected_fraud"))
    if _has(s["unexplained"], t) and any(a >= kw.large_amount_yuan for a in amounts_yuan(t)):
        hits.append(RuleHit("critical", "unexplained_large_charge"))
    return hits


def rule_urgency(text: str) -> tuple[str | None, list[str]]:
    """(highest urgency the rules ask for or None, reasons)."""
    hits = urgency_hits(text)
    level = max_level((h.level for h in hits), URGENCY_LEVELS)
    return level, sorted({h.reason for h in hits if h.level == level})


# ---------------------------------------------------------------------------------------------
# Categories (keyword votes; used alone as a baseline and to back up an unsure model)
# ---------------------------------------------------------------------------------------------


def _vote(text: str, words: Labelled) -> str | None:
    """The label with the most matches; on a tie the one listed first; None without a match."""
    t = normalize(text)
    scores = {label: len(rx.findall(t)) for label, rx in words}
    best = max(scores.values())
    if best == 0:
        return None
    return next(label for label, _ in words if scores[label] == best)


def rule_complaint_category(text: str) -> str | None:
    """Keyword vote over complaint categories; None when no keyword matches."""
    return _vote(text, keywords().votes["complaint_category"])


def rule_fault_category(text: str) -> str | None:
    """Keyword vote over fault categories; None when no keyword matches."""
    return _vote(text, keywords().votes["fault_category"])


def rule_fault_service(text: str) -> str | None:
    """Keyword vote over the affected service; None when no keyword matches."""
    return _vote(text, keywords().votes["fault_service"])


# ---------------------------------------------------------------------------------------------
# Combination with a model
# ---------------------------------------------------------------------------------------------


def combine_urgency(
    text: str, model_level: str | None, severity: str | None = None
) -> tuple[str, list[str]]:
    """Model urgency raised by the rules (and to at least `high` for a major complaint).

    Returns (level, reasons): the rules that support the final level (they raised it or agree
    with the model); empty when the model's level stands above every rule.
    """
    rule_level, reasons = rule_urgency(text)
    level = raise_to(model_level, rule_level, URGENCY_LEVELS)
    if rule_level != level:
        reasons = []
    if severity == "major":
        raised = raise_to(level, "high", URGENCY_LEVELS)
        if raised != level:
            reasons = [*reasons, "major_severity"]
        level = raised
    return level or "normal", reasons


def combine_severity(text: str, model_level: str | None) -> tuple[str, list[str]]:
    """Model severity raised by the rules. Returns (level, reasons): the rules that support the
    final level; empty when the model's level stands above every rule."""
    rule_level, reasons = rule_severity(text)
    level = raise_to(model_level, rule_level, SEVERITY_LEVELS)
    if rule_level != level:
        reasons = []
    return level or "moderate", reasons


# ---------------------------------------------------------------------------------------------
# Ticket descriptions (the action server's checks, on the text as written)
# ---------------------------------------------------------------------------------------------

SUBSTANTIVE_MIN_CHARS = 8  # "我要投诉" alone is no description


def _first(words: Labelled, text: str, default: str) -> str:
    return next((label for label, rx in words if rx.search(text)), default)


def ticket_complaint_category(text: str) -> str:
    """A complaint ticket's category: the first list that matches, else other."""
    return _first(keywords().tickets["complaint_category"], text or "", "other")


def ticket_complaint_severity(text: str) -> str:
    """A complaint ticket's severity from its description: major, moderate or minor."""
    lists = keywords().ticket_lists
    text = text or ""
    if lists["major"].search(text):
        return "major"
    if lists["moderate"].search(text):
        return "moderate"
    return "minor"


def ticket_fault_category(text: str) -> str:
    """A fault ticket's category: the first list that matches, else network."""
    return _first(keywords().tickets["fault_category"], text or "", "network")


def ticket_fault_service(text: str, entity: str | None = None) -> str:
    """The service a fault is about: the `service` entity when it names one, else the first
    list that matches, else mobile."""
    if entity in SERVICES:
        return entity
    return _first(keywords().tickets["fault_service"], text or "", "mobile")


@lru_cache(maxsize=4)
def _not_substance(kw: Keywords) -> re.Pattern[str]:
    return re.compile(r"[\s\W]|" + kw.ticket_lists["fillers"].pattern)


# Fault categories that mean something does not work ("business": a service not available).
BROKEN = ("network", "hardware", "software")


def report_kinds(intent: str, text: str) -> tuple[str, bool]:
    """(kind, complaint too) of a complaint or fault report.

    Something not working is a fault report even when said in anger ("又断网了，你们管不管");
    a complaint about how we handled it is a complaint; when a message says both, the fault is
    handled and the complaint recorded too."""
    t = normalize(text or "")
    broken = rule_fault_category(t) in BROKEN
    handling = bool(keywords().ticket_lists["handling"].search(t))
    if intent == "complain":
        return ("fault", handling) if broken else ("complaint", False)
    if intent == "report_fault":
        return "fault", handling
    return "complaint", False


def is_substantive(text: str) -> bool:
    """Whether the request message already describes the problem."""
    core = _not_substance(keywords()).sub("", text or "")
    return len(core) >= SUBSTANTIVE_MIN_CHARS - 4 and len(text.strip()) >= SUBSTANTIVE_MIN_CHARS


# ---------------------------------------------------------------------------------------------
# Tone
# ---------------------------------------------------------------------------------------------


def negative_tone(text: str) -> float:
    """A 0–1 score of how negative and agitated one customer turn reads (lexicon + punctuation)."""
    tone = keywords().tone
    t = unicodedata.normalize("NFKC", text or "").lower()
    if not t.strip():
        return 0.0
    hits = len(tone["angry"].findall(t))
    bangs = len(re.findall(r"[!?]{2,}", t)) + 0.5 * t.count("!")
    calm = len(tone["calm"].findall(t))
    score = 0.22 * hits + 0.15 * bangs - 0.15 * calm
    return round(max(0.0, min(1.0, score)), 3)
