"""The logic of components/triage_rules.py on a keyword file of markers: each signal matches only
`<name>`, so every rule, window, negation and tie-break is checked exactly, whatever words the
real keyword file (catalog/triage_keywords.yml, tests/components/test_triage_rules.py) holds."""

from __future__ import annotations

import dataclasses
import re

import pytest

from components import triage_rules as r
from components.triage_keywords import Keywords

SIGNALS = [
    "in_progress",
    "fraud",
    "rapid_charging",
    "regulator",
    "media",
    "legal",
    "personal_data",
    "staff_misconduct",
    "safety",
    "repeated",
    "business",
    "business_hurt",
    "emergency",
    "cut_off",
    "vulnerable",
    "past",
    "business_down",
    "now",
    "habitual",
    "alone_or_sudden",
    "not_urgent",
    "urgent_words",
    "time_critical_need",
    "stalled",
    "outage_words",
    "threat",
    "threat_intent",
    "hypothetical",
    "data_leak",
    "lost_phone",
    "payment_bound",
    "suspend",
    "suspected_fraud",
    "unexplained",
]


def _rx(*words: str) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words))


def _labelled(*labels: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, _rx(f"<{label}>")) for label in labels)


STUB = Keywords(
    large_amount_yuan=1000,
    amounts_before="扣了",
    amounts_fillers="足足",
    signals={name: _rx(f"<{name}>") for name in SIGNALS},
    votes={
        "complaint_category": _labelled("service", "fee"),
        "fault_category": _labelled("hardware", "network"),
        "fault_service": _labelled("mobile", "tv"),
    },
    tickets={
        "complaint_category": _labelled("fee", "network"),
        "fault_category": _labelled("software", "hardware"),
        "fault_service": _labelled("broadband", "tv"),
    },
    ticket_lists={
        "major": _rx("<major>"),
        "moderate": _rx("<moderate>"),
        "fillers": _rx("嗯"),
    },
    tone={"angry": _rx("<angry>"), "calm": _rx("<calm>")},
)


@pytest.fixture(autouse=True)
def _markers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "keywords", lambda: STUB)


def gap(a: str, b: str, n: int) -> str:
    """`<a>`, n filler characters, `<b>`."""
    return f"<{a}>" + "x" * n + f"<{b}>"


# -- levels ------------------------------------------------------------------------------------
def test_level_orders() -> None:
    assert r.SEVERITY_LEVELS == ("minor", "moderate", "major")
    assert r.COMPLAINT_CATEGORIES == ("service", "product", "fee", "network", "other")
    assert r.FAULT_CATEGORIES == ("hardware", "software", "network", "business")
    assert r.SERVICES == ("mobile", "broadband", "tv")


def test_rule_hits_are_values() -> None:
    hit = r.RuleHit("major", "fraud")
    assert hit == r.RuleHit("major", "fraud")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.level = "minor"  # type: ignore[misc]


def test_normalize_folds_width_case_and_space() -> None:
    assert r.normalize("  ＡＰＰ\t\n  App　好 ") == "app app 好"
    assert r.normalize("") == "" and r.normalize(None) == ""  # type: ignore[arg-type]


def test_level_index_raise_to_and_max_level() -> None:
    order = r.SEVERITY_LEVELS
    assert [r.level_index(x, order) for x in (None, "panic", "minor", "major")] == [-1, -1, 0, 2]
    assert r.raise_to("moderate", "major", order) == "major"
    assert r.raise_to("major", "minor", order) == "major"  # never lowers
    assert r.raise_to(None, "minor", order) == "minor"
    assert r.raise_to(None, "panic", order) is None  # an unknown level raises nothing
    assert r.raise_to("minor", None, order) == "minor"
    assert r.max_level([], order) is None
    assert r.max_level(["minor", None, "major", "moderate"], order) == "major"


# -- amounts -----------------------------------------------------------------------------------
def test_amounts() -> None:
    assert r.amounts_yuan("50元") == [50]
    assert r.amounts_yuan("两千块") == [2000]
    assert r.amounts_yuan("300多的流量费") == [300]
    assert r.amounts_yuan("扣了足足 80") == [80]
    assert r.amounts_yuan("几千块") == [3000]  # 几 reads as 三
    assert r.amounts_yuan("12345678元") == [12345678]  # eight digits: still an amount
    assert r.amounts_yuan("123456789元") == []  # nine: a phone or ID number
    assert r.amounts_yuan("13800138000元，还有50元") == [50]  # skipped, the rest still read
    assert r.amounts_yuan("没有钱") == []


# -- windows -----------------------------------------------------------------------------------
def test_near_is_within_the_window_either_way_round() -> None:
    a, b = _rx("<a>"), _rx("<b>")
    assert r._near(a, b, gap("a", "b", 24))  # default window: 24 characters between
    assert not r._near(a, b, gap("a", "b", 25))
    assert r._near(a, b, gap("b", "a", 24))
    assert not r._near(a, b, gap("b", "a", 25))
    assert r._near(a, b, gap("a", "b", 3), window=3)
    assert not r._near(a, b, gap("a", "b", 4), window=3)
    assert not r._near(a, b, "<b>") and not r._near(a, b, "<a>")


