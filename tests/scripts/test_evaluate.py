"""scripts.evaluate's pure parts: the measures, McNemar's test, the comparison and the gate."""

from __future__ import annotations

import pytest

from scripts.evaluate import (
    CORE_INTENTS,
    Example,
    Predictions,
    compare,
    failed_stories,
    gate,
    golden_set,
    mcnemar,
    metrics,
    predict,
)
from scripts.paths import MODEL


def predictions(model_id: str, rows: list[tuple[str, str]]) -> Predictions:
    """rows: (gold intent, predicted intent); ids m1, m2… and texts t1, t2…"""
    examples = tuple(Example(f"m{n}", f"t{n}", gold) for n, (gold, _) in enumerate(rows, 1))
    return Predictions(model_id, examples, tuple(p for _, p in rows))


def test_metrics_by_hand() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    predicted = ["a", "a", "b", "b", "nlu_fallback", "c"]
    result = metrics(gold, predicted)
    # a: precision 2/2, recall 2/3 → F1 0.8; b: precision 1/2, recall 1/2 → 0.5; c: 1.0
    assert result["n"] == 6
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["per_intent"] == {
        "a": {"n": 3, "f1": pytest.approx(0.8)},
        "b": {"n": 2, "f1": pytest.approx(0.5)},
        "c": {"n": 1, "f1": pytest.approx(1.0)},
    }
    assert result["macro_f1"] == pytest.approx((0.8 + 0.5 + 1.0) / 3)
    # nlu_fallback is never a gold label: it lowers recall but is not averaged as a class
    assert "nlu_fallback" not in result["per_intent"]


def test_metrics_refuse_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError):
        metrics(["a"], [])
    with pytest.raises(ValueError):
        metrics([], [])


def test_mcnemar_exact_for_few_disagreements_and_chi_square_for_many() -> None:
    # 1 vs 9 of 10 discordant: two-sided binomial p = 2 * (1 + 10) / 2**10
    small = mcnemar(1, 9)
    assert small["method"] == "exact binomial"
    assert small["p"] == pytest.approx(22 / 1024)
    assert mcnemar(9, 1)["p"] == pytest.approx(22 / 1024)
    # 10 vs 30: (|10 - 30| - 1)^2 / 40 = 9.025 on one degree of freedom
    large = mcnemar(10, 30)
    assert large["method"] == "chi-square, continuity corrected"
    assert large["p"] == pytest.approx(0.0026640, abs=1e-6)
    assert mcnemar(0, 0) == {"champion_only": 0, "challenger_only": 0, "p": 1.0, "method": "none"}
    assert mcnemar(3, 3)["p"] == pytest.approx(1.0)


