"""Rollups: per China-time quarter hour and per day, the sums of every metric's numerator and
denominator by the dimensions the reports filter on (archive/schema.py ROLLUP_DIMS,
ROLLUP_PARTS), so a 30-day report reads a few thousand day rows instead of every conversation,
handoff, offer, turn, ticket step and rating.

A quarter-hour row is what archive/metrics.py's own SQL sums over the raw rows of its quarter
hour (`refresh` runs exactly that), and a day row the sum of its day's quarter-hour rows, so
the rollups and the raw rows give the same numbers by construction;
tests/archive/test_rollup.py checks it. The writers refresh the quarter hours whose
rows they change, in the same transaction: the consumer (every batch), the idle sweep, the
backfill and the purge; `python -m archive rollup` rebuilds them all (after a metric's
definition changes).

The reports read a rollup when the query allows it (`table_for`): the default Rules, a window on
quarter-hour boundaries, no skill filter (skills are a list per handoff), and no queue filter on
conversations, turns, ticket steps or ratings (a conversation's handoffs may sit in several
queues; ticket steps and ratings have no agent dimension either). Everything else,
and every drill-down, reads the raw rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa

from archive import metrics as m
from archive.metrics import METRICS, Metric, ReportQuery, Rules
from archive.schema import (
    ROLLUP_DIMS,
    ROLLUP_PARTS,
    ROLLUPS,
    Conversation,
    Handoff,
    HandoffEvent,
    TicketStep,
    Turn,
)

__all__ = [
    "buckets_of",
    "grain",
    "handoff_buckets",
    "refresh",
    "refresh_all",
    "sums",
    "table_for",
    "ticket_buckets",
    "where",
]

QUARTER_MS = m.BUCKET_MS["15m"]
DAY_MS = m.BUCKET_MS["day"]
DEFAULT_RULES = Rules()
_C, _H, _E, _T = Conversation.__table__, Handoff.__table__, HandoffEvent.__table__, Turn.__table__
_S = TicketStep.__table__


# ---- reading ----------------------------------------------------------------------------------


def table_for(
    source: m.Source, q: ReportQuery, rules: Rules, by_agent: bool = False
) -> sa.Table | None:
    """The rollup that answers `source`'s metrics for `q` (by agent: the scorecard), or None
    when only the raw rows can."""
    aligned = q.start_ms % QUARTER_MS == 0 and q.end_ms % QUARTER_MS == 0
    if rules != DEFAULT_RULES or q.skill is not None or not aligned:
        return None
    if source in ("handoffs", "offers"):
        return ROLLUPS[f"rollup_{source}"]
    if q.queue is not None:
        return None
    if source in ("ticket_steps", "ratings"):
        return None if q.agent_id is not None or by_agent else ROLLUPS[f"rollup_{source}"]
    if source == "conversations":
        if by_agent or q.agent_id is not None:
            return ROLLUPS["rollup_agent_conversations"]
        return ROLLUPS["rollup_conversations"]
    return None if q.agent_id is not None or by_agent else ROLLUPS["rollup_turns"]


def grain(q: ReportQuery, by_bucket: bool = False) -> int:
    """The rollup rows to read: a day's when the window is whole China-time days (and, for a
    time series, its buckets are days), else the quarter hours'."""
    days = all(m.bucket_start(t, "day") == t for t in (q.start_ms, q.end_ms))
    return DAY_MS if days and (not by_bucket or q.bucket == "day") else QUARTER_MS


def where(q: ReportQuery, table: sa.Table, by_bucket: bool = False) -> list[sa.ColumnElement[bool]]:
    """The window and the query's filters over a rollup's rows (of the grain `grain` says)."""
    c = table.c
    found: list[sa.ColumnElement[bool]] = [
        c.grain_ms == grain(q, by_bucket),
        c.bucket_ms >= q.start_ms,
        c.bucket_ms < q.end_ms,
    ]
    for dim in ("channel", "intent", "queue", "agent_id"):
        value = getattr(q, dim)
        if value is not None:
            found.append(c[dim] == value)
    return found


