"""What the parse result says, escalation and its skill, final urgency from text + context, tone
and ticket SLAs (domain.md)."""

from __future__ import annotations

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
    assert sla.respond_by == NOW
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
