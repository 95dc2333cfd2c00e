"""What the parse result says, escalation and its skill, final urgency from text + context, tone
and ticket SLAs (domain.md)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from actions import triage as t

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def test_text_urgency_stands_without_context() -> None:
    d = t.final_urgency("normal", tier="regular", now=NOW)
    assert d.level == "normal" and d.reasons == () and not d.raised
    assert t.final_urgency(None).level == "normal"
    assert t.final_urgency("bogus").level == "normal"


@pytest.mark.parametrize("tier", ["platinum", "gold", "PLATINUM"])
def test_tier_raises_one_step(tier: str) -> None:
    d = t.final_urgency("normal", tier=tier)
    assert d.level == "high"
    assert d.reasons == (f"tier_{tier.lower()}",)


@pytest.mark.parametrize("tier", ["regular", "silver", None])
def test_other_tiers_do_not_raise(tier) -> None:
    assert t.final_urgency("low", tier=tier).level == "low"


def test_repeat_contact_within_24h() -> None:
    d = t.final_urgency("low", now=NOW, previous_contacts=[NOW - timedelta(hours=23)])
    assert d.level == "normal" and d.reasons == ("repeat_contact_24h",)
    old = t.final_urgency("low", now=NOW, previous_contacts=[NOW - timedelta(hours=25)])
    assert old.level == "low"
    future = t.final_urgency("low", now=NOW, previous_contacts=[NOW + timedelta(hours=1)])
    assert future.level == "low"


def test_outage_failed_turns_and_tone() -> None:
    assert t.final_urgency("normal", verified_outage=True).reasons == ("verified_outage",)
    assert t.final_urgency("normal", failed_turns=1).level == "normal"
    assert t.final_urgency("normal", failed_turns=2).reasons == ("failed_turns",)
    d = t.final_urgency("low", tone_history=[0.0, 0.3, 0.7])
    assert d.level == "normal" and d.reasons == ("rising_negative_tone",)


def test_signals_add_up_but_context_stops_at_high() -> None:
    d = t.final_urgency(
        "low",
        tier="platinum",
        now=NOW,
        previous_contacts=[NOW - timedelta(hours=1)],
        verified_outage=True,
        failed_turns=3,
        tone_history=[0.1, 0.5, 0.9],
    )
    assert d.level == "high"
    assert set(d.reasons) == {
        "tier_platinum",
        "repeat_contact_24h",
        "verified_outage",
        "failed_turns",
        "rising_negative_tone",
    }
    assert d.priority == 2


def test_critical_text_stays_critical_and_nothing_lowers() -> None:
    d = t.final_urgency("critical", tier="platinum", verified_outage=True)
    assert d.level == "critical" and d.reasons == () and d.priority == 3
    assert t.final_urgency("high", tier="gold").level == "high"


def test_tone_rising() -> None:
    assert t.tone_rising([0.0, 0.2, 0.6])
    assert not t.tone_rising([0.6, 0.2, 0.6])  # falls in between
    assert not t.tone_rising([0.1, 0.2])  # too few turns
    assert not t.tone_rising([0.0, 0.1, 0.2])  # rises, but stays calm
    assert t.tone_rising([0.9, 0.0, 0.3, 0.6])  # only the last three count


def test_urgency_absent_or_odd_is_normal() -> None:
    assert t.text_urgency({}) == "normal"
    assert t.text_urgency({"urgency": "critical"}) == "normal"
    assert t.text_urgency({"urgency": {"name": "panic"}}) == "normal"
    assert t.text_urgency({"urgency": {"name": "high", "confidence": 0.8}}) == "high"


@pytest.mark.parametrize(
    ("reason", "skill"),
    [
        ("major_complaint", "complaints_supervisor"),
        ("verification_locked", "account_security"),
        ("critical_urgency", None),
        ("repeat_contact", None),
        ("request_human", None),
        (None, None),
    ],
)
def test_escalation_skill(reason: str | None, skill: str | None) -> None:
    """The one place that decides a reason's skill: the handoff's skills and a major
    complaint's ticket SLA both read it."""
    assert t.escalation_skill(reason) == skill