def test_fraud_in_progress() -> None:
    assert r.fraud_in_progress(gap("in_progress", "fraud", 24))
    assert not r.fraud_in_progress(gap("in_progress", "fraud", 25))
    assert r.fraud_in_progress("<rapid_charging>")
    assert not r.fraud_in_progress("<fraud>")


# -- severity ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("signal", "reason"),
    [
        ("regulator", "regulator_threat"),
        ("media", "media_threat"),
        ("legal", "legal_threat"),
        ("personal_data", "personal_data"),
        ("staff_misconduct", "policy_violation"),
        ("safety", "safety_hazard"),
        ("repeated", "repeated_unresolved"),
    ],
)
def test_major_signals(signal: str, reason: str) -> None:
    assert r.severity_hits(f"<{signal}>") == [r.RuleHit("major", reason)]


def test_severity_rules_with_amounts_and_windows() -> None:
    assert r.severity_hits("多扣了1000元") == [r.RuleHit("major", "large_charge")]
    assert r.severity_hits("多扣了999元") == []
    assert r.severity_hits(gap("business", "business_hurt", 30)) == [
        r.RuleHit("major", "business_impact")
    ]
    assert r.severity_hits(gap("business", "business_hurt", 31)) == []
    for who in ("emergency", "vulnerable"):
        assert r.severity_hits(gap(who, "cut_off", 30)) == [
            r.RuleHit("major", "vulnerable_cut_off")
        ]
        assert r.severity_hits(gap(who, "cut_off", 31)) == []
    assert r.severity_hits("<rapid_charging>") == [r.RuleHit("major", "fraud")]
    assert r.severity_hits("<media><regulator>") == [
        r.RuleHit("major", "regulator_threat"),
        r.RuleHit("major", "media_threat"),
    ]


def test_rule_severity() -> None:
    assert r.rule_severity("<media>") == ("major", ["media_threat"])
    assert r.rule_severity("nothing") == (None, [])


# -- urgency -----------------------------------------------------------------------------------
def test_critical_rules() -> None:
    def reasons(text: str) -> list[r.RuleHit]:
        return [h for h in r.urgency_hits(text) if h.level == "critical"]

    assert reasons("<rapid_charging>") == [r.RuleHit("critical", "fraud_in_progress")]
    down = gap("business", "business_down", 30) + "<now>"
    assert reasons(down) == [r.RuleHit("critical", "business_down")]
    assert reasons(gap("business", "business_down", 31) + "<now>") == []
    assert reasons(gap("business", "business_down", 30)) == []  # not now
    assert reasons(down + "<habitual>") == []
    assert reasons(gap("emergency", "cut_off", 30)) == [r.RuleHit("critical", "emergency")]
    assert reasons(gap("emergency", "cut_off", 31)) == []
    assert reasons(gap("emergency", "cut_off", 30) + "<past>") == []
    alone = gap("vulnerable", "cut_off", 30) + "<alone_or_sudden>"
    assert reasons(alone) == [r.RuleHit("critical", "vulnerable_cut_off")]
    assert reasons(gap("vulnerable", "cut_off", 31) + "<alone_or_sudden>") == []
    assert reasons(gap("vulnerable", "cut_off", 30)) == []
    assert reasons(alone + "<past>") == []


def test_critical_without_now() -> None:
    def reasons(text: str) -> list[str]:
        return [h.reason for h in r._critical_without_now(r.normalize(text), "<past>" in text)]

    assert reasons(gap("threat", "threat_intent", 10)) == ["major_threat"]
    assert reasons(gap("threat", "threat_intent", 11)) == []
    assert reasons("<data_leak>") == ["personal_data_leak"]
    assert reasons("<data_leak><hypothetical>") == []
    assert reasons(gap("lost_phone", "payment_bound", 40)) == ["lost_phone"]
    assert reasons(gap("lost_phone", "payment_bound", 41)) == []
    assert reasons(gap("lost_phone", "payment_bound", 40) + "<past>") == []
    assert reasons(gap("lost_phone", "suspend", 40) + "<urgent_words>") == ["lost_phone"]
    assert reasons(gap("lost_phone", "suspend", 41) + "<urgent_words>") == []
    assert reasons(gap("lost_phone", "suspend", 40)) == []
    assert reasons("<suspected_fraud>") == ["suspected_fraud"]
    assert reasons("<suspected_fraud><hypothetical>") == []
    assert reasons("<unexplained>扣了1000") == ["unexplained_large_charge"]
    assert reasons("<unexplained>扣了999") == []
    assert reasons("扣了1000") == []


