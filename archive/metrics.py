"""Every number the supervisor pages show, defined once: what it counts (numerator and
denominator), its edge cases, its unit and target, and the SQL (SQLAlchemy Core) that computes it
over the archive's tables. docs/metrics.md says the same in words; reports.py shapes the answers.

A metric reads the rows of one *source* (conversations, handoffs, offers or customer turns) that
fall in a half-open window [start_ms, end_ms) by the source's own time (a conversation's start, a
handoff's creation, an offer's time, a turn's time) and that pass the query's filters. Its
numerator and denominator are sums of per-row SQL expressions, so the same expressions give the
total, every bucket of a time series, and the rows behind each number (the drill-down).

Times are epoch milliseconds UTC; China time is UTC+8 without DST, so a bucket starts at
`ts - (ts + 8 h) % size`. Only + - * % and comparisons are used in SQL, so the statements mean the
same on SQLite, PostgreSQL and DuckDB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

import sqlalchemy as sa

from archive import ticket_rows
from archive.schema import Conversation, Handoff, HandoffEvent, Ticket, Turn
from telecom.tickets import REOPEN_RATING, WINDOWS
from telecom.urgency import ANSWER_TARGET_S

__all__ = [
    "BUCKET_MS",
    "CHINA_OFFSET_MS",
    "LOW_CONFIDENCE",
    "METRICS",
    "SOURCES",
    "Metric",
    "MetricError",
    "ReportQuery",
    "Rules",
    "bucket_start",
    "bucket_starts",
    "low_confidence",
    "source_rows",
]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
CHINA_OFFSET_MS = 8 * HOUR_MS
BUCKET_MS: dict[str, int] = {"15m": 15 * 60_000, "hour": HOUR_MS, "day": DAY_MS}
# A customer turn the assistant acted on (not its fallback) with a top intent's confidence under
# this is a low-confidence turn: it was answered, but barely understood. The assistant's
# FallbackClassifier (config.yml) falls back under 0.6, so the band is mostly 0.6 to 0.7; a
# fallback turn counts in fallback_rate only. archive/fold.py counts
# conversations.low_confidence_turns with the same rule (`low_confidence`).
LOW_CONFIDENCE = 0.7
# A customer who comes back on the same first intent within these windows (from the start of one
# conversation to the start of the next) was not contained / not resolved at first contact.
CONTAINMENT_REPEAT_MS = DAY_MS
FCR_REPEAT_MS = 7 * DAY_MS
# A handoff abandoned before an answer within this long is a short abandon (default of Rules).
SHORT_ABANDON_MS = 5_000
# Ratings from this up are satisfied (4 and 5 on the 1–5 survey).
SATISFIED_FROM = 4
# The operator's targets (../shared/domain.md, "Quality and analytics" and SLAs).
CSAT_TARGET = 85.0
RESPONSE_TARGET_S = 30.0  # "first response within 30 seconds, also at peak"
# Conventions, not operator rules (docs/metrics.md says so): 80 % answered within threshold,
# and a chat handled within 5 minutes.
SERVICE_LEVEL_TARGET = 80.0
HANDLE_TARGET_S = 300.0

Bucket = Literal["15m", "hour", "day"]
Source = Literal["conversations", "handoffs", "offers", "turns", "ticket_steps", "ratings"]
Kind = Literal["ratio", "mean", "count"]


class MetricError(ValueError):
    """An unknown metric, a part it does not have, or a bad query (the caller's mistake)."""


@dataclasses.dataclass(frozen=True)
class ReportQuery:
    """A report's window (half-open, epoch ms), its bucket size, and its filters."""

    start_ms: int
    end_ms: int
    bucket: Bucket = "day"
    queue: str | None = None
    skill: str | None = None
    channel: str | None = None
    agent_id: str | None = None
    intent: str | None = None

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise MetricError("end_ms must be after start_ms")
        if self.bucket not in BUCKET_MS:
            raise MetricError(f"bucket must be one of {', '.join(BUCKET_MS)}")

    @property
    def handoff_filtered(self) -> bool:
        """True when a filter is about handoffs (queue, skill, agent)."""
        return any(v is not None for v in (self.queue, self.skill, self.agent_id))


def _default_answer_targets() -> dict[str, int]:
    return {level: round(seconds * 1000) for level, seconds in ANSWER_TARGET_S.items()}


@dataclasses.dataclass(frozen=True)
class Rules:
    """The operator's thresholds: a handoff is answered in time when it is assigned within its
    queue's threshold (`queue_target_ms`), else within its urgency's answer target; one abandoned
    within `short_abandon_ms` is a short abandon."""

    answer_target_ms: Mapping[str, int] = dataclasses.field(default_factory=_default_answer_targets)
    queue_target_ms: Mapping[str, int] = dataclasses.field(default_factory=dict)
    short_abandon_ms: int = SHORT_ABANDON_MS

    def target_ms(self, queue: str | None, urgency: str | None) -> int:
        """The threshold of one handoff (the same rule as `_target_expr`, for tests and pages)."""
        if queue is not None and queue in self.queue_target_ms:
            return self.queue_target_ms[queue]
        return self.answer_target_ms.get(urgency or "", self.answer_target_ms["normal"])


Expr = Callable[[Any], sa.ColumnElement[Any]]


@dataclasses.dataclass(frozen=True)
class Metric:
    """One number: `num` and `den` are per-row SQL expressions over its source's columns, summed.
    ratio: value = 100 × num ÷ den (%); mean: value = num ÷ den ÷ 1000 (num in ms, value in s);
    count: value = num (no denominator). The value is None when the denominator is 0."""

    name: str
    label: str  # what a supervisor reads (Simplified Chinese)
    source: Source
    kind: Kind
    numerator: str
    denominator: str | None
    edge_cases: str
    unit: str  # "%", "s" or "count"
    target: float | None
    higher_is_better: bool
    num: Expr
    den: Expr | None = None

    def value(self, numerator: int, denominator: int | None) -> float | None:
        if self.kind == "count":
            return float(numerator)
        if not denominator:
            return None
        if self.kind == "ratio":
            return 100.0 * numerator / denominator
        return numerator / denominator / 1000.0


def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def low_confidence(confidence: float | None, fallback: bool) -> bool:
    """A low-confidence turn (LOW_CONFIDENCE), for archive/fold.py; `_low_confidence_sql` is
    the same rule in SQL."""
    return not fallback and confidence is not None and confidence < LOW_CONFIDENCE


def _low_confidence_sql(c: Any) -> sa.ColumnElement[bool]:
    return sa.and_(c.fallback == sa.false(), c.confidence < LOW_CONFIDENCE)


def _one(_: Any) -> sa.ColumnElement[int]:
    return sa.literal(1)


def _escalation(c: Any) -> sa.ColumnElement[int]:
    return flag(
        sa.or_(
            c.step.in_(("warning", "page")),
            sa.and_(c.step == "escalate", c.actor_role.in_(("agent", "supervisor"))),
        )
    )


_WINDOW_LABELS = {"respond": "响应", "resolve": "办结", "follow_up": "回访"}


def _breaches(window: str) -> Metric:
    return Metric(
        f"ticket_breaches_{window}",
        f"工单{_WINDOW_LABELS[window]}超时",
        "ticket_steps",
        "count",
        f"tickets whose {window} window was breached (a `breach` alert with window = {window}, "
        "by the time the watcher found it)",
        None,
        "the watcher records a window's breach once per ticket, so a ticket counts once per "
        "window; a breach of a ticket opened before the period counts when it is found",
        "count",
        None,
        False,
        num=lambda c: flag(sa.and_(c.step == "breach", c.window == window)),
    )


_METRIC_LIST: tuple[Metric, ...] = (
    # conversations, by their start
    Metric(
        "conversations",
        "会话量",
        "conversations",
        "count",
        "conversations started in the period",
        None,
        "open conversations count",
        "count",
        None,
        True,
        num=_one,
    ),
    Metric(
        "containment",
        "机器人解决率",
        "conversations",
        "ratio",
        "ended conversations the assistant ended (ended_by = bot) with no handoff and no repeat "
        "contact (the same customer_ref starts a conversation with the same first intent within "
        "24 h of this one's start)",
        "conversations that have ended",
        "open conversations are in neither; a conversation without a first intent has no repeat "
        "contact; the repeat may fall after the period (it is looked for up to 24 h later) and "
        "may come on any channel",
        "%",
        None,
        True,
        num=lambda c: c.contained,
        den=lambda c: c.ended,
    ),
    Metric(
        "handoff_rate",
        "转人工率",
        "conversations",
        "ratio",
        "conversations with at least one handoff",
        "conversations started in the period",
        "open conversations count in the denominator",
        "%",
        None,
        False,
        num=lambda c: flag(c.handoffs > 0),
        den=_one,
    ),
    Metric(
        "fcr",
        "首次解决率",
        "conversations",
        "ratio",
        "conversations with a first intent whose customer does not start another conversation "
        "with the same first intent within 7 days of this one's start",
        "conversations with a first intent",
        "a repeat after the period still counts (looked for up to 7 days later), so the last "
        "7 days' value can still fall; a repeat on another channel counts",
        "%",
        None,
        True,
        num=lambda c: c.resolved,
        den=lambda c: c.has_intent,
    ),
    Metric(
        "csat_agent",
        "人工服务满意度",
        "conversations",
        "ratio",
        "ratings of 4 or 5 given to an agent's service (rating_of = agent)",
        "ratings given to an agent's service",
        "unrated conversations are in neither; filtered by agent: the conversations that agent "
        "handled",
        "%",
        CSAT_TARGET,
        True,
        num=lambda c: flag(sa.and_(c.rating_of == "agent", c.rating >= SATISFIED_FROM)),
        den=lambda c: flag(sa.and_(c.rating_of == "agent", c.rating.is_not(None))),
    ),
    Metric(
        "csat_bot",
        "机器人服务满意度",
        "conversations",
        "ratio",
        "ratings of 4 or 5 given to the assistant alone (rating_of = bot)",
        "ratings given to the assistant alone",
        "unrated conversations are in neither",
        "%",
        CSAT_TARGET,
        True,
        num=lambda c: flag(sa.and_(c.rating_of == "bot", c.rating >= SATISFIED_FROM)),
        den=lambda c: flag(sa.and_(c.rating_of == "bot", c.rating.is_not(None))),
    ),
    # handoffs, by their creation
    Metric(
        "handoffs",
        "转人工量",
        "handoffs",
        "count",
        "handoffs created in the period",
        None,
        "a conversation handed off twice counts twice",
        "count",
        None,
        True,
        num=_one,
    ),
    Metric(
        "service_level",
        "服务水平",
        "handoffs",
        "ratio",
        "handoffs assigned to an agent within their threshold (the queue's, else the urgency's "
        "answer target)",
        "handoffs assigned + handoffs abandoned unanswered after the short-abandon threshold",
        "short abandons (≤ 5 s) and handoffs still queued are in neither",
        "%",
        SERVICE_LEVEL_TARGET,
        True,
        num=lambda c: c.answered_in_target,
        den=lambda c: c.answered + c.long_abandon,
    ),
    Metric(
        "asa",
        "平均应答时长",
        "handoffs",
        "mean",
        "sum of (first assignment − creation) over answered handoffs",
        "handoffs assigned to an agent",
        "unanswered handoffs are in neither; a transfer does not restart the clock",
        "s",
        RESPONSE_TARGET_S,
        False,
        num=lambda c: c.wait_ms,
        den=lambda c: c.answered,
    ),
    Metric(
        "abandonment",
        "放弃率",
        "handoffs",
        "ratio",
        "handoffs abandoned unanswered after the short-abandon threshold",
        "handoffs created in the period except short abandons",
        "a short abandon (≤ 5 s) is in neither; a handoff abandoned after its assignment is not "
        "an abandon",
        "%",
        None,
        False,
        num=lambda c: c.long_abandon,
        den=lambda c: 1 - c.short_abandon,
    ),
    Metric(
        "aht",
        "平均处理时长",
        "handoffs",
        "mean",
        "sum of (completion − first assignment) over completed handoffs",
        "completed handoffs",
        "a transferred handoff counts once, with every agent's time",
        "s",
        HANDLE_TARGET_S,
        False,
        num=lambda c: c.handle_ms,
        den=lambda c: c.handled,
    ),
    Metric(
        "transfer_rate",
        "转接率",
        "handoffs",
        "ratio",
        "answered handoffs transferred at least once",
        "handoffs assigned to an agent",
        "a handoff transferred twice counts once",
        "%",
        None,
        False,
        num=lambda c: flag(sa.and_(c.answered == 1, c.transfers > 0)),
        den=lambda c: c.answered,
    ),
    Metric(
        "complaint_rate",
        "投诉率",
        "handoffs",
        "ratio",
        "completed handoffs whose conversation got a complaint ticket at or after the assignment",
        "completed handoffs",
        "a complaint opened before an agent took over (the reason for the handoff) does not count",
        "%",
        None,
        False,
        num=lambda c: c.complaint,
        den=lambda c: c.handled,
    ),
    # offers, by the time they were made
    Metric(
        "agent_response",
        "坐席响应时长",
        "offers",
        "mean",
        "sum of (acceptance − offer) over accepted offers",
        "accepted offers",
        "expired and rejected offers are in neither (they show in the handoff's missed count)",
        "s",
        RESPONSE_TARGET_S,
        False,
        num=lambda c: c.response_ms,
        den=_one,
    ),
    # customer turns, by their time
    Metric(
        "fallback_rate",
        "兜底回复率",
        "turns",
        "ratio",
        "customer turns the assistant could not understand (fallback)",
        "customer turns",
        "filters by channel and intent use the turn's conversation (its first intent)",
        "%",
        None,
        False,
        num=lambda c: flag(c.fallback == sa.true()),
        den=_one,
    ),
    Metric(
        "low_confidence_rate",
        "低置信度率",
        "turns",
        "ratio",
        f"customer turns the assistant acted on (not a fallback) with confidence below "
        f"{LOW_CONFIDENCE}",
        "customer turns",
        "a fallback turn counts in fallback_rate only, never here; a turn without a confidence "
        "is not low-confidence",
        "%",
        None,
        False,
        num=lambda c: flag(_low_confidence_sql(c)),
        den=_one,
    ),
    # ticket steps, by their time (archive/ticket_rows.py)
    Metric(
        "ticket_escalations",
        "工单升级",
        "ticket_steps",
        "count",
        "escalations to a supervisor: the watcher's warnings (a window nearing its deadline) "
        "and pages (a major complaint or critical ticket at opening), and the escalate steps "
        "agents and supervisors take",
        None,
        "the system's own escalate step behind a warning is not fed (the warning stands for "
        "it), so nothing counts twice; a ticket warned on two windows counts twice",
        "count",
        None,
        False,
        num=_escalation,
    ),
    *(_breaches(window) for window in WINDOWS),
    Metric(
        "ticket_reopen_rate",
        "工单重开率",
        "ticket_steps",
        "ratio",
        "resolutions after which the ticket was reopened (a reopen step, or a follow-up answer "
        f"rated {REOPEN_RATING} or lower, later than the resolve)",
        "resolutions (resolve steps, the system's for an outage's tickets too)",
        "the reopen is looked for after the period too, so a recent period's rate can still "
        "rise; a ticket resolved twice counts twice in the denominator",
        "%",
        None,
        False,
        num=lambda c: c.reopened,
        den=lambda c: flag(c.step == "resolve"),
    ),
    # ratings, each by its own time (archive/ticket_rows.py)
    Metric(
        "csat",
        "整体满意度",
        "ratings",
        "ratio",
        "ratings of 4 or 5: every conversation's survey rating (agent's or assistant's, by the "
        "conversation's start) and every ticket's follow-up answer (by the answer's time)",
        "all of those ratings",
        "a customer who rated the conversation and answered the ticket's follow-up counts "
        "twice: two answers about two services",
        "%",
        CSAT_TARGET,
        True,
        num=lambda c: flag(c.rating >= SATISFIED_FROM),
        den=_one,
    ),
    Metric(
        "csat_follow_up",
        "回访满意度",
        "ratings",
        "ratio",
        "follow-up answers (the satisfaction question after a ticket's resolution) rated 4 or 5",
        "follow-up answers",
        f"an answer rated {REOPEN_RATING} or lower also reopens its ticket (ticket_reopen_rate)",
        "%",
        CSAT_TARGET,
        True,
        num=lambda c: flag(sa.and_(c.follow_up == 1, c.rating >= SATISFIED_FROM)),
        den=lambda c: flag(c.follow_up == 1),
    ),
)

METRICS: dict[str, Metric] = {metric.name: metric for metric in _METRIC_LIST}
SOURCES: tuple[Source, ...] = (
    "conversations", "handoffs", "offers", "turns", "ticket_steps", "ratings",
)  # fmt: skip


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise MetricError(f"unknown metric {name!r}") from None


# ---- buckets ----------------------------------------------------------------------------------


def bucket_start(ts_ms: int, bucket: str) -> int:
    """The start (epoch ms) of the China-time bucket holding `ts_ms`."""
    return ts_ms - (ts_ms + CHINA_OFFSET_MS) % BUCKET_MS[bucket]


def bucket_starts(q: ReportQuery) -> list[int]:
    """Every bucket start from the one holding start_ms to the last one before end_ms."""
    size = BUCKET_MS[q.bucket]
    return list(range(bucket_start(q.start_ms, q.bucket), q.end_ms, size))


def bucket_expr(ts: sa.ColumnElement[int], bucket: str) -> sa.ColumnElement[int]:
    return ts - (ts + CHINA_OFFSET_MS) % BUCKET_MS[bucket]


# ---- sources: one row per conversation / handoff / accepted offer / turn ------------------------

_C, _H, _E, _T, _K = (
    Conversation.__table__,
    Handoff.__table__,
    HandoffEvent.__table__,
    Turn.__table__,
    Ticket.__table__,
)


def handoff_filter(q: ReportQuery, h: Any) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if q.queue is not None:
        where.append(h.queue == q.queue)
    if q.skill is not None:  # skills is a JSON list of strings: match the quoted name
        where.append(h.skills.like(f'%"{_escape_like(q.skill)}"%', escape="\\"))
    if q.agent_id is not None:
        where.append(h.agent_id == q.agent_id)
    return where


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def handed_off_in(q: ReportQuery, conversation_id: Any) -> sa.ColumnElement[bool]:
    """The conversation has a handoff matching the query's handoff filters."""
    h = _H.c
    matching: sa.ColumnElement[bool] = conversation_id.in_(
        sa.select(h.conversation_id).where(*handoff_filter(q, h))
    )
    return matching


def conversation_rows(q: ReportQuery, rules: Rules) -> sa.Subquery:
    """Conversations started in the window, with their repeat-contact flags (from the link the
    ingest keeps: `next_same_intent_ms`, archive/repeats.py)."""
    c = _C.c
    has_intent = sa.and_(c.first_intent.is_not(None), c.customer_ref.is_not(None))
    gap = c.next_same_intent_ms - c.started_ms
    repeat_24 = sa.and_(c.next_same_intent_ms.is_not(None), gap <= CONTAINMENT_REPEAT_MS)
    repeat_7d = sa.and_(c.next_same_intent_ms.is_not(None), gap <= FCR_REPEAT_MS)
    rows = sa.select(
        c.id.label("conversation_id"),
        c.started_ms.label("ts_ms"),
        c.channel,
        c.first_intent,
        c.handoffs,
        c.rating,
        c.rating_of,
        flag(c.ended_ms.is_not(None) | c.ended_by.is_not(None)).label("ended"),
        flag(sa.and_(c.ended_by == "bot", c.handoffs == 0, sa.not_(repeat_24))).label("contained"),
        flag(has_intent).label("has_intent"),
        flag(sa.and_(has_intent, sa.not_(repeat_7d))).label("resolved"),
    ).where(c.started_ms >= q.start_ms, c.started_ms < q.end_ms)
    if q.intent is not None:
        rows = rows.where(c.first_intent == q.intent)
    if q.channel is not None:
        rows = rows.where(c.channel == q.channel)
    if q.handoff_filtered:
        rows = rows.where(handed_off_in(q, c.id))
    return rows.subquery("conversation_rows")


def _target_expr(rules: Rules, h: Any) -> sa.ColumnElement[int]:
    by_urgency = sa.case(
        *((h.urgency == level, ms) for level, ms in rules.answer_target_ms.items()),
        else_=rules.answer_target_ms["normal"],
    )
    if not rules.queue_target_ms:
        return by_urgency
    return sa.case(
        *((h.queue == queue, ms) for queue, ms in rules.queue_target_ms.items()),
        else_=by_urgency,
    )


def handoff_rows(q: ReportQuery, rules: Rules) -> sa.Subquery:
    """Handoffs created in the window, with the flags and durations their metrics sum."""
    h = _H.c
    answered = h.assigned_ms.is_not(None)
    unanswered_abandon = sa.and_(h.abandoned_ms.is_not(None), h.assigned_ms.is_(None))
    abandon_wait = h.abandoned_ms - h.created_ms
    handled = sa.and_(h.completed_ms.is_not(None), answered)
    complaint = sa.exists().where(
        _K.c.conversation_id == h.conversation_id,
        _K.c.kind == "complaint",
        _K.c.created_ms >= h.assigned_ms,
    )
    rows = sa.select(
        h.conversation_id,
        h.created_ms.label("ts_ms"),
        h.channel,
        h.intent,
        h.queue,
        h.agent_id,
        h.transfers,
        flag(answered).label("answered"),
        flag(sa.and_(answered, h.assigned_ms - h.created_ms <= _target_expr(rules, h))).label(
            "answered_in_target"
        ),
        flag(sa.and_(unanswered_abandon, abandon_wait <= rules.short_abandon_ms)).label(
            "short_abandon"
        ),
        flag(sa.and_(unanswered_abandon, abandon_wait > rules.short_abandon_ms)).label(
            "long_abandon"
        ),
        sa.case((answered, h.assigned_ms - h.created_ms), else_=0).label("wait_ms"),
        flag(handled).label("handled"),
        sa.case((handled, h.completed_ms - h.assigned_ms), else_=0).label("handle_ms"),
        flag(sa.and_(handled, complaint)).label("complaint"),
    ).where(h.created_ms >= q.start_ms, h.created_ms < q.end_ms, *handoff_filter(q, h))
    if q.channel is not None:
        rows = rows.where(h.channel == q.channel)
    if q.intent is not None:
        rows = rows.where(h.intent == q.intent)
    return rows.subquery("handoff_rows")


def offer_rows(q: ReportQuery, rules: Rules) -> sa.Subquery:
    """Accepted offers made in the window: who accepted and how long it took."""
    accepted, offered, h = _E.alias("accepted"), _E.alias("offered"), _H.c
    rows = (
        sa.select(
            h.conversation_id,
            offered.c.ts_ms.label("ts_ms"),
            h.channel,
            h.intent,
            h.queue,
            accepted.c.agent_id,
            (accepted.c.ts_ms - offered.c.ts_ms).label("response_ms"),
        )
        .select_from(accepted)
        .join(
            offered, sa.and_(offered.c.offer_id == accepted.c.offer_id, offered.c.type == "offered")
        )
        .join(_H, h.id == accepted.c.handoff_id)
        .where(
            accepted.c.type == "accepted",
            offered.c.ts_ms >= q.start_ms,
            offered.c.ts_ms < q.end_ms,
        )
    )
    if q.queue is not None:
        rows = rows.where(h.queue == q.queue)
    if q.skill is not None:
        rows = rows.where(h.skills.like(f'%"{_escape_like(q.skill)}"%', escape="\\"))
    if q.agent_id is not None:  # the agent who accepted, not the one who completed
        rows = rows.where(accepted.c.agent_id == q.agent_id)
    if q.channel is not None:
        rows = rows.where(h.channel == q.channel)
    if q.intent is not None:
        rows = rows.where(h.intent == q.intent)
    return rows.subquery("offer_rows")


def turn_rows(q: ReportQuery, rules: Rules) -> sa.Subquery:
    """Customer turns in the window."""
    t, c = _T.c, _C.c
    rows = sa.select(t.conversation_id, t.ts_ms, t.fallback, t.confidence).where(
        t.ts_ms >= q.start_ms, t.ts_ms < q.end_ms
    )
    if q.channel is not None or q.intent is not None:
        rows = rows.join(_C, c.id == t.conversation_id)
        if q.channel is not None:
            rows = rows.where(c.channel == q.channel)
        if q.intent is not None:
            rows = rows.where(c.first_intent == q.intent)
    if q.handoff_filtered:
        rows = rows.where(handed_off_in(q, t.conversation_id))
    return rows.subquery("turn_rows")


_BUILDERS: dict[Source, Callable[[ReportQuery, Rules], sa.Subquery]] = {
    "conversations": conversation_rows,
    "handoffs": handoff_rows,
    "offers": offer_rows,
    "turns": turn_rows,
    "ticket_steps": lambda q, rules: ticket_rows.step_rows(q, handed_off_in),
    "ratings": lambda q, rules: ticket_rows.rating_rows(q, handed_off_in),
}


def source_rows(source: Source, q: ReportQuery, rules: Rules) -> sa.Subquery:
    return _BUILDERS[source](q, rules)


def sums(metrics: list[Metric], rows: sa.Subquery) -> list[sa.ColumnElement[Any]]:
    """The SUM columns of `metrics` over `rows`: `<name>__n` and `<name>__d`."""
    columns: list[sa.ColumnElement[Any]] = []
    for m in metrics:
        columns.append(sa.func.coalesce(sa.func.sum(m.num(rows.c)), 0).label(f"{m.name}__n"))
        if m.den is not None:
            columns.append(sa.func.coalesce(sa.func.sum(m.den(rows.c)), 0).label(f"{m.name}__d"))
    return columns


def drill_condition(m: Metric, part: str, rows: sa.Subquery) -> sa.ColumnElement[bool]:
    """Which rows are behind a metric's numerator or denominator."""
    if part == "numerator":
        # a mean's numerator is a sum of durations: its rows are those it averages
        expr = m.den if m.kind == "mean" and m.den is not None else m.num
        return expr(rows.c) > 0
    if part == "denominator":
        if m.den is None:
            raise MetricError(f"{m.name} is a count: it has no denominator")
        return m.den(rows.c) > 0
    raise MetricError("part must be numerator or denominator")