def test_complaint_sla_moderate() -> None:
    sla = t.ticket_sla("complaint", NOW, category="network", severity="moderate")
    assert sla.respond_by == NOW + timedelta(hours=24)
    assert sla.resolve_by == NOW + timedelta(hours=48)
    assert sla.result_by == NOW + timedelta(hours=48)
    assert sla.satisfaction_by == NOW + timedelta(days=7)
    assert sla.handoff_skill is None and not sla.escalate_now


def test_complaint_sla_major_goes_to_supervisor_at_once() -> None:
    sla = t.ticket_sla("complaint", NOW, category="other", severity="major")
    assert sla.handoff_skill == t.escalation_skill("major_complaint")
    assert sla.escalate_now
    assert sla.respond_by == NOW + timedelta(minutes=30)  # paged now, a person within 30 min
    assert sla.resolve_by == NOW + timedelta(hours=48)


def test_complaint_sla_minor_answered_at_once() -> None:
    sla = t.ticket_sla("complaint", NOW, category="fee", severity="minor")
    assert sla.respond_by == NOW and sla.handoff_skill is None


def test_fault_slas() -> None:
    net = t.ticket_sla("fault", NOW, category="network")
    assert net.respond_by == NOW + timedelta(minutes=45)
    assert net.respond_target == NOW + timedelta(minutes=30)
    hw = t.ticket_sla("fault", NOW, category="hardware")
    assert hw.respond_by == NOW + timedelta(hours=24) and hw.respond_target is None
    crit = t.ticket_sla("fault", NOW, category="business", urgency="critical")
    assert crit.respond_by == NOW + timedelta(minutes=45) and crit.escalate_now


def test_callback_and_unknown_kind() -> None:
    assert t.ticket_sla("callback", NOW).respond_by == NOW + timedelta(hours=24)
    with pytest.raises(ValueError):
        t.ticket_sla("refund", NOW)


def test_sla_state_and_serialisation() -> None:
    sla = t.ticket_sla("complaint", NOW, severity="moderate")
    assert t.sla_state(sla, NOW + timedelta(hours=1)) == "awaiting_response"
    assert t.sla_state(sla, NOW + timedelta(hours=25)) == "respond_overdue"
    assert t.sla_state(sla, NOW + timedelta(hours=30), responded=True) == "in_progress"
    assert t.sla_state(sla, NOW + timedelta(hours=49), responded=True) == "resolve_overdue"
    assert t.sla_state(sla, NOW + timedelta(hours=49), responded=True, resolved=True) == "resolved"
    d = sla.as_dict()
    assert d["respond_by"] == (NOW + timedelta(hours=24)).isoformat()
    assert d["kind"] == "complaint"


# -- what the parse result says, repeats and escalation (the ticket checks on marker keywords) --
@pytest.fixture
def markers(monkeypatch: pytest.MonkeyPatch) -> None:
    from components import triage_rules
    from tests.components.test_triage_decisions import STUB

    monkeypatch.setattr(triage_rules, "keywords", lambda: STUB)


def test_complaint_severity_either_saying_major_is_enough(markers: None) -> None:
    def parsed(severity: object) -> dict[str, object]:
        return {"complaint": {"severity": severity}}

    assert t.complaint_severity(parsed("minor"), "<major>") == "major"
    assert t.complaint_severity(parsed("major"), "") == "major"
    assert t.complaint_severity(parsed("moderate"), "") == "moderate"  # the parse result first
    assert t.complaint_severity(parsed(None), "<moderate>") == "moderate"
    assert t.complaint_severity({"complaint": "major"}, "") == "minor"  # not a mapping
    assert t.complaint_severity(None, "") == "minor"