def test_compare_lists_fixed_and_broken_messages_and_the_deltas() -> None:
    champion = predictions("m-old", [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b"), ("c", "a")])
    challenger = predictions("m-new", [("a", "a"), ("a", "a"), ("b", "a"), ("b", "b"), ("c", "b")])
    result = compare(champion, challenger)
    assert (result["champion_id"], result["challenger_id"]) == ("m-old", "m-new")
    assert result["fixed"] == [
        {"id": "m2", "text": "t2", "intent": "a", "champion": "b", "challenger": "a"}
    ]
    assert result["broken"] == [
        {"id": "m3", "text": "t3", "intent": "b", "champion": "b", "challenger": "a"}
    ]
    # m5 is wrong both times (a → b): neither fixed nor broken, not discordant
    assert result["mcnemar"]["champion_only"] == 1 and result["mcnemar"]["challenger_only"] == 1
    assert result["delta"]["accuracy"] == pytest.approx(0.0)
    for intent in ("a", "b", "c"):
        assert result["delta"]["per_intent"][intent] == pytest.approx(
            result["challenger"]["per_intent"][intent]["f1"]
            - result["champion"]["per_intent"][intent]["f1"]
        )


def test_compare_refuses_different_messages() -> None:
    with pytest.raises(ValueError, match="same messages"):
        compare(predictions("x", [("a", "a")]), predictions("y", [("a", "a"), ("b", "b")]))


def comparison(macro: tuple[float, float], core_delta: dict[str, float]) -> dict:
    """A comparison as compare() shapes it, with only what the gate reads."""
    return {
        "champion": {"macro_f1": macro[0]},
        "challenger": {"macro_f1": macro[1]},
        "delta": {"per_intent": {intent: core_delta.get(intent, 0.0) for intent in CORE_INTENTS}},
    }


def test_the_gate_passes_an_equal_or_better_challenger() -> None:
    assert gate(comparison((0.80, 0.80), {}), True) == {"passed": True, "reasons": []}
    assert gate(comparison((0.80, 0.85), {"complain": -0.03}), True)["passed"] is True
    # the same predictions on both sides: equal, not lower
    same = predictions("x", [("query_balance", "query_balance"), ("roaming", "complain")])
    assert gate(compare(same, same), True)["passed"] is True


def test_the_gate_refuses_a_lower_macro_f1() -> None:
    verdict = gate(comparison((0.80, 0.799), {}), True)
    assert verdict["passed"] is False
    assert verdict["reasons"] == ["宏平均F1低于现用模型：0.799 < 0.800"]
    # judged at the three decimals shown: equal as read is not lower, lower as read is
    assert gate(comparison((0.9244, 0.9236), {}), True)["passed"] is True
    verdict = gate(comparison((0.92451, 0.92449), {}), True)
    assert verdict["reasons"] == ["宏平均F1低于现用模型：0.924 < 0.925"]


def test_the_gate_refuses_a_core_intent_down_more_than_3_points() -> None:
    verdict = gate(comparison((0.80, 0.82), {"complain": -0.031, "greet": -0.2}), True)
    assert verdict["passed"] is False
    assert verdict["reasons"] == ["核心意图 complain 的F1下降了3.1个百分点（上限3个）"]
    # greet is not a core intent: its drop alone does not stop the challenger
    assert gate(comparison((0.80, 0.82), {"greet": -0.2}), True)["passed"] is True


def test_the_gate_refuses_failed_conversation_tests_and_lists_every_reason() -> None:
    verdict = gate(comparison((0.80, 0.70), {"roaming": -0.1, "report_fault": -0.05}), False)
    assert verdict["passed"] is False
    assert len(verdict["reasons"]) == 4
    assert verdict["reasons"][-1] == "对话测试没有全部通过"


def test_failed_story_names_are_read_from_rasas_report() -> None:
    assert failed_stories("# None of the test stories failed - all good!") == []
    written = (
        "version: '3.1'\n"
        "stories:\n"
        "- story: 'roaming: price (HK) (/work/main/tests/conversations/roaming.yml)'\n"
        "  steps:\n"
        "  - intent: roaming\n"
        "  - action: action_start_request  # predicted: action_listen\n"
        "- story: greet and leave (tests/conversations/chitchat_fallback.yml)\n"
        "  steps:\n"
        "  - intent: greet\n"
    )
    assert failed_stories(written) == ["roaming: price (HK)", "greet and leave"]


@pytest.mark.slow
def test_a_model_judged_against_itself_passes_the_gate() -> None:
    """Each model is parsed in a process of its own: loaded second in one process (jieba's global
    dictionary then counts the user dictionary twice), the same model answered b0566 differently,
    which would fail an identical model."""
    golden = golden_set()
    sets = {"blind": [m for m in golden[:40] if m.id != "b0566"] + [golden[565]]}
    assert sets["blind"][-1].id == "b0566"
    first = predict(MODEL, sets, "champion")["blind"]
    second = predict(MODEL, sets, "challenger")["blind"]
    assert set(first.predicted) <= {m.intent for m in golden} | {"nlu_fallback"}
    assert first.predicted == second.predicted
    result = compare(first, second)
    assert (result["fixed"], result["broken"]) == ([], [])
    assert gate(result, True) == {"passed": True, "reasons": []}
