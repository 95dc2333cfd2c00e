"""Repeat contacts, precomputed: `conversations.next_same_intent_ms` is the start of the same
customer's next conversation with the same first intent (ordered by start, then id), None when
there is none yet or the conversation has no customer or first intent. Containment and
first-contact resolution (archive/metrics.py) compare it with the conversation's start, so no
report recomputes a window over the whole table.

A link changes when a conversation joins or leaves a (customer_ref, first_intent) group — its
first intent becomes known, a verified number replaces its client's pseudonym — or its start
moves; then the whole group is relinked (a customer's conversations on one intent: a few rows,
found by the index on customer_ref, first_intent, started_ms). That also covers the rarer case
of the later conversation arriving first.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from archive.schema import Base

__all__ = ["Group", "changed_groups", "group_of", "next_starts", "relink", "relink_all"]

Group = tuple[str, str]  # (customer_ref, first_intent)
_C = Base.metadata.tables["conversations"]


def group_of(row: Mapping[str, Any]) -> Group | None:
    """The repeat group of a conversation row, None without a customer or first intent."""
    ref, intent = row.get("customer_ref"), row.get("first_intent")
    return (ref, intent) if ref and intent else None


def changed_groups(
    before: Mapping[str, tuple[Group | None, int]], after: Mapping[str, Mapping[str, Any]]
) -> set[Group]:
    """The groups to relink: those a conversation of `after` left or joined, or in which its
    start moved. `before`: {id: (group, started_ms)} as loaded (absent: a new conversation)."""
    groups: set[Group] = set()
    for conversation_id, row in after.items():
        old_group, old_start = before.get(conversation_id, (None, None))
        new_group = group_of(row)
        if old_group == new_group and old_start == row["started_ms"]:
            continue
        groups |= {g for g in (old_group, new_group) if g is not None}
    return groups


def _next_start(outer: Any) -> sa.ScalarSelect[Any]:
    n = _C.alias("later")
    return (
        sa.select(sa.func.min(n.c.started_ms))
        .where(
            n.c.customer_ref == outer.customer_ref,
            n.c.first_intent == outer.first_intent,
            sa.or_(
                n.c.started_ms > outer.started_ms,
                sa.and_(n.c.started_ms == outer.started_ms, n.c.id > outer.id),
            ),
        )
        .scalar_subquery()
    )


def relink(conn: sa.Connection, groups: Iterable[Group]) -> list[int]:
    """Recompute the links of every conversation in `groups` (in the caller's transaction);
    the starts of those whose link changed (what a rollup must refresh)."""
    c = _C.c
    wanted = sorted(groups)
    starts: list[int] = []
    for start in range(0, len(wanted), 200):
        changed = conn.execute(
            sa.update(_C)
            .where(
                sa.tuple_(c.customer_ref, c.first_intent).in_(wanted[start : start + 200]),
                c.next_same_intent_ms.is_distinct_from(_next_start(c)),
            )
            .values(next_same_intent_ms=_next_start(c))
            .returning(c.started_ms)
        )
        starts += [int(ms) for (ms,) in changed]
    return starts


def relink_all(conn: sa.Connection) -> None:
    """Every conversation's link (a migration, a bulk load)."""
    c = _C.c
    conn.execute(
        sa.update(_C).values(
            next_same_intent_ms=sa.case(
                (sa.and_(c.customer_ref.is_not(None), c.first_intent.is_not(None)), _next_start(c)),
                else_=None,
            )
        )
    )


def next_starts(rows: Iterable[tuple[str, str | None, str | None, int]]) -> dict[str, int]:
    """{id: next_same_intent_ms} of the conversations (id, customer_ref, first_intent,
    started_ms) that have a next one (pure: the generator's bulk rows)."""
    groups: dict[Group, list[tuple[int, str]]] = {}
    for conversation_id, ref, intent, started in rows:
        if ref and intent:
            groups.setdefault((ref, intent), []).append((started, conversation_id))
    result: dict[str, int] = {}
    for members in groups.values():
        members.sort()
        for (_, conversation_id), (later, _) in itertools.pairwise(members):
            result[conversation_id] = later
    return result