def test_high_rules() -> None:
    def reasons(text: str) -> list[r.RuleHit]:
        return r.urgency_hits(text)

    assert reasons("<urgent_words>") == [r.RuleHit("high", "urgent_words")]
    assert reasons("<urgent_words><not_urgent>") == []
    assert reasons("<time_critical_need>") == [r.RuleHit("high", "time_critical_need")]
    assert reasons("<time_critical_need><not_urgent>") == []
    assert reasons("<repeated>") == [r.RuleHit("high", "repeated_unresolved")]  # once, not twice
    assert reasons("<stalled><outage_words>") == [r.RuleHit("high", "long_outage")]
    assert reasons("<stalled>") == [] and reasons("<outage_words>") == []
    assert reasons("<media>") == [r.RuleHit("high", "media_threat")]  # a major complaint


def test_rule_urgency_keeps_the_reasons_of_the_top_level() -> None:
    assert r.rule_urgency("<urgent_words><rapid_charging>") == (
        "critical",
        ["fraud_in_progress"],
    )
    assert r.rule_urgency("<stalled><outage_words><urgent_words>") == (
        "high",
        ["long_outage", "urgent_words"],
    )
    assert r.rule_urgency("nothing") == (None, [])


def test_combine_urgency() -> None:
    assert r.combine_urgency("<urgent_words>", "normal") == ("high", ["urgent_words"])
    assert r.combine_urgency("<urgent_words>", "high") == ("high", ["urgent_words"])  # agrees
    assert r.combine_urgency("<urgent_words>", "critical") == ("critical", [])
    assert r.combine_urgency("nothing", None) == ("normal", [])
    assert r.combine_urgency("nothing", "low", "major") == ("high", ["major_severity"])
    assert r.combine_urgency("nothing", "critical", "major") == ("critical", [])
    assert r.combine_urgency("<urgent_words>", "low", "major") == ("high", ["urgent_words"])
    assert r.combine_urgency("nothing", "low", "moderate") == ("low", [])


def test_combine_severity() -> None:
    assert r.combine_severity("<media>", "minor") == ("major", ["media_threat"])
    assert r.combine_severity("<media>", "major") == ("major", ["media_threat"])
    assert r.combine_severity("nothing", "minor") == ("minor", [])
    assert r.combine_severity("nothing", None) == ("moderate", [])


# -- categories and tickets --------------------------------------------------------------------
def test_votes_most_matches_then_first_listed() -> None:
    assert r.rule_complaint_category("<fee><fee><service>") == "fee"
    assert r.rule_complaint_category("<fee><service>") == "service"  # tie: the first listed
    assert r.rule_complaint_category("nothing") is None
    assert r.rule_fault_category("<network>") == "network"
    assert r.rule_fault_service("<tv>") == "tv"


def test_ticket_checks_first_match_and_defaults() -> None:
    assert r.ticket_complaint_category("<network><fee>") == "fee"
    assert r.ticket_complaint_category("") == "other"
    assert r.ticket_complaint_category(None) == "other"  # type: ignore[arg-type]
    assert r.ticket_fault_category("<hardware>") == "hardware"
    assert r.ticket_fault_category("nothing") == "network"
    assert r.ticket_fault_service("<tv>") == "tv"
    assert r.ticket_fault_service("nothing") == "mobile"
    assert r.ticket_fault_service("<tv>", "broadband") == "broadband"
    assert r.ticket_fault_service("<tv>", "fridge") == "tv"  # not a service
    assert r.ticket_complaint_severity("<moderate><major>") == "major"
    assert r.ticket_complaint_severity("<moderate>") == "moderate"
    assert r.ticket_complaint_severity("") == "minor"


def test_substantive_descriptions() -> None:
    assert r.SUBSTANTIVE_MIN_CHARS == 8
    assert r.is_substantive("宽带从昨晚开始断网")
    assert r.is_substantive("abcd,,,,")  # four real characters and eight in all
    assert not r.is_substantive("abc,,,,,")  # three
    assert not r.is_substantive("abcd    ")  # eight only with the spaces around it
    assert not r.is_substantive("abcdefg")  # seven in all
    assert not r.is_substantive("嗯嗯嗯嗯嗯嗯嗯嗯abc")  # fillers do not count
    assert not r.is_substantive("")


def test_negative_tone() -> None:
    assert r.negative_tone("") == 0.0 and r.negative_tone("   ") == 0.0
    assert r.negative_tone("<angry>") == 0.22
    assert r.negative_tone("<angry>!!") == 0.22 + 0.15 + 0.15
    assert r.negative_tone("？？") == 0.15  # full-width folded
    assert r.negative_tone("<angry><calm>") == 0.07
    assert r.negative_tone("<calm>") == 0.0
    assert r.negative_tone("<angry>" * 5) == 1.0
    assert r.negative_tone("<ANGRY>") == 0.22  # lower-cased
