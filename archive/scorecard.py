"""The agent scorecard with the operator's weights (../shared/domain.md, "Quality and analytics"):
satisfaction 30 %, response time 25 %, resolution rate 20 %, handle time 15 %, complaint rate 10 %.

Each component is one metric of archive/metrics.py computed per agent — the same numerator and
denominator `summary` gives with the query's `agent_id` set to that agent, so every raw value
drills down to its conversations — and scaled to 0–100 by a stated rule (`SCALING`, `score`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from archive import metrics as m
from archive import rollup
from archive.metrics import ReportQuery, Rules
from archive.schema import Agent, Handoff

__all__ = ["COMPONENT_METRIC", "SCALING", "WEIGHTS", "per_agent", "score", "scorecard", "total"]

WEIGHTS: dict[str, float] = {
    "satisfaction": 0.30,
    "response_time": 0.25,
    "resolution": 0.20,
    "handle_time": 0.15,
    "complaint_rate": 0.10,
}
# the metric behind each component (its raw value; drill down with it and the agent's id)
COMPONENT_METRIC: dict[str, str] = {
    "satisfaction": "csat_agent",
    "response_time": "agent_response",
    "resolution": "fcr",
    "handle_time": "aht",
    "complaint_rate": "complaint_rate",
}
RESPONSE_ZERO_AT = 4  # × the response target
HANDLE_ZERO_AT = 3  # × the handle-time target
COMPLAINT_ZERO_AT = 10.0  # %
SCALING: dict[str, str] = {
    "satisfaction": "满意度（4–5分占比）即得分：90% 得 90 分",
    "response_time": (
        f"平均响应时长 ≤ {m.RESPONSE_TARGET_S:g} 秒得 100 分，"
        f"线性降至 {m.RESPONSE_TARGET_S * RESPONSE_ZERO_AT:g} 秒及以上得 0 分"
    ),
    "resolution": "首次解决率即得分：80% 得 80 分",
    "handle_time": (
        f"平均处理时长 ≤ {m.HANDLE_TARGET_S:g} 秒得 100 分，"
        f"线性降至 {m.HANDLE_TARGET_S * HANDLE_ZERO_AT:g} 秒及以上得 0 分"
    ),
    "complaint_rate": f"投诉率 0% 得 100 分，线性降至 {COMPLAINT_ZERO_AT:g}% 及以上得 0 分",
}


def _falling(raw: float, target: float, zero_at: float) -> float:
    """100 at or below `target`, 0 at or above `zero_at`, linear between."""
    if raw <= target:
        return 100.0
    return max(0.0, 100.0 * (zero_at - raw) / (zero_at - target))


def score(component: str, raw: float | None) -> float | None:
    """A component's 0–100 score from its raw value (the metric's value: % or seconds)."""
    if raw is None:
        return None
    if component in ("satisfaction", "resolution"):
        return raw
    if component == "response_time":
        target = m.RESPONSE_TARGET_S
        return _falling(raw, target, target * RESPONSE_ZERO_AT)
    if component == "handle_time":
        return _falling(raw, m.HANDLE_TARGET_S, m.HANDLE_TARGET_S * HANDLE_ZERO_AT)
    if component == "complaint_rate":
        return _falling(raw, 0.0, COMPLAINT_ZERO_AT)
    raise m.MetricError(f"unknown scorecard component {component!r}")


def total(scores: Mapping[str, float | None]) -> float | None:
    """The weighted mean of the components that have a score (their weights renormalised: an
    agent with no ratings yet is scored on the other four); None when none has one."""
    present = {name: value for name, value in scores.items() if value is not None}
    weight = sum(WEIGHTS[name] for name in present)
    if not weight:
        return None
    return sum(WEIGHTS[name] * value for name, value in present.items()) / weight


def per_agent(
    conn: sa.Connection, q: ReportQuery, rules: Rules, names: list[str]
) -> dict[str, dict[str, tuple[int, int | None]]]:
    """{agent_id: {metric: (numerator, denominator)}} for `names`. A conversation belongs to
    every agent who held one of its handoffs (the `agent_id` filter's meaning); a handoff to
    its agent; an accepted offer to the agent who accepted it."""
    grouped: dict[str, dict[str, tuple[int, int | None]]] = {}
    by_source: dict[m.Source, list[m.Metric]] = {}
    for name in names:
        metric = m.metric(name)
        by_source.setdefault(metric.source, []).append(metric)
    for source, group in by_source.items():
        table = rollup.table_for(source, q, rules, by_agent=True)
        if table is not None:
            agent = table.c.agent_id
            statement = (
                sa.select(agent.label("agent"), *rollup.sums(group, table))
                .where(*rollup.where(q, table), agent.is_not(None))
                .group_by(agent)
            )
        else:
            statement = _raw_per_agent(q, rules, source, group)
        for row in conn.execute(statement).mappings():
            entry = grouped.setdefault(str(row["agent"]), {})
            for metric in group:
                numerator = int(row[f"{metric.name}__n"] or 0)
                den = int(row[f"{metric.name}__d"] or 0) if metric.den is not None else None
                entry[metric.name] = (numerator, den)
    return grouped


def _raw_per_agent(
    q: ReportQuery, rules: Rules, source: m.Source, group: list[m.Metric]
) -> sa.Select[Any]:
    rows = m.source_rows(source, q, rules)
    if source == "conversations":
        h = Handoff.__table__.c
        pairs = (
            sa.select(h.agent_id, h.conversation_id)
            .where(h.agent_id.is_not(None), *m.handoff_filter(q, h))
            .distinct()
            .subquery("agent_conversations")
        )
        agent = pairs.c.agent_id
        frm: Any = rows.join(pairs, pairs.c.conversation_id == rows.c.conversation_id)
    elif source in ("handoffs", "offers"):
        agent, frm = rows.c.agent_id, rows
    else:
        raise m.MetricError(f"{source} metrics are not per agent")
    return (
        sa.select(agent.label("agent"), *m.sums(group, rows))
        .select_from(frm)
        .where(agent.is_not(None))
        .group_by(agent)
    )


def scorecard(conn: sa.Connection, q: ReportQuery, rules: Rules | None = None) -> dict[str, Any]:
    """{"weights", "scaling", "metrics" (component → metric), "agents": [{agent_id,
    display_name, components: {name: {raw, score, numerator, denominator}}, total}]}, best
    total first."""
    rules = rules or Rules()
    found = per_agent(conn, q, rules, list(COMPONENT_METRIC.values()))
    names = _display_names(conn, found)
    agents: list[dict[str, Any]] = []
    for agent_id, values in found.items():
        components: dict[str, dict[str, Any]] = {}
        for component, metric_name in COMPONENT_METRIC.items():
            numerator, denominator = values.get(metric_name, (0, 0))
            raw = m.METRICS[metric_name].value(numerator, denominator)
            components[component] = {
                "raw": raw,
                "score": score(component, raw),
                "numerator": numerator,
                "denominator": denominator,
            }
        agents.append(
            {
                "agent_id": agent_id,
                "display_name": names.get(agent_id),
                "components": components,
                "total": total({name: part["score"] for name, part in components.items()}),
            }
        )
    agents.sort(key=lambda a: (a["total"] is None, -(a["total"] or 0.0), a["agent_id"]))
    return {
        "weights": WEIGHTS,
        "scaling": SCALING,
        "metrics": COMPONENT_METRIC,
        "agents": agents,
    }


def _display_names(conn: sa.Connection, ids: Mapping[str, Any]) -> dict[str, str | None]:
    if not ids:
        return {}
    a = Agent.__table__.c
    found = conn.execute(sa.select(a.id, a.display_name).where(a.id.in_(sorted(ids))))
    return {str(row.id): row.display_name for row in found}
