"""The analysts' annotations of inbox groups, their agreement, and their export as training data.

An item (annotation_items) is an inbox group queued for annotation, written once with its
placeholder text. Every decision is a row of `annotations` (who, when, what), never updated:
an analyst's `confirm` | `correct` | `none` | `new_intent`, a `settle` of a disagreement, and
the export's marks (`export`: in a batch file; `listed`: none/new_intent, named in a batch's
header only; `withheld`: its text is in an evaluation set). An analyst's latest decision about
an item is the one that counts.

DOUBLE_SHARE of the items (by their key's hash, so the same items on every run) are annotated
by two different analysts; their agreement is Cohen's kappa over the first two analysts'
labels. Accepted annotations — confirmed or corrected, by the one analyst of an item outside
the sample, by both analysts of a sampled item agreeing, or settled — are exported by
`export_batch` (archive/annotation_export.py) into nlu_data/annotated/.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from archive import inbox as inbox_module
from archive.decisions import (
    ANNOTATABLE,
    DECISIONS,
    DONE,
    DOUBLE_SHARE,
    AnnotationConflict,
    AnnotationError,
    Decision,
    NoSuchItem,
    accepted,
    checked,
    cohen_kappa,
    latest_by_analyst,
    sampled,
    status_of,
)
from archive.schema import Annotation, AnnotationItem

__all__ = [
    "ANNOTATABLE",
    "DECISIONS",
    "DONE",
    "DOUBLE_SHARE",
    "AnnotationConflict",
    "AnnotationError",
    "Decision",
    "NoSuchItem",
    "accepted",
    "agreement",
    "checked",
    "cohen_kappa",
    "disagreements",
    "export_batch",
    "latest_by_analyst",
    "next_items",
    "record",
    "sampled",
    "settle",
    "status_of",
]

QUEUE_DAYS = 7  # next_items queues the groups of the last week's inbox
LOOKUP_DAYS = 92  # record looks an unqueued key up in the inbox of the last quarter
DAY_MS = 86_400_000

_I = AnnotationItem.__table__
_A = Annotation.__table__


# -- the archive ----------------------------------------------------------------------------------
def _decision(row: Mapping[Any, Any]) -> Decision:
    return Decision(
        id=int(row["id"]),
        key=row["key"],
        analyst_id=row["analyst_id"],
        decision=row["decision"],
        intent=row["intent"],
        new_intent=row["new_intent"],
        entities=tuple((int(s), int(e), str(n)) for s, e, n in json.loads(row["entities"] or "[]")),
        batch=row["batch"],
        ts_ms=int(row["ts_ms"]),
    )


def decisions_of(
    conn: sa.Connection, keys: Sequence[str] | None = None
) -> dict[str, list[Decision]]:
    """Every decision, by item key (of `keys` only, when given)."""
    found: dict[str, list[Decision]] = defaultdict(list)
    chunks: Iterable[Sequence[str] | None] = (
        [None] if keys is None else (keys[i : i + 500] for i in range(0, len(keys), 500))
    )
    for chunk in chunks:
        statement = sa.select(_A).order_by(_A.c.ts_ms, _A.c.id)
        if chunk is not None:
            statement = statement.where(_A.c.key.in_(chunk))
        for row in conn.execute(statement).mappings():
            found[row["key"]].append(_decision(row))
    return found


def items(conn: sa.Connection, keys: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    chunks: Iterable[Sequence[str] | None] = (
        [None] if keys is None else (keys[i : i + 500] for i in range(0, len(keys), 500))
    )
    for chunk in chunks:
        statement = sa.select(_I)
        if chunk is not None:
            statement = statement.where(_I.c.key.in_(chunk))
        for row in conn.execute(statement).mappings():
            found[row["key"]] = dict(row)
    return found


def queued_keys(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.select(_I.c.key)).scalars())


def statuses(conn: sa.Connection, keys: Sequence[str]) -> dict[str, str]:
    """The status of each queued item among `keys` (an unqueued key is open)."""
    queued = items(conn, keys)
    decisions = decisions_of(conn, list(queued))
    return {k: status_of(bool(i["double"]), decisions.get(k, [])) for k, i in queued.items()}


def queue(conn: sa.Connection, groups: Iterable[inbox_module.InboxGroup], now_ms: int) -> int:
    """Queues the groups not queued yet as items; returns how many were new."""
    groups = list(groups)
    known = set(items(conn, [g.key for g in groups]))
    new = [
        {
            "key": g.key,
            "text": g.text,
            "predicted_intent": g.predicted_intent,
            "confidence": g.confidence,
            "reasons": json.dumps(g.reasons),
            "score": g.score,
            "double": sampled(g.key),
            "created_ms": now_ms,
        }
        for g in groups
        if g.key not in known
    ]
    if new:
        conn.execute(sa.insert(AnnotationItem), new)
    return len(new)


def _queue_recent(conn: sa.Connection, now_ms: int, days: int) -> None:
    queue(conn, inbox_module.grouped(conn, now_ms - days * DAY_MS, now_ms + 1), now_ms)


def _item(conn: sa.Connection, key: str, now_ms: int) -> dict[str, Any]:
    found = items(conn, [key]).get(key)
    if found is None:
        _queue_recent(conn, now_ms, LOOKUP_DAYS)
        found = items(conn, [key]).get(key)
    if found is None:
        raise NoSuchItem(key)
    return found


def _insert(conn: sa.Connection, row: dict[str, Any]) -> Decision:
    values = {"intent": None, "new_intent": None, "entities": "[]", "batch": None, **row}
    new_id = conn.execute(
        sa.insert(Annotation).values(**values).returning(Annotation.id)
    ).scalar_one()
    return _decision({**values, "id": new_id})


def record(
    conn: sa.Connection,
    key: str,
    analyst_id: str,
    decision: str,
    intent: str | None = None,
    new_intent: str | None = None,
    entities: Sequence[Any] = (),
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Records an analyst's decision about the item `key` (queued from the inbox when it is
    not yet); returns the decision with the item's status after it."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not analyst_id or len(analyst_id) > 64:
        raise AnnotationError("analyst_id", "an analyst id is 1 to 64 characters")
    item = _item(conn, key, now_ms)
    if status_of(bool(item["double"]), decisions_of(conn, [key]).get(key, [])) == "exported":
        raise AnnotationConflict("exported", "the item was exported already")
    intent, new_intent, found = checked(
        item["text"], item["predicted_intent"], decision, intent, new_intent, entities
    )
    row = _insert(conn, {
        "key": key, "analyst_id": analyst_id, "decision": decision, "intent": intent,
        "new_intent": new_intent, "entities": json.dumps(found), "ts_ms": now_ms,
    })  # fmt: skip
    status = status_of(bool(item["double"]), decisions_of(conn, [key]).get(key, []))
    return {**row.to_dict(), "status": status}


def _public(item: dict[str, Any], decisions: Sequence[Decision]) -> dict[str, Any]:
    return {
        "key": item["key"],
        "text": item["text"],
        "predicted_intent": item["predicted_intent"],
        "confidence": item["confidence"],
        "reasons": json.loads(item["reasons"] or "[]"),
        "score": item["score"],
        "double": bool(item["double"]),
        "status": status_of(bool(item["double"]), decisions),
        "annotations": [d.to_dict() for d in decisions if d.decision in DECISIONS],
    }


def next_items(
    conn: sa.Connection, analyst_id: str, limit: int = 20, now_ms: int | None = None
) -> list[dict[str, Any]]:
    """Items `analyst_id` has not annotated that still need an annotation: one outside the
    sample, two different analysts' inside it; sampled items with one annotation first, then
    the most useful. Queues the last QUEUE_DAYS' inbox first."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    _queue_recent(conn, now_ms, QUEUE_DAYS)
    queued = items(conn)
    decisions = decisions_of(conn)
    waiting = []
    for key, item in queued.items():
        mine = decisions.get(key, [])
        analysts = latest_by_analyst(mine)
        status = status_of(bool(item["double"]), mine)
        if analyst_id in analysts or status not in ("open", "annotated"):
            continue
        if status == "annotated" and not item["double"]:
            continue
        waiting.append((not analysts, -float(item["score"]), int(item["created_ms"]), key))
    waiting.sort()
    return [_public(queued[w[3]], decisions.get(w[3], [])) for w in waiting[:limit]]


