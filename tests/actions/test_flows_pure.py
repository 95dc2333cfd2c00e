"""The pure decisions behind the flows: identity, fallback stage, roaming words."""

from __future__ import annotations

import pytest

from actions.flows.fallback import ActionFallbackStage, fallback_stage
from actions.replies import decide_identity, privacy_notice
from actions.roaming_quote import infer_roaming_action, unknown_destination
from tests.actions.flows_support import run, slot


def test_identity_decisions():
    fresh = decide_identity(
        "basic", verified_phone=None, verified_level=None, candidate_phone=None, login_phone=None
    )
    assert (fresh.status, fresh.phone_number) == ("needed", None)
    login = decide_identity(
        "basic",
        verified_phone=None,
        verified_level=None,
        candidate_phone=None,
        login_phone="13800138000",
    )
    assert (login.status, login.verified_level) == ("verified", "basic")
    reset = decide_identity(
        "full",
        verified_phone=None,
        verified_level=None,
        candidate_phone=None,
        login_phone="13800138000",
    )
    assert (reset.status, reset.phone_number) == ("needed", "13800138000")
    full = decide_identity(
        "basic",
        verified_phone="13800138000",
        verified_level="full",
        candidate_phone="13800138000",
        login_phone=None,
    )
    assert full.status == "verified"
    other = decide_identity(
        "basic",
        verified_phone="13800138000",
        verified_level="full",
        candidate_phone="13800138001",
        login_phone=None,
    )
    assert (other.status, other.phone_number) == ("needed", "13800138001")


def test_privacy_notice_says_why_and_what():
    assert "身份证号码后6位" in privacy_notice("basic") and "只用于本次身份核验" in privacy_notice(
        "basic"
    )
    assert "完整的身份证号码" in privacy_notice("full")


def test_fallback_stage():
    assert fallback_stage(["nlu_fallback"]) == "first"
    assert fallback_stage(["greet", "nlu_fallback"]) == "first"
    assert fallback_stage(["nlu_fallback", "nlu_fallback"]) == "repeated"
    assert fallback_stage(["nlu_fallback", "greet", "nlu_fallback"]) == "first"


def test_fallback_action_reads_the_previous_turn():
    history = [
        {"event": "user", "text": "阿巴", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    ]
    from tests.actions.flows_support import snapshot

    events, _ = run(
        ActionFallbackStage(), snapshot(text="咕噜", intent="nlu_fallback", history=history)
    )
    assert events == [slot("fallback_stage", "repeated")]
    events, _ = run(ActionFallbackStage(), snapshot(text="咕噜", intent="nlu_fallback"))
    assert events == [slot("fallback_stage", "first")]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("帮我开通国际漫游", "activate"),
        ("把漫游关掉", "deactivate"),
        ("取消国际漫游", "deactivate"),
        ("我的漫游开了没", "status"),
        ("去日本漫游怎么收费", None),
        ("幫我開通漫遊", "activate"),
    ],
)
def test_roaming_words(text, action):
    assert infer_roaming_action(text) == action


def test_unknown_destination_text_is_safe():
    assert "<" not in unknown_destination("<img src=x onerror=alert(1)>")
    assert "“这个地方”" not in unknown_destination("火星") and "火星" in unknown_destination("火星")
