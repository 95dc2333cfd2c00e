"""The ticket service's pure parts: the watcher's decisions, the notice and alert texts, the
feedback tokens, the request-body checks, the clock file and its setting."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from actions.flows import common
from actions.service_loop import bodies, links, notices, watch
from actions.settings import SettingsError, load_settings
from telecom import tickets as tk
from tests.actions.secrets_support import IDENTITY_SECRET, PEPPER

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 in China
H = timedelta(hours=1)
AGENT = "agent:a1"


def opened(severity="moderate", kind="complaint", category="network", urgency=None):
    return tk.new_ticket(
        tk.deadlines(kind, severity, category, T0, urgency=urgency), severity, category
    )


def take(ticket, name, actor=AGENT, at=T0 + H, **fields):
    return tk.apply(ticket, tk.Step(name, actor, **fields), at)


def resolved(at=T0 + 2 * H):
    ticket = take(take(opened(), "claim"), "respond", text="您好")
    return take(ticket, "resolve", at=at, result="已处理")


def actions(watched, now):
    return [(d.action, d.window, d.round) for d in watch.decide(watched, now)]


# ------------------------------------------------------------------------------- the watcher


def test_nothing_to_do_for_a_fresh_ticket():
    assert actions(watch.Watched("T1", opened()), T0 + H) == []


def test_a_warning_at_80_percent_then_a_breach_once():
    ticket = opened()  # respond within 24 h: warned from 19:12 on
    assert actions(watch.Watched("T1", ticket), T0 + timedelta(hours=19, minutes=11)) == []
    [warn] = watch.decide(watch.Watched("T1", ticket), T0 + timedelta(hours=19, minutes=12))
    assert (warn.action, warn.window, warn.due) == ("warn", "respond", T0 + 24 * H)
    warned = take(ticket, "escalate", "system", at=T0 + 20 * H, window="respond")
    assert actions(watch.Watched("T1", warned), T0 + 24 * H) == []  # due, not past it
    late = T0 + 24 * H + timedelta(microseconds=1)
    assert actions(watch.Watched("T1", warned), late) == [("breach", "respond", 0)]
    done = watch.Watched("T1", warned, alerted=frozenset({("breach", "respond", 0)}))
    assert actions(done, late + H) == []
    assert actions(done, T0 + 48 * H)[0] == ("warn", "resolve", 0)  # the next window


def test_a_late_watcher_warns_and_flags_the_breach_in_one_run():
    assert actions(watch.Watched("T1", opened()), T0 + 30 * H) == [
        ("warn", "respond", 0),
        ("breach", "respond", 0),
    ]


def test_a_ticket_escalated_at_opening_is_paged_once():
    major = opened("major")
    assert actions(watch.Watched("T1", major, escalated_at_opening=True), T0) == [("page", None, 0)]
    paged = watch.Watched("T1", major, True, frozenset({("page", "", 0)}))
    assert actions(paged, T0) == []
    assert ("page", None, 0) not in actions(paged, T0 + H)
    critical = opened(None, "fault", urgency="critical")
    assert actions(watch.Watched("T2", critical, True), T0) == [("page", None, 0)]


def test_the_follow_up_question_a_day_after_the_resolution_once_per_round():
    ticket = resolved()
    at = ticket.resolved_at + tk.FOLLOW_UP_ASK_AFTER
    assert actions(watch.Watched("T1", ticket), at - timedelta(seconds=1)) == []
    assert actions(watch.Watched("T1", ticket), at) == [("ask", None, 0)]
    assert actions(watch.Watched("T1", ticket, asked=frozenset({0})), at + H) == []
    again = take(ticket, "follow_up_answer", "customer", at=at + H, rating=1)
    assert again.reopens == 1 and again.state == "handling"
    back = take(again, "resolve", at=at + 2 * H, result="已重新处理")
    later = back.resolved_at + tk.FOLLOW_UP_ASK_AFTER
    assert actions(watch.Watched("T1", back, asked=frozenset({0})), later) == [("ask", None, 1)]


def test_a_reopen_counts_the_resolve_breach_again_but_not_the_respond_one():
    late = take(take(opened(), "claim", at=T0 + 25 * H), "respond", at=T0 + 25 * H, text="抱歉")
    alerted = frozenset({("breach", "respond", 0)})
    assert actions(watch.Watched("T1", late, alerted=alerted), T0 + 26 * H) == []
    resolved_late = take(late, "resolve", at=T0 + 50 * H, result="已处理")
    reopened = take(resolved_late, "reopen", "customer", at=T0 + 51 * H, text="没解决")
    alerted |= {("breach", "resolve", 0)}
    decided = actions(watch.Watched("T1", reopened, alerted=alerted), T0 + 51 * H + 49 * H)
    assert ("breach", "resolve", 1) in decided and ("breach", "respond", 0) not in decided


def test_closed_and_attached_tickets_are_not_watched():
    closed = take(resolved(), "close", at=T0 + 3 * H)
    assert actions(watch.Watched("T1", closed, escalated_at_opening=True), T0 + 900 * H) == []
    assert actions(watch.Watched("T2", tk.attached_ticket(T0)), T0 + 900 * H) == []


def test_a_minor_complaint_is_neither_warned_nor_breached_on_its_respond_window():
    assert actions(watch.Watched("T1", opened("minor")), T0 + 10 * H) == []


# ------------------------------------------------------------------------------------- texts


def test_customer_notices_name_the_ticket_and_never_a_number():
    assert (
        notices.response_text("T1", "已联系网络部门") == "关于您的工单 T1，客服回复：已联系网络部门"
    )
    result = notices.result_text("T1", "已退还多收费用", "赠送10GB流量")
    assert "T1" in result and "已退还多收费用" in result and "赠送10GB流量" in result
    assert "提供" not in notices.result_text("T1", "已解答", None)
    assert "。。" not in notices.result_text("T1", "已退费。", "赠送流量。")
    follow = notices.follow_up_text("T1")
    assert notices.LINK in follow and "T1" in follow and "1-5" in follow
    moved = notices.outage_update_text("T1", "南山区", "broadband", T0 + 5 * H)
    assert "南山区宽带故障" in moved and "12月05日 14:00" in moved
    assert "尚未确定" in notices.outage_update_text("T1", "南山区", "broadband", None)
    assert "已修复" in notices.outage_closed_text("T1", "南山区", "tv", notices.OUTAGE_FIXED)
    assert notices.sms_body("文本") == "【客服通知】文本"


def test_alert_texts_for_supervisors():
    due = datetime(2026, 12, 5, 2, 30, tzinfo=timezone.utc)  # 10:30 in China
    text = notices.alert_text(
        "warning", "T20261205-000012", "respond", due, "complaints_supervisors"
    )
    assert text == "工单 T20261205-000012 的响应时限将于 12-05 10:30 到期，已升级至投诉主管"
    past = notices.alert_text("warning", "T1", "resolve", due, "frontline", now=due + H)
    assert "办结时限已于 12-05 10:30 到期" in past and "一线客服主管" in past
    breach = notices.alert_text("breach", "T1", "follow_up", due, "billing")
    assert "回访时限已于 12-05 10:30 超时" in breach and "计费账务" in breach
    assert notices.alert_text("page", "T1", None, None, "frontline").startswith("重大投诉")
    page = notices.alert_text("page", "T1", None, None, "network_ops", ticket_kind="fault")
    assert page.startswith("紧急故障") and "投诉主管" in page


# ------------------------------------------------------------------------------------ tokens


def test_a_feedback_token_names_its_ticket_and_nothing_else_opens_it():
    token = links.feedback_token(IDENTITY_SECRET, "T20261205-000012")
    ticket_id, mac = token.split(".")
    assert ticket_id == "T20261205-000012" and len(mac) == links.MAC_LENGTH
    assert links.ticket_of_token(IDENTITY_SECRET, token) == "T20261205-000012"
    assert links.ticket_of_token(PEPPER, token) is None  # another secret
    other = links.feedback_token(IDENTITY_SECRET, "T20261205-000013")
    assert links.ticket_of_token(IDENTITY_SECRET, f"T20261205-000013.{mac}") is None
    assert links.ticket_of_token(IDENTITY_SECRET, other) == "T20261205-000013"
    for bad in (None, 12, "", token + "x", token[:-1], "T20261205-000012", token.upper()):
        assert links.ticket_of_token(IDENTITY_SECRET, bad) is None
    assert links.ticket_of_token("", token) is None
    with pytest.raises(ValueError):
        links.feedback_token("", "T1")


# ------------------------------------------------------------------------------------ bodies


def test_a_step_body_is_checked_field_by_field():
    body = {"step": "respond", "actor": AGENT, "text": "您好", "team": None}
    assert bodies.check(body, bodies.STEP, ("step", "actor")) == {
        "step": "respond",
        "actor": AGENT,
        "text": "您好",
    }
    bad = [
        {"actor": AGENT},  # no step
        {"step": "respond", "actor": AGENT, "extra": 1},  # unknown field
        {"step": "dance", "actor": AGENT},
        {"step": "respond", "actor": "agent"},
        {"step": "respond", "actor": AGENT, "text": 5},
        {"step": "respond", "actor": AGENT, "text": "长" * (bodies.TEXT_MAX + 1)},
        {"step": "reassign", "actor": AGENT, "team": "nowhere"},
        {"step": "follow_up_answer", "actor": "customer", "rating": True},
        {"step": "follow_up_answer", "actor": "customer", "rating": 6},
        {"step": "escalate", "actor": "system", "window": "lunch"},
    ]
    for body in bad:
        with pytest.raises(bodies.Invalid):
            bodies.check(body, bodies.STEP, ("step", "actor"))


def test_json_times_links_and_query_values():
    assert bodies.parse_json(b"") == {} and bodies.parse_json(b' {"a": 1} ') == {"a": 1}
    for raw in (b"[1]", b"{", b"\xff", b'"x"'):
        with pytest.raises(bodies.Invalid):
            bodies.parse_json(raw)
    when = bodies.check(
        {"expected_restore_at": "2026-12-05T18:00:00+08:00", "actor": "supervisor:s1"},
        bodies.UPDATE_OUTAGE,
    )["expected_restore_at"]
    assert when == datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)
    for value in ("2026-12-05T18:00:00", "tomorrow", 5):
        with pytest.raises(bodies.Invalid):
            bodies.check({"expected_restore_at": value}, bodies.UPDATE_OUTAGE)
    cleared = bodies.check(
        {"expected_restore_at": None}, bodies.UPDATE_OUTAGE, nullable=("expected_restore_at",)
    )
    assert cleared == {"expected_restore_at": None}
    assert bodies.check({"link": "https://x.example/feedback?t=a.b"}, bodies.SMS)
    for link in ("javascript:alert(1)", "https://x y", "http://a/<b>", "x" * 2000):
        with pytest.raises(bodies.Invalid):
            bodies.check({"link": link}, bodies.SMS)
    assert bodies.query_int({}, "limit", 50, 1, 200) == 50
    assert bodies.query_int({"limit": "7"}, "limit", 50, 1, 200) == 7
    for raw in ("0", "201", "x", "1.5"):
        with pytest.raises(bodies.Invalid):
            bodies.query_int({"limit": raw}, "limit", 50, 1, 200)


# ------------------------------------------------------------------------------------- clock


def test_the_clock_file_moves_the_service_clock(tmp_path):
    path = tmp_path / "offset"
    clock = common.offset_clock(path)
    assert abs(clock() - datetime.now(timezone.utc)) < timedelta(minutes=1)  # missing: 0
    path.write_text("86400.5")
    assert clock() - datetime.now(timezone.utc) > timedelta(hours=23)
    path.write_text("")
    assert abs(clock() - datetime.now(timezone.utc)) < timedelta(minutes=1)
    path.write_text("-7200")
    assert clock() < datetime.now(timezone.utc) - timedelta(minutes=90)
    for junk in ("soon", "nan", "1e20"):
        path.write_text(junk)
        assert abs(clock() - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_the_clock_file_is_for_demos_only(tmp_path):
    env = {"ASSISTANT_IDENTITY_SECRET": IDENTITY_SECRET, "ASSISTANT_ID_PEPPER": PEPPER}
    assert load_settings(env, repo_root=tmp_path).clock_offset_file is None
    with pytest.raises(SettingsError, match="ASSISTANT_CLOCK_OFFSET_FILE"):
        load_settings({**env, "ASSISTANT_CLOCK_OFFSET_FILE": "var/clock"}, repo_root=tmp_path)
    demo = {**env, "ASSISTANT_CLOCK_OFFSET_FILE": "var/clock", "ASSISTANT_DEMO_MODE": "true"}
    assert load_settings(demo, repo_root=tmp_path).clock_offset_file == tmp_path / "var/clock"


def test_watched_is_a_plain_record():
    assert dataclasses.is_dataclass(watch.Watched) and watch.ACTIONS == (
        "warn",
        "breach",
        "page",
        "ask",
    )
