"""telecom.tickets: every allowed and refused step, the deadlines at their exact boundaries, the
80 % warnings (once per window) and breaches, on a clock the tests drive."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from telecom import labels
from telecom import tickets as tk

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
US = timedelta(microseconds=1)
SETUP = T0 + H  # when the fixture paths take their steps
AT = T0 + 2 * H  # when the step under test is taken
AGENT, OTHER, SUP = "agent:a1", "agent:a2", "supervisor:s1"


def opened(severity: str | None = "moderate", kind: str = "complaint", category: str = "network"):
    due = tk.deadlines(kind, severity, category, T0)
    return tk.new_ticket(due, severity, category)


def take(ticket: tk.TicketState, name: str, actor: str = AGENT, at=SETUP, **fields):
    return tk.apply(ticket, tk.Step(name, actor, **fields), at)


def in_state(name: str, severity: str | None = "moderate") -> tk.TicketState:
    """A complaint brought to state `name` by the real steps (at SETUP); `handling_unassigned`
    is one reassigned while in handling; `attached` a report attached to an outage."""
    if name == "attached":
        return tk.attached_ticket(T0)
    ticket = opened(severity)
    path = {
        "intake": [],
        "assessing": [("claim", {})],
        "handling": [("claim", {}), ("respond", {"text": "您好"})],
        "handling_unassigned": [
            ("claim", {}),
            ("respond", {"text": "您好"}),
            ("reassign", {"team": "billing"}),
        ],
        "feedback": [
            ("claim", {}),
            ("respond", {"text": "您好"}),
            ("resolve", {"result": "已处理", "remedy": "赠送流量"}),
        ],
        "closed": [
            ("claim", {}),
            ("respond", {"text": "您好"}),
            ("resolve", {"result": "已处理", "remedy": "赠送流量"}),
            ("close", {}),
        ],
    }[name]
    for step, fields in path:
        ticket = take(ticket, step, **fields)
    return ticket


# ------------------------------------------------------------------------------ allowed steps

RESOLVED = {"state": "feedback", "resolved_at": AT, "follow_up_by": AT + timedelta(days=7)}
REOPENED = {
    "state": "handling",
    "reopens": 1,
    "reopened_at": AT,
    "resolved_at": None,
    "resolve_by": AT + timedelta(hours=48),
    "follow_up_by": None,
    "followed_up_at": None,
    "closed_at": None,
}

ALLOWED = [
    ("intake", tk.Step("claim", AGENT), {"state": "assessing", "assignee": AGENT}),
    ("intake", tk.Step("claim", SUP), {"state": "assessing", "assignee": SUP}),
    (
        "handling_unassigned",
        tk.Step("claim", OTHER),
        {"state": "handling", "assignee": OTHER, "team": "billing"},
    ),
    (
        "assessing",
        tk.Step("respond", AGENT, text="您好"),
        {"state": "handling", "responded_at": AT},
    ),
    ("assessing", tk.Step("respond", SUP, text="您好"), {"state": "handling", "responded_at": AT}),
    (
        "handling",
        tk.Step("respond", AGENT, text="再答复"),
        {"state": "handling", "responded_at": SETUP},
    ),
    *[
        (s, tk.Step("note", AGENT, text="内部备注"), {})
        for s in ("intake", "assessing", "handling")
    ],
    ("feedback", tk.Step("note", SUP, text="回访前备注"), {}),
    ("attached", tk.Step("note", "system", text="已关联"), {}),
    ("intake", tk.Step("reassign", OTHER, team="billing"), {"team": "billing", "assignee": None}),
    (
        "assessing",
        tk.Step("reassign", AGENT, team="network_ops"),
        {"state": "intake", "team": "network_ops", "assignee": None},
    ),
    (
        "handling",
        tk.Step("reassign", SUP, team="complaints_supervisors"),
        {"state": "handling", "team": "complaints_supervisors", "assignee": None},
    ),
    ("intake", tk.Step("escalate", AGENT, text="客户要求主管处理"), {"escalated": True}),
    (
        "handling",
        tk.Step("escalate", SUP, text="主管介入", window="resolve"),
        {"escalated": True, "warned": ("resolve",)},
    ),
    (
        "handling",
        tk.Step("resolve", AGENT, result="已处理"),
        {
            "state": "feedback",
            "resolved_at": AT,
            "follow_up_by": AT + timedelta(days=7),
            "result": "已处理",
            "remedy": None,
        },
    ),
    ("handling", tk.Step("resolve", SUP, result="已处理"), {**RESOLVED, "result": "已处理"}),
    (
        "attached",
        tk.Step("resolve", "system", result="故障已恢复"),
        {**RESOLVED, "result": "故障已恢复"},
    ),
    *[
        ("feedback", tk.Step("reopen", actor, text="问题没有解决"), REOPENED)
        for actor in ("customer", AGENT, SUP)
    ],
    ("closed", tk.Step("reopen", "customer", text="又坏了"), REOPENED),
    *[
        (
            "feedback",
            tk.Step("follow_up_answer", "customer", rating=rating, text="不满意"),
            {**REOPENED, "rating": rating},
        )
        for rating in (1, 2)
    ],
    *[
        (
            "feedback",
            tk.Step("follow_up_answer", "customer", rating=rating),
            {"state": "closed", "rating": rating, "closed_at": AT, "followed_up_at": AT},
        )
        for rating in (3, 4, 5)
    ],
    *[
        (
            "feedback",
            tk.Step("close", actor),
            {"state": "closed", "closed_at": AT, "followed_up_at": AT},
        )
        for actor in (AGENT, SUP, "system")
    ],
]


@pytest.mark.parametrize(("start", "step", "changes"), ALLOWED)
def test_allowed_steps(start, step, changes):
    before = in_state(start)
    after = tk.apply(before, step, AT)
    assert after == dataclasses.replace(before, **changes)


# ------------------------------------------------------------------------------ refused steps

REFUSED = [
    ("intake", tk.Step("fly", AGENT), "unknown_step"),
    *[
        ("intake", tk.Step("claim", actor), "bad_actor")
        for actor in ("agent:", "agent:a b", "root")
    ],
    ("intake", tk.Step("claim", "customer"), "not_allowed"),
    ("intake", tk.Step("claim", "system"), "not_allowed"),
    ("intake", tk.Step("respond", "system", text="x"), "not_allowed"),
    ("feedback", tk.Step("follow_up_answer", AGENT, rating=5), "not_allowed"),
    ("intake", tk.Step("respond", AGENT, text="您好"), "wrong_state"),
    ("assessing", tk.Step("claim", OTHER), "already_claimed"),
    ("feedback", tk.Step("claim", OTHER), "wrong_state"),
    ("assessing", tk.Step("respond", OTHER, text="您好"), "not_assignee"),
    ("handling_unassigned", tk.Step("respond", AGENT, text="您好"), "not_assignee"),
    ("assessing", tk.Step("respond", AGENT), "text_required"),
    ("assessing", tk.Step("respond", AGENT, text="  "), "text_required"),
    ("handling", tk.Step("note", AGENT), "text_required"),
    ("intake", tk.Step("reassign", AGENT, team="sales"), "unknown_team"),
    ("intake", tk.Step("reassign", AGENT, team="frontline"), "same_team"),
    ("assessing", tk.Step("reassign", OTHER, team="billing"), "not_assignee"),
    ("feedback", tk.Step("reassign", AGENT, team="billing"), "wrong_state"),
    ("handling", tk.Step("escalate", AGENT), "text_required"),
    ("handling", tk.Step("escalate", "system"), "window_required"),
    ("handling", tk.Step("escalate", "system", window="lunch"), "unknown_window"),
    ("handling", tk.Step("escalate", "system", window="resolve"), "not_due"),
    ("handling", tk.Step("escalate", "system", window="respond"), "not_due"),  # met already
    ("intake", tk.Step("resolve", AGENT, result="已处理"), "not_responded"),
    ("assessing", tk.Step("resolve", AGENT, result="已处理"), "not_responded"),
    ("handling", tk.Step("resolve", AGENT), "result_required"),
    ("handling", tk.Step("resolve", AGENT, result=" "), "result_required"),
    ("handling", tk.Step("resolve", OTHER, result="已处理"), "not_assignee"),
    ("handling", tk.Step("resolve", "system", result="已处理"), "wrong_state"),
    ("feedback", tk.Step("resolve", AGENT, result="已处理"), "wrong_state"),
    ("attached", tk.Step("resolve", AGENT, result="已处理"), "wrong_state"),
    ("attached", tk.Step("resolve", "system"), "result_required"),
    *[
        ("attached", tk.Step(name, AGENT, text="x", team="billing"), "attached")
        for name in ("claim", "respond", "reassign", "escalate")
    ],
    ("attached", tk.Step("escalate", "system", window="respond"), "attached"),
    ("handling", tk.Step("reopen", "customer", text="没解决"), "wrong_state"),
    ("feedback", tk.Step("reopen", "customer"), "text_required"),
    ("handling", tk.Step("follow_up_answer", "customer", rating=5), "wrong_state"),
    *[
        ("feedback", tk.Step("follow_up_answer", "customer", rating=rating), "bad_rating")
        for rating in (0, 6, None, True, "5", 4.5)
    ],
    *[(s, tk.Step("close", AGENT), "wrong_state") for s in ("intake", "assessing", "handling")],
    *[
        ("closed", tk.Step(name, AGENT, text="x", team="billing", result="x"), "closed")
        for name in ("claim", "respond", "note", "reassign", "escalate", "resolve", "close")
    ],
    ("closed", tk.Step("follow_up_answer", "customer", rating=5), "closed"),
]


@pytest.mark.parametrize(("start", "step", "code"), REFUSED)
def test_refused_steps(start, step, code):
    with pytest.raises(tk.TicketRuleError) as refused:
        tk.apply(in_state(start), step, AT)
    assert refused.value.code == code and code in tk.ERRORS


def test_a_major_complaint_is_resolved_only_with_a_remedy():
    ticket = in_state("handling", severity="major")
    with pytest.raises(tk.TicketRuleError) as refused:
        take(ticket, "resolve", at=AT, result="已处理")
    assert refused.value.code == "remedy_required"
    done = take(ticket, "resolve", at=AT, result="已处理", remedy="补偿100元话费")
    assert (done.state, done.remedy) == ("feedback", "补偿100元话费")
    minor = take(in_state("handling", severity="minor"), "resolve", at=AT, result="已解答")
    assert minor.state == "feedback" and minor.remedy is None


def test_reopen_of_a_closed_ticket_within_seven_days_exactly():
    closed = take(in_state("closed"), "reopen", "customer", at=SETUP, text="x")  # closed at SETUP
    assert closed.state == "handling"
    ticket = in_state("closed")
    edge = SETUP + timedelta(days=7)
    assert take(ticket, "reopen", "customer", at=edge, text="又坏了").state == "handling"
    with pytest.raises(tk.TicketRuleError) as refused:
        take(ticket, "reopen", "customer", at=edge + US, text="又坏了")
    assert refused.value.code == "reopen_expired"


def test_no_step_before_the_ticket_was_opened():
    with pytest.raises(tk.TicketRuleError) as refused:
        take(opened(), "claim", at=T0 - US)
    assert refused.value.code == "before_opened"
    assert take(opened(), "claim", at=T0).state == "assessing"


def test_refusals_name_the_step_and_state_only():
    with pytest.raises(tk.TicketRuleError, match=r"^respond refused in intake: needs assessing"):
        take(opened(), "respond", text="13800138000 的客户")


# ---------------------------------------------------------------------------------- deadlines

DEADLINES = [
    # kind, severity, category, urgency → respond, target, resolve, result, escalate_now
    ("complaint", "moderate", "network", None, 24 * H, None, 48 * H, 48 * H, False),
    ("complaint", "minor", "fee", None, 0 * H, None, 48 * H, 48 * H, False),
    ("complaint", "major", "other", None, 0.5 * H, None, 48 * H, 48 * H, True),
    ("complaint", "moderate", "service", "critical", 0.5 * H, None, 48 * H, 48 * H, False),
    ("fault", None, "network", None, 0.75 * H, 0.5 * H, None, None, False),
    ("fault", None, "hardware", None, 24 * H, None, None, None, False),
    ("fault", None, "business", "critical", 0.75 * H, 0.5 * H, None, None, True),
    ("callback", None, "callback", None, 24 * H, None, None, None, False),
]


@pytest.mark.parametrize(
    ("kind", "severity", "category", "urgency", "respond", "target", "resolve", "result", "now_"),
    DEADLINES,
)
def test_deadlines(kind, severity, category, urgency, respond, target, resolve, result, now_):
    due = tk.deadlines(kind, severity, category, T0, urgency=urgency)

    def at(delta):
        return None if delta is None else T0 + delta

    assert due == tk.Deadlines(kind, T0, at(respond), at(target), at(resolve), at(result), now_)


def test_unknown_kind():
    with pytest.raises(ValueError, match=r"^unknown ticket kind: 'refund'$"):
        tk.deadlines("refund", None, None, T0)


TEAMS = [
    ("complaint", "major", "network", "complaints_supervisors"),
    ("complaint", "moderate", "fee", "billing"),
    ("complaint", "minor", "service", "frontline"),
    ("fault", None, "network", "network_ops"),
    ("fault", None, "hardware", "frontline"),
    ("callback", None, "callback", "frontline"),
]


@pytest.mark.parametrize(("kind", "severity", "category", "team"), TEAMS)
def test_first_team(kind, severity, category, team):
    assert tk.initial_team(kind, severity, category) == team
    assert (
        tk.new_ticket(tk.deadlines(kind, severity, category, T0), severity, category).team == team
    )


def test_teams_have_chinese_labels():
    assert tuple(labels.TEAMS) == ("frontline", "billing", "network_ops", "complaints_supervisors")
    assert set(labels.TICKET_STATES) == set(tk.STATES)
    assert set(labels.TICKET_STEPS) == {"open", *tk.STEPS}
    assert labels.all_labels()["teams"] is labels.TEAMS


# --------------------------------------------------------------------------- warnings, breaches


def warned_windows(ticket, now):
    return [w.window for w in tk.due_warnings(ticket, now)]


WARN_AT = [
    # what, ticket, window, when the warning falls due (80 % of the window)
    ("complaint respond", lambda: opened(), "respond", T0 + timedelta(hours=19, minutes=12)),
    ("network fault respond", lambda: opened(None, "fault"), "respond", T0 + timedelta(minutes=36)),
    ("callback respond", lambda: opened(None, "callback", "callback"), "respond", T0 + 19.2 * H),
    (
        "complaint resolve",
        lambda: in_state("handling"),
        "resolve",
        T0 + timedelta(hours=38, minutes=24),
    ),
    (
        "follow-up",
        lambda: in_state("feedback"),
        "follow_up",
        SETUP + timedelta(days=5, hours=14, minutes=24),
    ),
    (
        "critical complaint: a person within 30 minutes",
        lambda: opened_critical(),
        "respond",
        T0 + timedelta(minutes=24),
    ),
]


def opened_critical() -> tk.TicketState:
    due = tk.deadlines("complaint", "moderate", "network", T0, urgency="critical")
    return tk.new_ticket(due, "moderate", "network")


@pytest.mark.parametrize(("what", "make", "window", "warn_at"), WARN_AT)
def test_a_warning_at_80_percent_once(what, make, window, warn_at):
    ticket = make()
    assert window not in warned_windows(ticket, warn_at - US)
    [warning] = [w for w in tk.due_warnings(ticket, warn_at) if w.window == window]
    assert warning.team == ticket.team
    escalated = take(ticket, "escalate", "system", at=warn_at, window=window)
    assert escalated.escalated and window in escalated.warned
    assert window not in warned_windows(escalated, warn_at + 100 * H)  # once per window
    with pytest.raises(tk.TicketRuleError) as again:
        take(escalated, "escalate", "system", at=warn_at + H, window=window)
    assert again.value.code == "already_warned"


def test_a_minor_complaint_counts_as_responded_at_opening():
    ticket = opened("minor")
    assert ticket.responded_at == T0 == ticket.respond_by and ticket.state == "intake"
    assert warned_windows(ticket, T0 + 30 * H) == []  # the resolve window is not at 80 % yet
    assert warned_windows(ticket, T0 + 40 * H) == ["resolve"]
    assert opened("moderate").responded_at is None
    assert opened(None, "fault").responded_at is None
    claimed = take(ticket, "claim")
    with pytest.raises(tk.TicketRuleError) as early:  # an agent still answers before resolving
        take(claimed, "resolve", at=AT, result="已解答")
    assert early.value.code == "not_responded"
    answered = take(take(claimed, "respond", at=AT, text="您好"), "resolve", at=AT, result="已解答")
    assert answered.state == "feedback" and answered.responded_at == T0


def test_a_major_complaint_is_escalated_at_once_and_not_warned_again():
    ticket = opened("major")
    assert ticket.escalated and ticket.warned == ("respond",)
    assert ticket.team == "complaints_supervisors"
    assert warned_windows(ticket, T0) == []


def test_a_met_window_is_not_warned_and_a_late_watcher_still_warns():
    ticket = in_state("handling")  # responded at SETUP
    assert "respond" not in warned_windows(ticket, T0 + 30 * H)
    assert warned_windows(opened(), T0 + 30 * H) == ["respond"]  # past due: still escalated


def test_warnings_stop_when_the_ticket_leaves_the_open_states():
    assert warned_windows(in_state("closed"), SETUP + timedelta(days=30)) == []
    assert warned_windows(in_state("attached"), T0 + timedelta(days=30)) == []


def test_reopen_starts_a_new_resolve_window():
    ticket = take(in_state("handling"), "escalate", "system", at=T0 + 40 * H, window="resolve")
    ticket = take(ticket, "resolve", at=T0 + 41 * H, result="已处理")
    again = take(ticket, "reopen", "customer", at=T0 + 50 * H, text="没解决")
    assert again.resolve_by == T0 + 98 * H and "resolve" not in again.warned
    assert warned_windows(again, T0 + 50 * H + timedelta(hours=38, minutes=24)) == ["resolve"]


BREACHES = [
    # ticket, now, breached windows
    (lambda: opened(), T0 + 24 * H, ()),
    (lambda: opened(), T0 + 24 * H + US, ("respond",)),
    (lambda: opened(None, "fault"), T0 + timedelta(minutes=45), ()),
    (lambda: opened(None, "fault"), T0 + timedelta(minutes=45) + US, ("respond",)),
    (lambda: in_state("handling"), T0 + 48 * H, ()),
    (lambda: in_state("handling"), T0 + 48 * H + US, ("resolve",)),
    (lambda: in_state("feedback"), SETUP + timedelta(days=7), ()),
    (lambda: in_state("feedback"), SETUP + timedelta(days=7) + US, ("follow_up",)),
    (lambda: in_state("closed"), SETUP + timedelta(days=300), ()),
    (lambda: in_state("attached"), T0 + timedelta(days=300), ()),
    (lambda: opened("minor"), T0, ()),
    (lambda: opened("minor"), T0 + US, ()),  # answered at once: responded at opening
    (lambda: opened_critical(), T0 + timedelta(minutes=30), ()),
    (lambda: opened_critical(), T0 + timedelta(minutes=30) + US, ("respond",)),
]


@pytest.mark.parametrize(("make", "now", "expected"), BREACHES)
def test_breached_at_the_exact_boundary(make, now, expected):
    assert tk.breached(make(), now) == expected


def test_a_window_met_late_stays_breached():
    late = take(take(opened(), "claim", at=T0 + 25 * H), "respond", at=T0 + 25 * H, text="抱歉")
    assert tk.breached(late, T0 + 25 * H) == ("respond",)
    on_time = take(take(opened(), "claim", at=T0 + 24 * H), "respond", at=T0 + 24 * H, text="您好")
    assert tk.breached(on_time, T0 + 47 * H) == ()


NEXT_DUE = [
    (lambda: opened(), T0 + 24 * H),
    (lambda: in_state("handling"), T0 + 48 * H),
    (lambda: in_state("feedback"), SETUP + timedelta(days=7)),
    (lambda: opened(None, "fault"), T0 + timedelta(minutes=45)),
    (lambda: in_state("closed"), None),
    (lambda: in_state("attached"), None),
]


@pytest.mark.parametrize(("make", "due"), NEXT_DUE)
def test_next_due(make, due):
    assert tk.next_due(make()) == due


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        opened().state = "closed"  # type: ignore[misc]