def sums(metrics: list[Metric], table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """The same labelled sums as archive.metrics.sums, over a rollup's columns."""
    columns: list[sa.ColumnElement[Any]] = []
    for metric in metrics:
        parts = [f"{metric.name}__n"] + ([f"{metric.name}__d"] if metric.den is not None else [])
        columns += [sa.func.coalesce(sa.func.sum(table.c[p]), 0).label(p) for p in parts]
    return columns


# ---- writing ----------------------------------------------------------------------------------


def _rows_of(name: str, q: ReportQuery) -> sa.Select[Any]:
    """The rollup rows of `name` for the quarter hours of `q`, from the raw rows."""
    source = cast(m.Source, ROLLUP_DIMS[name][0])
    dims = ROLLUP_DIMS[name][1]
    rows = m.source_rows(source, q, DEFAULT_RULES)
    frm: sa.FromClause = rows
    if source == "conversations":
        dim: dict[str, sa.ColumnElement[Any]] = {
            "channel": rows.c.channel,
            "intent": rows.c.first_intent,
        }
        if "agent_id" in dims:
            h, c = _H.c, _C.c
            started = sa.select(c.id).where(c.started_ms >= q.start_ms, c.started_ms < q.end_ms)
            pairs = (
                sa.select(h.agent_id, h.conversation_id)
                .where(h.agent_id.is_not(None), h.conversation_id.in_(started))
                .distinct()
                .subquery("agent_conversations")
            )
            frm = rows.join(pairs, pairs.c.conversation_id == rows.c.conversation_id)
            dim["agent_id"] = pairs.c.agent_id
    elif source == "turns":
        conversation = _C.alias("turn_conversation")
        frm = rows.outerjoin(conversation, conversation.c.id == rows.c.conversation_id)
        dim = {"channel": conversation.c.channel, "intent": conversation.c.first_intent}
    else:
        dim = {key: rows.c[key] for key in dims}
    metrics = [metric for metric in METRICS.values() if metric.source == source]
    parts = {column.name: column for column in m.sums(metrics, rows)}
    if source == "conversations":
        parts["rated"] = sa.func.coalesce(sa.func.sum(m.flag(rows.c.rating.is_not(None))), 0).label(
            "rated"
        )
        parts["satisfied"] = sa.func.coalesce(
            sa.func.sum(m.flag(rows.c.rating >= m.SATISFIED_FROM)), 0
        ).label("satisfied")
    bucket = m.bucket_expr(rows.c.ts_ms, "15m").label("bucket_ms")
    return (
        sa.select(
            sa.literal(QUARTER_MS, sa.BigInteger).label("grain_ms"),
            bucket,
            *(dim[key].label(key) for key in dims),
            *(parts[part] for part in ROLLUP_PARTS[source]),
        )
        .select_from(frm)
        .group_by(bucket, *(dim[key] for key in dims))
    )


def _days_of(table: sa.Table, start: int, end: int) -> sa.Select[Any]:
    """The day rows of [start, end) (whole days): the sums of their quarter-hour rows."""
    _, dims = ROLLUP_DIMS[table.name]
    c = table.c
    day = m.bucket_expr(c.bucket_ms, "day").label("bucket_ms")
    fixed = ("grain_ms", "bucket_ms", *dims)
    parts = [column.name for column in table.columns if column.name not in fixed]
    return (
        sa.select(
            sa.literal(DAY_MS, sa.BigInteger).label("grain_ms"),
            day,
            *(c[dim] for dim in dims),
            *(sa.func.sum(c[part]).label(part) for part in parts),
        )
        .where(c.grain_ms == QUARTER_MS, c.bucket_ms >= start, c.bucket_ms < end)
        .group_by(day, *(c[dim] for dim in dims))
    )


# quarter hours this close are refreshed as one range, the clean ones between them too (the
# same rows again): fewer statements per batch
MERGE_GAP_MS = 2 * 3_600_000


def _ranges(times: Iterable[int], bucket: str, gap_ms: int = 0) -> list[tuple[int, int]]:
    """The buckets holding `times`, as half-open ranges: consecutive ones, and those less than
    `gap_ms` apart, in one."""
    size = m.BUCKET_MS[bucket]
    ranges: list[tuple[int, int]] = []
    for start in sorted({m.bucket_start(t, bucket) for t in times}):
        if ranges and start - ranges[-1][1] <= gap_ms:
            ranges[-1] = (ranges[-1][0], start + size)
        else:
            ranges.append((start, start + size))
    return ranges


def _replace(
    conn: sa.Connection, grain_ms: int, start: int, end: int, names: Iterable[str] = ROLLUPS
) -> None:
    for name in names:
        table = ROLLUPS[name]
        c = table.c
        conn.execute(
            sa.delete(table).where(c.grain_ms == grain_ms, c.bucket_ms >= start, c.bucket_ms < end)
        )
        rows = (
            _rows_of(name, ReportQuery(start, end, "15m"))
            if grain_ms == QUARTER_MS
            else _days_of(table, start, end)
        )
        conn.execute(sa.insert(table).from_select(list(c.keys()), rows))


def refresh(conn: sa.Connection, times: Iterable[int]) -> int:
    """Recompute every rollup's rows of the quarter hours holding `times`, then of their days
    (in the caller's transaction); how many ranges of quarter hours."""
    times = list(times)
    ranges = _ranges(times, "15m", MERGE_GAP_MS)
    for start, end in ranges:
        _replace(conn, QUARTER_MS, start, end)
    for start, end in _ranges(times, "day"):
        _replace(conn, DAY_MS, start, end)
    return len(ranges)


def refresh_all(conn: sa.Connection, names: Iterable[str] | None = None) -> None:
    """Rebuild every rollup (or those `names`, e.g. the ones a migration creates) from the raw
    rows (after a bulk load or a definition's change)."""
    chosen = list(ROLLUPS if names is None else names)
    for name in chosen:
        conn.execute(sa.delete(ROLLUPS[name]))
    columns = {
        "conversations": _C.c.started_ms,
        "handoffs": _H.c.created_ms,
        "offers": _E.c.ts_ms,
        "turns": _T.c.ts_ms,
        "ticket_steps": _S.c.ts_ms,
        "ratings": _S.c.ts_ms,
    }
    sources = {ROLLUP_DIMS[name][0] for name in chosen}
    if "ratings" in sources:  # a conversation's rating counts at its start
        sources.add("conversations")
    times = {columns[source] for source in sources}
    bounds = [conn.execute(sa.select(sa.func.min(t), sa.func.max(t))).one() for t in times]
    found = [int(v) for pair in bounds for v in pair if v is not None]
    if not found:
        return
    start, end = m.bucket_start(min(found), "day"), m.bucket_start(max(found), "day") + DAY_MS
    _replace(conn, QUARTER_MS, start, end, chosen)
    _replace(conn, DAY_MS, start, end, chosen)


def buckets_of(conn: sa.Connection, conversation_ids: Iterable[str]) -> set[int]:
    """The times whose quarter hours hold rows of these conversations in any rollup: their
    starts, their turns, their tickets' steps, their handoffs' creation and offers."""
    wanted = sorted(set(conversation_ids))
    times: set[int] = set()
    handoffs: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        times |= set(conn.scalars(sa.select(_C.c.started_ms).where(_C.c.id.in_(chunk))))
        times |= set(
            conn.scalars(sa.select(_T.c.ts_ms).where(_T.c.conversation_id.in_(chunk)).distinct())
        )
        times |= set(
            conn.scalars(sa.select(_S.c.ts_ms).where(_S.c.conversation_id.in_(chunk)).distinct())
        )
        handoffs |= set(conn.scalars(sa.select(_H.c.id).where(_H.c.conversation_id.in_(chunk))))
    return times | handoff_buckets(conn, handoffs)


def ticket_buckets(conn: sa.Connection, ticket_ids: Iterable[str]) -> set[int]:
    """The times of every step of these tickets (a later reopen changes the row of an earlier
    resolve: ticket_reopen_rate)."""
    wanted = sorted(set(ticket_ids))
    times: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        times |= set(conn.scalars(sa.select(_S.c.ts_ms).where(_S.c.ticket_id.in_(chunk))))
    return times


def handoff_buckets(conn: sa.Connection, handoff_ids: Iterable[str]) -> set[int]:
    """The times of these handoffs' creation and of their offers."""
    wanted = sorted(set(handoff_ids))
    times: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        times |= {
            int(t)
            for t in conn.scalars(sa.select(_H.c.created_ms).where(_H.c.id.in_(chunk)))
            if t is not None
        }
        times |= set(
            conn.scalars(
                sa.select(_E.c.ts_ms).where(_E.c.handoff_id.in_(chunk), _E.c.type == "offered")
            )
        )
    return times