def _pairs(conn: sa.Connection) -> list[tuple[dict[str, Any], list[Decision], Decision, Decision]]:
    sample = {k: i for k, i in items(conn).items() if i["double"]}
    decisions = decisions_of(conn, list(sample))
    found = []
    for key, item in sample.items():
        analysts = list(latest_by_analyst(decisions.get(key, [])).values())
        if len(analysts) >= 2:
            found.append((item, decisions[key], analysts[0], analysts[1]))
    return found


def agreement(conn: sa.Connection) -> dict[str, Any]:
    """{kappa, items, agreed}: Cohen's kappa of the first two analysts' labels over the sampled
    items both annotated (None when undefined), how many such items, how many they agree on."""
    labels = [(a.label(), b.label()) for _, _, a, b in _pairs(conn)]
    return {
        "kappa": cohen_kappa(labels),
        "items": len(labels),
        "agreed": sum(a == b for a, b in labels),
    }


def disagreements(conn: sa.Connection) -> list[dict[str, Any]]:
    """The disputed items (two analysts disagree, nobody settled it yet), the oldest first."""
    found = []
    for item, decisions, _, second in _pairs(conn):
        if status_of(True, decisions) == "disputed":
            found.append((second.ts_ms, item["key"], _public(item, decisions)))
    return [entry for _, _, entry in sorted(found, key=lambda f: (f[0], f[1]))]


def settle(
    conn: sa.Connection, key: str, analyst_id: str, intent: str, now_ms: int | None = None
) -> dict[str, Any]:
    """Settles a disputed item with `intent`; the settle is a decision row of its own."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not analyst_id or len(analyst_id) > 64:
        raise AnnotationError("analyst_id", "an analyst id is 1 to 64 characters")
    if intent not in ANNOTATABLE:
        raise AnnotationError("intent", "settle needs one of the assistant's intents")
    item = items(conn, [key]).get(key)
    if item is None:
        raise NoSuchItem(key)
    if status_of(bool(item["double"]), decisions_of(conn, [key]).get(key, [])) != "disputed":
        raise AnnotationConflict("not_disputed", "only a disputed item is settled")
    row = _insert(conn, {
        "key": key, "analyst_id": analyst_id, "decision": "settle", "intent": intent,
        "ts_ms": now_ms,
    })  # fmt: skip
    return {**row.to_dict(), "status": "settled"}


def export_batch(
    conn: sa.Connection,
    out_dir: Path | None = None,
    now: datetime | None = None,
    by: str = "system",
    held_out: Iterable[str] | None = None,
) -> Path | None:
    """archive.annotation_export.export_batch: the accepted annotations not exported yet as
    a batch file of Rasa NLU data; None when there is nothing to export."""
    from archive.annotation_export import export_batch as export

    return export(conn, out_dir, now, by=by, held_out=held_out)
