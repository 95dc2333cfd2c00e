"""archive/metrics.py's declarations and pure rules, and the scorecard's scaling
(archive/scorecard.py). The SQL of every metric is checked against hand-computed values in
tests/archive/test_reports.py."""

from __future__ import annotations

import pytest

from archive import metrics, scorecard
from archive.metrics import METRICS, MetricError, ReportQuery, Rules
from archive.schema import ROLLUP_PARTS
from telecom.urgency import ANSWER_TARGET_S, LEVELS

H = 3_600_000
CHINA_MIDNIGHT = 1_741_536_000_000  # 2025-03-10 00:00 UTC+8


def test_every_metric_is_declared_completely() -> None:
    for name, metric in METRICS.items():
        assert metric.name == name
        assert metric.label and not metric.label.isascii()  # a supervisor reads Chinese
        assert metric.numerator and metric.edge_cases
        assert (metric.den is None) == (metric.kind == "count") == (metric.denominator is None)
        assert metric.unit == {"ratio": "%", "mean": "s", "count": "count"}[metric.kind]
        assert metric.source in metrics.SOURCES


def test_every_metric_is_rolled_up() -> None:
    for name, metric in METRICS.items():
        parts = ROLLUP_PARTS[metric.source]
        assert f"{name}__n" in parts and (metric.den is None) != (f"{name}__d" in parts)


def test_operator_targets() -> None:
    assert METRICS["csat_agent"].target == METRICS["csat_bot"].target == 85.0
    assert METRICS["csat"].target == METRICS["csat_follow_up"].target == 85.0
    assert not METRICS["ticket_reopen_rate"].higher_is_better
    assert METRICS["asa"].target == 30.0 and not METRICS["asa"].higher_is_better


def test_values() -> None:
    ratio, mean, count = METRICS["containment"], METRICS["aht"], METRICS["handoffs"]
    assert ratio.value(1, 4) == 25.0
    assert ratio.value(0, 0) is None
    assert mean.value(90_000, 2) == 45.0
    assert mean.value(0, 0) is None
    assert count.value(7, None) == 7.0


@pytest.mark.parametrize(
    ("ts", "bucket", "start"),
    [
        (CHINA_MIDNIGHT, "day", CHINA_MIDNIGHT),
        (CHINA_MIDNIGHT - 1, "day", CHINA_MIDNIGHT - 24 * H),  # 23:59:59.999 the day before
        (CHINA_MIDNIGHT + 23 * H + 59 * 60_000, "day", CHINA_MIDNIGHT),
        (CHINA_MIDNIGHT + 90 * 60_000, "hour", CHINA_MIDNIGHT + H),
        (CHINA_MIDNIGHT + 44 * 60_000, "15m", CHINA_MIDNIGHT + 30 * 60_000),
    ],
)
def test_bucket_start_is_china_time(ts: int, bucket: str, start: int) -> None:
    assert metrics.bucket_start(ts, bucket) == start


def test_bucket_starts_cover_the_window() -> None:
    q = ReportQuery(CHINA_MIDNIGHT + 5 * H, CHINA_MIDNIGHT + 48 * H, "day")
    assert metrics.bucket_starts(q) == [CHINA_MIDNIGHT, CHINA_MIDNIGHT + 24 * H]


def test_bad_queries_are_refused() -> None:
    with pytest.raises(MetricError):
        ReportQuery(10, 10)
    with pytest.raises(MetricError):
        ReportQuery(0, 10, "week")  # type: ignore[arg-type]
    with pytest.raises(MetricError):
        metrics.metric("nps")


def test_answer_targets_come_from_the_urgency_levels() -> None:
    rules = Rules()
    assert set(rules.answer_target_ms) == set(LEVELS)
    assert rules.target_ms("billing", "critical") == ANSWER_TARGET_S["critical"] * 1000 == 30_000
    assert rules.target_ms(None, None) == 120_000  # unknown urgency: normal
    queue_rule = Rules(queue_target_ms={"billing": 20_000})
    assert queue_rule.target_ms("billing", "low") == 20_000
    assert queue_rule.target_ms("roaming", "low") == 300_000
    assert rules.short_abandon_ms == 5_000


@pytest.mark.parametrize(
    ("component", "raw", "expected"),
    [
        ("satisfaction", 90.0, 90.0),
        ("resolution", 75.0, 75.0),
        ("response_time", 30.0, 100.0),
        ("response_time", 75.0, 50.0),  # halfway between 30 s and 120 s
        ("response_time", 500.0, 0.0),
        ("handle_time", 299.0, 100.0),
        ("handle_time", 600.0, 50.0),
        ("handle_time", 900.0, 0.0),
        ("complaint_rate", 0.0, 100.0),
        ("complaint_rate", 2.5, 75.0),
        ("complaint_rate", 40.0, 0.0),
        ("satisfaction", None, None),
    ],
)
def test_scorecard_scaling(component: str, raw: float | None, expected: float | None) -> None:
    assert scorecard.score(component, raw) == expected


def test_scorecard_weights_and_total() -> None:
    assert sum(scorecard.WEIGHTS.values()) == pytest.approx(1.0)
    assert set(scorecard.SCALING) == set(scorecard.WEIGHTS) == set(scorecard.COMPONENT_METRIC)
    every = dict.fromkeys(scorecard.WEIGHTS, 80.0)
    assert scorecard.total(every) == pytest.approx(80.0)
    mixed = {**dict.fromkeys(scorecard.WEIGHTS, 100.0), "satisfaction": 0.0}
    assert scorecard.total(mixed) == pytest.approx(70.0)
    # no rating yet: the other four, renormalised
    partial = {**dict.fromkeys(scorecard.WEIGHTS, 50.0), "satisfaction": None}
    assert scorecard.total(partial) == pytest.approx(50.0)
    assert scorecard.total(dict.fromkeys(scorecard.WEIGHTS)) is None
    with pytest.raises(MetricError):
        scorecard.score("charm", 1.0)
