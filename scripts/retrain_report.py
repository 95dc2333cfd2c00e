"""The retraining's report: the markdown table scripts/retrain.py prints and writes beside the
challenger's meta (report.md), and the metrics its meta.json keeps. Pure functions of the
result scripts/retrain.py builds (report.json); the format is in docs/retraining.md."""

from __future__ import annotations

from typing import Any

SET_TITLES = {
    "blind": "Golden set (eval/blind)",
    "holdout": "Held-out split (eval/nlu_holdout)",
}


def _f(value: float) -> str:
    return f"{value:.3f}"


def _delta(value: float) -> str:
    return f"{value:+.3f}"


def _cell(text: str) -> str:
    """Table cell text: a message may hold a '|' or a line break."""
    return text.replace("|", "\\|").replace("\n", " ")


def summary(result: dict[str, Any], role: str) -> dict[str, Any]:
    """The metrics kept in a model's meta.json: per set, accuracy, macro-F1 and F1 per intent
    (role "champion" or "challenger"); the challenger's also name what it was compared with."""
    kept: dict[str, Any] = {}
    for name, comparison in result["sets"].items():
        measures = comparison[role]
        kept[name] = {
            "n": measures["n"],
            "accuracy": measures["accuracy"],
            "macro_f1": measures["macro_f1"],
            "per_intent": {i: v["f1"] for i, v in measures["per_intent"].items()},
        }
        if role == "challenger":
            kept[name]["mcnemar_p"] = comparison["mcnemar"]["p"]
            kept[name]["fixed"] = len(comparison["fixed"])
            kept[name]["broken"] = len(comparison["broken"])
    if role == "challenger":
        kept["compared_with"] = result["champion_id"]
        kept["conversation_tests"] = result["conversation_tests"]
    return kept


def _set_section(name: str, comparison: dict[str, Any]) -> list[str]:
    before, after, delta = comparison["champion"], comparison["challenger"], comparison["delta"]
    test = comparison["mcnemar"]
    lines = [
        f"## {SET_TITLES.get(name, name)}: {before['n']} messages",
        "",
        "| measure | champion | challenger | delta |",
        "|---|---:|---:|---:|",
        f"| accuracy | {_f(before['accuracy'])} | {_f(after['accuracy'])} "
        f"| {_delta(delta['accuracy'])} |",
        f"| macro-F1 | {_f(before['macro_f1'])} | {_f(after['macro_f1'])} "
        f"| {_delta(delta['macro_f1'])} |",
        "",
        f"McNemar ({test['method']}): {test['champion_only']} messages only the champion gets "
        f"right, {test['challenger_only']} only the challenger; p = {test['p']:.4f}",
        "",
        "| intent | n | champion F1 | challenger F1 | delta |",
        "|---|---:|---:|---:|---:|",
    ]
    for intent, measures in before["per_intent"].items():
        lines.append(
            f"| {intent} | {measures['n']} | {_f(measures['f1'])} "
            f"| {_f(after['per_intent'][intent]['f1'])} | {_delta(delta['per_intent'][intent])} |"
        )
    for kind in ("fixed", "broken"):
        rows = comparison[kind]
        lines += ["", f"### {kind.capitalize()}: {len(rows)}", ""]
        if rows:
            lines += ["| id | message | intent | champion | challenger |", "|---|---|---|---|---|"]
            lines += [
                f"| {r['id']} | {_cell(r['text'])} | {r['intent']} | {r['champion']} "
                f"| {r['challenger']} |"
                for r in rows
            ]
    return [*lines, ""]


def markdown(result: dict[str, Any]) -> str:
    """The whole report: verdict, conversation tests, then one section per evaluation set."""
    gate, tests = result["gate"], result["conversation_tests"]
    verdict = "passed" if gate["passed"] else "failed"
    lines = [
        f"# Challenger {result['challenger_id']} vs champion {result['champion_id']}",
        "",
        f"Gate: **{verdict}**",
    ]
    lines += [f"- {reason}" for reason in gate["reasons"]]
    failed = ", ".join(tests["failed"]) or "none"
    lines += [
        "",
        f"Conversation tests: {tests['stories'] - len(tests['failed'])}/{tests['stories']} "
        f"stories passed (failed: {failed})",
    ]
    if tests["returncode"] != 0:
        lines.append(f"`rasa test core` exited with code {tests['returncode']}")
    lines.append("")
    for name, comparison in result["sets"].items():
        lines += _set_section(name, comparison)
    return "\n".join(lines)