def test_ticket_category_from_the_parse_result_else_the_ticket_check(markers: None) -> None:
    assert t.ticket_category("complaint", {"complaint": {"category": "fee"}}, "<network>") == "fee"
    assert t.ticket_category("complaint", {"complaint": {"category": ""}}, "<network>") == (
        "network"
    )
    assert t.ticket_category("complaint", None, "") == "other"
    assert t.ticket_category("fault", {"fault": {"category": 3}}, "") == "3"
    assert t.ticket_category("fault", {"fault": "x"}, "<hardware>") == "hardware"
    assert t.ticket_category("fault", {}, "") == "network"


def test_repeat_ticket_same_kind_and_category_within_24h() -> None:
    from types import SimpleNamespace as Ticket

    def ticket(hours_ago: float, kind: str = "complaint", category: str = "fee") -> Ticket:
        return Ticket(created_at=NOW - timedelta(hours=hours_ago), kind=kind, category=category)

    edge, now_made = ticket(24), ticket(0)
    assert t.repeat_ticket([edge], "complaint", "fee", NOW) is edge
    assert t.repeat_ticket([now_made], "complaint", "fee", NOW) is now_made
    assert t.repeat_ticket([ticket(24.01)], "complaint", "fee", NOW) is None
    assert t.repeat_ticket([ticket(-1)], "complaint", "fee", NOW) is None  # a future one
    assert t.repeat_ticket([ticket(1, kind="fault")], "complaint", "fee", NOW) is None
    assert t.repeat_ticket([ticket(1, category="network")], "complaint", "fee", NOW) is None
    first, second = ticket(1), ticket(2)
    assert t.repeat_ticket([first, second], "complaint", "fee", NOW) is first
    assert t.repeat_ticket([], "complaint", "fee", NOW) is None


def test_escalation_order() -> None:
    def why(urgency: str = "normal", intent: str = "complain", severity: str | None = "major",
            repeat: bool = True) -> str | None:  # fmt: skip
        return t.escalation(urgency=urgency, intent=intent, severity=severity, repeat=repeat)

    assert why("critical") == "critical_urgency"
    assert why() == "major_complaint"
    assert why(intent="report_fault") == "repeat_contact"
    assert why(severity="moderate") == "repeat_contact"
    assert why(severity="moderate", repeat=False) is None
    assert why(intent="report_fault", repeat=False) is None


def test_raise_level_steps_and_cap() -> None:
    assert t.raise_level("low") == "normal"
    assert t.raise_level("low", 2) == "high"
    assert t.raise_level("low", 3) == "high"  # the cap
    assert t.raise_level("normal", 0) == "normal"
    assert t.raise_level("high") == "high"
    assert t.raise_level("critical", 2) == "critical"  # above the cap stays
    assert t.raise_level("low", 5, cap="critical") == "critical"
    assert t.raise_level("panic") == "high"  # unknown counts as normal
    assert t.CONTEXT_CAP == "high"


def test_tone_rising_boundaries() -> None:
    assert t.tone_rising([0.1, 0.2, 0.4])  # rise 0.3, ends at 0.4
    assert t.tone_rising([0.9, 0.1, 0.2, 0.4])  # only the last three count
    assert not t.tone_rising([0.2, 0.4])  # too few turns
    assert not t.tone_rising([0.1, 0.2, 0.39])  # ends below 0.4
    assert not t.tone_rising([0.2, 0.3, 0.49])  # rises less than 0.3
    assert not t.tone_rising([0.1, 0.5, 0.45])  # falls
    assert t.tone_rising([0.1, 0.1, 0.5])  # a flat step is no fall
    assert t.tone_rising([0.0, 0.5], min_turns=2)


