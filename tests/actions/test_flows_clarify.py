"""A first misunderstanding offers the two likeliest requests as buttons (issue 15)."""

from __future__ import annotations

from actions.flows.fallback import ActionClarify, clarify_buttons, clarify_options
from tests.actions.flows_support import run, snapshot


def _ranking(*pairs: tuple[str, float]) -> list[dict]:
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def test_the_two_likeliest_offerable_requests_in_order() -> None:
    ranking = _ranking(
        ("nlu_fallback", 0.6),
        ("greet", 0.4),
        ("change_plan", 0.3),
        ("query_plan", 0.2),
        ("roaming", 0.16),
    )
    assert clarify_options(ranking) == ["change_plan", "query_plan"]


def test_noise_and_the_input_guard_offer_nothing() -> None:
    assert clarify_options(_ranking(("nlu_fallback", 0.6), ("query_plan", 0.1))) == []
    guarded = _ranking(("nlu_fallback", 1.0), ("change_plan", 0.5), ("query_plan", 0.3))
    assert clarify_options(guarded) == []
    assert clarify_options([]) == []


def test_one_likely_request_is_offered_alone() -> None:
    assert clarify_options(_ranking(("nlu_fallback", 0.6), ("roaming", 0.45))) == ["roaming"]


def test_buttons_start_the_request_and_none_of_them_is_a_deny() -> None:
    buttons = clarify_buttons(["change_plan", "query_balance"])
    assert [b["payload"] for b in buttons] == ["/change_plan", "/query_balance", "/deny"]
    assert [b["title"] for b in buttons] == ["变更套餐", "查询话费余额/账单", "都不是"]


def _clarify(ranking: list[dict]) -> list:
    state = snapshot(text="那个套餐的事儿帮我弄一下", intent="nlu_fallback")
    state["latest_message"]["intent_ranking"] = ranking
    return run(ActionClarify(), state)[1]


def test_the_action_asks_with_buttons() -> None:
    messages = _clarify(_ranking(("nlu_fallback", 0.6), ("change_plan", 0.4), ("query_plan", 0.3)))
    assert len(messages) == 1
    assert "哪一项" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/change_plan",
        "/query_plan",
        "/deny",
    ]


def test_the_action_asks_to_rephrase_when_nothing_is_likely() -> None:
    messages = _clarify(_ranking(("nlu_fallback", 1.0), ("change_plan", 0.4)))
    assert [m.get("response") for m in messages] == ["utter_ask_rephrase"]
