"""scripts.retrain_report: the printed table and the metrics kept in meta.json."""

from __future__ import annotations

from scripts.evaluate import Example, Predictions, compare, gate
from scripts.retrain_report import markdown, summary


def result(conversations_passed: bool = True) -> dict:
    examples = (
        Example("b0001", "查一下话费", "query_balance"),
        Example("b0002", "套餐|换成便宜的\n那个", "change_plan"),
        Example("b0003", "你好", "greet"),
    )
    champion = Predictions(
        "m20261205-100000-aaaaaaaa", examples, ("query_balance", "query_plan", "greet")
    )
    challenger = Predictions(
        "m20261205-110000-bbbbbbbb", examples, ("query_balance", "change_plan", "nlu_fallback")
    )
    blind = compare(champion, challenger)
    tests = {"passed": conversations_passed, "stories": 52, "failed": [], "returncode": 0}
    if not conversations_passed:
        tests.update(failed=["roaming: price"], returncode=1)
    return {
        "champion_id": champion.model_id,
        "challenger_id": challenger.model_id,
        "gate": gate(blind, conversations_passed),
        "conversation_tests": tests,
        "sets": {"blind": blind, "holdout": compare(champion, champion)},
    }


def test_the_report_shows_verdict_measures_and_changed_messages() -> None:
    text = markdown(result(conversations_passed=False))
    lines = text.splitlines()
    assert (
        lines[0] == "# Challenger m20261205-110000-bbbbbbbb vs champion m20261205-100000-aaaaaaaa"
    )
    assert "Gate: **failed**" in lines
    assert "- 对话测试没有全部通过" in lines
    assert "Conversation tests: 51/52 stories passed (failed: roaming: price)" in lines
    assert "`rasa test core` exited with code 1" in lines
    assert "## Golden set (eval/blind): 3 messages" in lines
    assert "## Held-out split (eval/nlu_holdout): 3 messages" in lines
    assert "| accuracy | 0.667 | 0.667 | +0.000 |" in lines
    assert "| change_plan | 1 | 0.000 | 1.000 | +1.000 |" in lines
    assert "| greet | 1 | 1.000 | 0.000 | -1.000 |" in lines
    # one message fixed, one broken; a '|' or a line break in a message stays inside its cell
    assert "| b0002 | 套餐\\|换成便宜的 那个 | change_plan | query_plan | change_plan |" in lines
    assert "| b0003 | 你好 | greet | greet | nlu_fallback |" in lines
    assert lines.count("### Fixed: 1") == 1 and lines.count("### Fixed: 0") == 1
    assert (
        "McNemar (exact binomial): 1 messages only the champion gets right, 1 only the "
        "challenger; p = 1.0000" in lines
    )


def test_the_meta_keeps_per_set_measures_and_what_was_compared() -> None:
    report = result()
    challenger = summary(report, "challenger")
    assert challenger["compared_with"] == "m20261205-100000-aaaaaaaa"
    assert challenger["conversation_tests"]["passed"] is True
    assert challenger["blind"]["per_intent"] == {
        "change_plan": 1.0,
        "greet": 0.0,
        "query_balance": 1.0,
    }
    assert (challenger["blind"]["fixed"], challenger["blind"]["broken"]) == (1, 1)
    assert challenger["blind"]["mcnemar_p"] == 1.0
    champion = summary(report, "champion")
    assert set(champion) == {"blind", "holdout"}
    assert champion["blind"]["accuracy"] == report["sets"]["blind"]["champion"]["accuracy"]