def test_final_urgency_thresholds_and_decision() -> None:
    assert t.final_urgency("normal", failed_turns=2).reasons == ("failed_turns",)
    assert t.final_urgency("normal", failed_turns=1).level == "normal"
    assert t.final_urgency("normal", tier="GOLD").reasons == ("tier_gold",)
    assert t.final_urgency("normal", tier="platinum").reasons == ("tier_platinum",)
    assert t.final_urgency("normal", previous_contacts=[NOW]).level == "normal"  # no `now`
    edge = t.final_urgency("low", now=NOW, previous_contacts=[NOW - timedelta(hours=24)])
    assert edge.reasons == ("repeat_contact_24h",)
    decision = t.final_urgency("low", verified_outage=True)
    assert (decision.level, decision.text_level, decision.priority) == ("normal", "low", 1)
    assert decision.raised and not t.final_urgency("low").raised
    assert t.final_urgency("low").reasons == () and t.final_urgency("critical").priority == 3


def test_repeat_contact_window() -> None:
    assert t.repeat_contact([NOW], NOW)
    assert t.repeat_contact([NOW - timedelta(hours=24)], NOW)
    assert not t.repeat_contact([NOW - timedelta(hours=24, seconds=1)], NOW)
    assert not t.repeat_contact([NOW + timedelta(seconds=1)], NOW)
    assert t.repeat_contact([NOW - timedelta(hours=2)], NOW, window=timedelta(hours=2))
    assert not t.repeat_contact([], NOW)


def test_sla_edges_and_whole_records() -> None:
    sla = t.ticket_sla("complaint", NOW, severity="moderate", urgency="critical")
    due = NOW + timedelta(minutes=30)
    assert sla.respond_by == due and not sla.escalate_now  # critical: a person within 30 min
    assert t.sla_state(sla, due) == "awaiting_response"  # at the deadline: not yet overdue
    moderate = t.ticket_sla("complaint", NOW, severity="moderate")
    assert t.sla_state(moderate, NOW + timedelta(hours=48), responded=True) == "in_progress"
    fault = t.ticket_sla("fault", NOW, category="hardware")
    assert fault == t.TicketSla("fault", NOW, NOW + timedelta(hours=24))
    assert t.sla_state(fault, NOW + timedelta(days=30), responded=True) == "in_progress"
    assert t.ticket_sla("fault", NOW, category="network").escalate_now is False
    assert t.ticket_sla("callback", NOW) == t.TicketSla("callback", NOW, NOW + timedelta(hours=24))
    assert t.ticket_sla("complaint", NOW, severity="major").as_dict() == {
        "kind": "complaint",
        "created_at": NOW.isoformat(),
        "respond_by": due.isoformat(),
        "resolve_by": (NOW + timedelta(hours=48)).isoformat(),
        "result_by": (NOW + timedelta(hours=48)).isoformat(),
        "satisfaction_by": (NOW + timedelta(days=7)).isoformat(),
        "respond_target": None,
        "handoff_skill": "complaints_supervisor",
        "escalate_now": True,
    }


def test_exact_tone_thresholds_and_values() -> None:
    # binary fractions, so each comparison is at its boundary exactly
    assert t.tone_rising([0.0, 0.25, 0.5], min_rise=0.5, min_last=0.5)
    assert not t.tone_rising([0.0, 0.25, 0.5], min_rise=0.625, min_last=0.5)
    assert not t.tone_rising([0.0, 0.25, 0.5], min_rise=0.5, min_last=0.625)
    assert t.UrgencyDecision("low", "low").reasons == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.UrgencyDecision("low", "low").level = "high"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.ticket_sla("callback", NOW).kind = "fault"  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"^unknown ticket kind: 'refund'$"):
        t.ticket_sla("refund", NOW)


def test_a_fault_sla_leaves_the_complaint_fields_empty() -> None:
    assert t.ticket_sla("fault", NOW, category="hardware").as_dict() == {
        "kind": "fault",
        "created_at": NOW.isoformat(),
        "respond_by": (NOW + timedelta(hours=24)).isoformat(),
        "resolve_by": None,
        "result_by": None,
        "satisfaction_by": None,
        "respond_target": None,
        "handoff_skill": None,
        "escalate_now": False,
    }
