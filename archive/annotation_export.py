"""Accepted annotations as a batch of Rasa NLU training data: nlu_data/annotated/batch-<China
time YYYYMMDD-HHMMSS>.yml, a reviewed change like any other edit of nlu_data/.

The file opens with its provenance (annotation ids, analysts, dates, counts) as comments, then
the examples by intent (Rasa 3.x NLU YAML, version "3.1"), each placeholder a synthetic value
annotated as its entity (archive/placeholders.py). Items decided `none` or `new_intent` are
named in the header only. An item whose normalised text is in an evaluation set (the blind
golden set eval/blind, the held-out split eval/nlu_holdout) is withheld: training on it would
make the evaluation lie. Every item the batch handled gets a decision row (export | listed |
withheld) naming the batch, so it is exported once. Nothing is ever written under eval/.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
import yaml

from archive import annotations as a
from archive.inbox import normalise
from archive.placeholders import training_text
from archive.schema import Annotation
from telecom import mask

__all__ = ["OUT_DIR", "ROOT", "export_batch", "held_out_texts"]

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "nlu_data" / "annotated"
CHINA = timezone(timedelta(hours=8))
_ANNOTATED = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")


def held_out_texts(root: Path = ROOT) -> set[str]:
    """The normalised texts of the evaluation sets (messages masked first, as the archive's
    are): eval/blind/messages.jsonl and the examples of eval/nlu_holdout/*.yml."""
    texts: list[str] = []
    blind = root / "eval" / "blind" / "messages.jsonl"
    if blind.exists():
        for line in blind.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(str(json.loads(line).get("text", "")))
    for path in sorted((root / "eval" / "nlu_holdout").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                example = line.strip().removeprefix("- ")
                texts.append(_ANNOTATED.sub(lambda m: m.group(1) or m.group(2) or "", example))
    return {normalise(mask.text(t)) for t in texts if t.strip()}


def export_batch(
    conn: sa.Connection,
    out_dir: Path | None = None,
    now: datetime | None = None,
    by: str = "system",
    held_out: Iterable[str] | None = None,
) -> Path | None:
    """Writes the accepted annotations not exported yet into a new batch file of `out_dir`
    (nlu_data/annotated/) and marks them exported; None when no item is ready. `held_out`:
    texts never to train on (default: the evaluation sets, held_out_texts())."""
    out_dir = (out_dir or OUT_DIR).resolve()
    if out_dir.is_relative_to((ROOT / "eval").resolve()):
        raise a.AnnotationError("out", "an export never goes into eval/")
    now = (now or datetime.now(UTC)).astimezone(CHINA)
    now_ms = int(now.timestamp() * 1000)
    withheld_texts = (
        held_out_texts() if held_out is None else {normalise(mask.text(t)) for t in held_out}
    )
    queued = a.items(conn)
    decisions = a.decisions_of(conn)
    examples: dict[str, list[str]] = defaultdict(list)
    ids: list[int] = []
    analysts: set[str] = set()
    times: list[int] = []
    marks: list[dict[str, object]] = []
    listed: dict[str, list[str]] = defaultdict(list)
    for key in sorted(queued):
        item, mine = queued[key], decisions.get(key, [])
        chosen = a.accepted(bool(item["double"]), mine)
        if chosen is None:
            continue
        mark = {"key": key, "analyst_id": by, "ts_ms": now_ms, "intent": chosen.intent}
        if normalise(item["text"]) in withheld_texts:
            marks.append({**mark, "decision": "withheld"})
            continue
        ids.append(chosen.id)
        analysts.update(d.analyst_id for d in mine if d.decision in (*a.DECISIONS, "settle"))
        times.extend(d.ts_ms for d in mine)
        if chosen.decision in ("none", "new_intent"):
            listed[chosen.new_intent or "none"].append(key)
            marks.append({**mark, "decision": "listed", "new_intent": chosen.new_intent})
            continue
        assert chosen.intent is not None
        example = training_text(item["text"], _entities(chosen, mine))
        if example and example not in examples[chosen.intent]:
            examples[chosen.intent].append(example)
        marks.append({**mark, "decision": "export"})
    if not marks:
        return None
    path = _free_path(out_dir, f"batch-{now:%Y%m%d-%H%M%S}")
    for mark in marks:
        conn.execute(sa.insert(Annotation).values(batch=path.name, **mark))
    header = _header(path, now, by, ids, analysts, times, examples, listed, marks)
    _write(path, header + _body(examples))
    return path


def _entities(chosen: a.Decision, mine: list[a.Decision]) -> tuple[tuple[int, int, str], ...]:
    if chosen.decision != "settle":
        return chosen.entities
    agreeing = [
        d for d in mine if d.decision in ("confirm", "correct") and d.intent == chosen.intent
    ]
    return agreeing[-1].entities if agreeing else ()


def _free_path(out_dir: Path, stem: str) -> Path:
    path, n = out_dir / f"{stem}.yml", 2
    while path.exists():
        path, n = out_dir / f"{stem}-{n}.yml", n + 1
    return path


def _day(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, CHINA):%Y-%m-%d}"


def _wrapped(prefix: str, values: list[str]) -> list[str]:
    lines, line = [], prefix
    for value in values:
        if len(line) + len(value) > 96:
            lines.append(line.rstrip(", "))
            line = "#   "
        line += value + ", "
    lines.append(line.rstrip(", "))
    return lines


def _header(
    path: Path,
    now: datetime,
    by: str,
    ids: list[int],
    analysts: set[str],
    times: list[int],
    examples: dict[str, list[str]],
    listed: dict[str, list[str]],
    marks: list[dict[str, object]],
) -> str:
    count = sum(len(v) for v in examples.values())
    withheld = sum(1 for m in marks if m["decision"] == "withheld")
    lines = [
        f"# {path.name}: intent examples the analysts annotated in the archive's inbox.",
        f"# Exported {now:%Y-%m-%d %H:%M:%S} China time by {by};"
        " review it as a change of nlu_data/.",
        f"# examples: {count} of {len(examples)} intents: "
        + ", ".join(f"{intent} {len(v)}" for intent, v in sorted(examples.items())),
        *_wrapped("# annotation ids (table annotations): ", [str(i) for i in sorted(ids)]),
        "# analysts: " + (", ".join(sorted(analysts)) or "-"),
        "# decided: "
        + (f"{_day(min(times))} .. {_day(max(times))}" if times else "-")
        + " (China time)",
        f"# none of these (not exported): {len(listed.get('none', []))}",
        "# new intents proposed (not exported): "
        + (", ".join(f"{n} x{len(k)}" for n, k in sorted(listed.items()) if n != "none") or "-"),
        f"# withheld (their text is in eval/blind or eval/nlu_holdout): {withheld}",
    ]
    return "\n".join(lines) + "\n"


def _body(examples: dict[str, list[str]]) -> str:
    lines = ['version: "3.1"', "nlu:" if examples else "nlu: []"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in examples[intent]]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
