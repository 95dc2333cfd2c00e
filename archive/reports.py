"""The report queries the supervisor pages call. Each takes a `sqlalchemy.Connection` and a
`ReportQuery` and returns plain JSON-ready dicts and lists; every number comes from
archive/metrics.py, and `drilldown` lists the conversations behind any of them.

Reading a transcript is reading a customer's data: the caller audits it (router/audit.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa

from archive import metrics as m
from archive import rollup
from archive.metrics import METRICS, Metric, MetricError, ReportQuery, Rules
from archive.schema import Conversation, Handoff, Message, Turn
from archive.scorecard import scorecard

__all__ = [
    "DRILL_COLUMNS",
    "MetricError",
    "ReportQuery",
    "Rules",
    "drilldown",
    "intent_mix",
    "scorecard",
    "summary",
    "timeseries",
    "to_csv",
    "transcript",
]

DEFAULT_RULES = Rules()
_C = Conversation.__table__
DRILL_COLUMNS = ("id", "started_ms", "channel", "first_intent", "handoffs", "rating", "ended_by")


def _by_source(names: Iterable[str]) -> dict[m.Source, list[Metric]]:
    grouped: dict[m.Source, list[Metric]] = {}
    for name in names:
        metric = m.metric(name)
        grouped.setdefault(metric.source, []).append(metric)
    return grouped


def _entry(metric: Metric, numerator: int, denominator: int | None) -> dict[str, Any]:
    return {
        "value": metric.value(numerator, denominator),
        "numerator": numerator,
        "denominator": denominator,
        "label": metric.label,
        "unit": metric.unit,
        "target": metric.target,
        "higher_is_better": metric.higher_is_better,
    }


def _ints(row: sa.RowMapping, metric: Metric) -> tuple[int, int | None]:
    numerator = int(row[f"{metric.name}__n"] or 0)
    denominator = int(row[f"{metric.name}__d"] or 0) if metric.den is not None else None
    return numerator, denominator


def summary(conn: sa.Connection, q: ReportQuery, rules: Rules = DEFAULT_RULES) -> dict[str, Any]:
    """Every headline metric over the whole window."""
    result: dict[str, Any] = {}
    for source, group in _by_source(METRICS).items():
        table = rollup.table_for(source, q, rules)
        if table is not None:
            statement = sa.select(*rollup.sums(group, table)).where(*rollup.where(q, table))
        else:
            rows = m.source_rows(source, q, rules)
            statement = sa.select(*m.sums(group, rows)).select_from(rows)
        row = conn.execute(statement).mappings().one()
        for metric in group:
            result[metric.name] = _entry(metric, *_ints(row, metric))
    return {name: result[name] for name in METRICS}


def timeseries(
    conn: sa.Connection, q: ReportQuery, metrics: list[str], rules: Rules = DEFAULT_RULES
) -> dict[str, Any]:
    """Each metric per China-time bucket: {"buckets": [start_ms…], "series": {name: [value…]}}
    (None where a bucket has no denominator)."""
    buckets = m.bucket_starts(q)
    series: dict[str, list[float | None]] = {}
    for source, group in _by_source(metrics).items():
        table = rollup.table_for(source, q, rules)
        if table is not None:
            bucket = m.bucket_expr(table.c.bucket_ms, q.bucket).label("bucket")
            statement = (
                sa.select(bucket, *rollup.sums(group, table))
                .where(*rollup.where(q, table, by_bucket=True))
                .group_by(bucket)
            )
        else:
            rows = m.source_rows(source, q, rules)
            bucket = m.bucket_expr(rows.c.ts_ms, q.bucket).label("bucket")
            statement = sa.select(bucket, *m.sums(group, rows)).select_from(rows).group_by(bucket)
        found = conn.execute(statement).mappings()
        values = {int(row["bucket"]): row for row in found}
        for metric in group:
            series[metric.name] = [
                metric.value(*_ints(values[start], metric))
                if start in values
                else metric.value(0, 0)
                for start in buckets
            ]
    return {"buckets": buckets, "series": {name: series[name] for name in metrics}}


def intent_mix(
    conn: sa.Connection, q: ReportQuery, rules: Rules = DEFAULT_RULES
) -> list[dict[str, Any]]:
    """Per first intent: conversations, share of all (%), containment (%) and CSAT (the `csat`
    metric of that intent: % of 4–5 among its conversations' ratings, agent's and assistant's,
    and its tickets' follow-up answers), largest first. intent None: conversations without a
    first intent."""
    table = rollup.table_for("conversations", q, rules)
    statement: sa.Select[Any]
    if table is not None:
        r = table.c
        statement = (
            sa.select(
                r.intent.label("intent"),
                sa.func.sum(r.conversations__n).label("conversations"),
                sa.func.sum(r.containment__n).label("contained_n"),
                sa.func.sum(r.containment__d).label("contained_d"),
            )
            .where(*rollup.where(q, table))
            .group_by(r.intent)
        )
    else:
        rows = m.source_rows("conversations", q, rules)
        c = rows.c
        statement = sa.select(
            c.first_intent.label("intent"),
            sa.func.count().label("conversations"),
            sa.func.sum(c.contained).label("contained_n"),
            sa.func.sum(c.ended).label("contained_d"),
        ).group_by(c.first_intent)
    found = conn.execute(statement).mappings().all()
    csat = _csat_by_intent(conn, q, rules)
    total = sum(int(row["conversations"]) for row in found)
    mix = [
        {
            "intent": row["intent"],
            "conversations": int(row["conversations"]),
            "share": 100.0 * int(row["conversations"]) / total if total else None,
            "contained": _percent(row["contained_n"], row["contained_d"]),
            "csat": _percent(*csat.get(row["intent"], (0, 0))),
        }
        for row in found
    ]
    mix.sort(key=lambda row: (-row["conversations"], row["intent"] is None, row["intent"] or ""))
    return mix


def _csat_by_intent(
    conn: sa.Connection, q: ReportQuery, rules: Rules
) -> dict[str | None, tuple[int, int]]:
    """The csat metric's (numerator, denominator) per first intent."""
    csat = m.metric("csat")
    table = rollup.table_for("ratings", q, rules)
    statement: sa.Select[Any]
    if table is not None:
        statement = (
            sa.select(table.c.intent, *rollup.sums([csat], table))
            .where(*rollup.where(q, table))
            .group_by(table.c.intent)
        )
    else:
        rows = m.source_rows("ratings", q, rules)
        statement = sa.select(rows.c.intent, *m.sums([csat], rows)).group_by(rows.c.intent)
    return {
        row["intent"]: (int(row["csat__n"] or 0), int(row["csat__d"] or 0))
        for row in conn.execute(statement).mappings()
    }


def _percent(numerator: Any, denominator: Any) -> float | None:
    return 100.0 * int(numerator or 0) / int(denominator) if denominator else None


def drilldown(
    conn: sa.Connection,
    q: ReportQuery,
    metric: str,
    part: Literal["numerator", "denominator"],
    bucket_start_ms: int | None = None,
    limit: int = 50,
    offset: int = 0,
    rules: Rules = DEFAULT_RULES,
) -> dict[str, Any]:
    """The conversations behind one number: a metric's numerator or denominator over the window,
    or over one bucket of it (`bucket_start_ms`, as `timeseries` lists them), oldest first."""
    chosen = m.metric(metric)
    if not 1 <= limit <= 1000 or offset < 0:
        raise MetricError("limit must be 1..1000 and offset ≥ 0")
    rows = m.source_rows(chosen.source, q, rules)
    where = [m.drill_condition(chosen, part, rows)]
    if bucket_start_ms is not None:
        if bucket_start_ms != m.bucket_start(bucket_start_ms, q.bucket):
            raise MetricError("bucket_start_ms is not the start of a bucket")
        end = bucket_start_ms + m.BUCKET_MS[q.bucket]
        where += [rows.c.ts_ms >= bucket_start_ms, rows.c.ts_ms < end]
    where.append(rows.c.conversation_id.is_not(None))  # e.g. a ticket step of no conversation
    ids = sa.select(rows.c.conversation_id).where(*where).distinct().subquery("ids")
    total = conn.execute(sa.select(sa.func.count()).select_from(ids)).scalar_one()
    c = _C.c
    listed = conn.execute(
        sa.select(*(c[name] for name in DRILL_COLUMNS))
        .join_from(ids, _C, c.id == ids.c.conversation_id)
        .order_by(c.started_ms, c.id)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return {"conversations": [dict(row) for row in listed], "total": int(total)}


def transcript(conn: sa.Connection, conversation_id: str) -> dict[str, Any] | None:
    """A conversation's record: the conversation, its (masked) messages, the assistant's reading
    of each customer turn, and its handoffs; None when the archive has no such conversation."""
    conversation = (
        conn.execute(sa.select(_C).where(_C.c.id == conversation_id)).mappings().one_or_none()
    )
    if conversation is None:
        return None

    def rows(table: sa.FromClause, *order: sa.ColumnElement[Any]) -> list[dict[str, Any]]:
        found = conn.execute(
            sa.select(table).where(table.c.conversation_id == conversation_id).order_by(*order)
        ).mappings()
        return [dict(row) for row in found]

    messages, turns, handoffs = Message.__table__, Turn.__table__, Handoff.__table__
    result_turns = rows(turns, turns.c.ts_ms, turns.c.seq)
    for turn in result_turns:
        turn["entities"] = json.loads(turn["entities"] or "[]")
        turn["fallback"] = bool(turn["fallback"])
    result_handoffs = rows(handoffs, handoffs.c.created_ms, handoffs.c.id)
    for handoff in result_handoffs:
        handoff["skills"] = json.loads(handoff["skills"] or "[]")
    return {
        "conversation": dict(conversation),
        "messages": rows(messages, messages.c.ts_ms, messages.c.seq),
        "turns": result_turns,
        "handoffs": result_handoffs,
    }


# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One CSV writer for every table: a header of every key (first seen first), then the rows;
    text cells that a spreadsheet would read as a formula are prefixed with a quote."""
    header: list[str] = []
    for row in rows:
        header += [key for key in row if key not in header]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(name) for name in header])
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in header])
    return out.getvalue()
