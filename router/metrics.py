"""Prometheus metrics. Cluster-wide numbers are read from Redis at scrape time (so every router
process reports the same totals); latencies are per process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_COUNTERS = {
    "offers": "Offers made to agents",
    "accepts": "Offers accepted",
    "rejects": "Offers rejected",
    "timeouts": "Offers not answered in time",
    "created": "Handoffs created",
    "completed": "Handoffs completed",
    "abandoned": "Handoffs abandoned",
    "rescued": "Assigned handoffs re-queued after their agent went silent",
}


@dataclass
class Snapshot:
    stats: dict[str, int] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    oldest_wait_s: dict[str, float] = field(default_factory=dict)
    agents_available: dict[str, int] = field(default_factory=dict)


class _RedisCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        for name, doc in _COUNTERS.items():
            c = CounterMetricFamily(f"router_{name}", doc)
            c.add_metric([], snap.stats.get(name, 0))
            yield c
        depth = GaugeMetricFamily("router_queue_depth", "Queued handoffs", labels=["skill"])
        oldest = GaugeMetricFamily(
            "router_queue_oldest_wait_seconds", "Oldest queued handoff's wait", labels=["skill"]
        )
        avail = GaugeMetricFamily(
            "router_agents_available", "Available agents with free capacity", labels=["skill"]
        )
        for skill, n in sorted(snap.depth.items()):
            depth.add_metric([skill], n)
            oldest.add_metric([skill], snap.oldest_wait_s.get(skill, 0.0))
            avail.add_metric([skill], snap.agents_available.get(skill, 0))
        yield depth
        yield oldest
        yield avail
        answered = snap.stats.get("answered", 0)
        share = GaugeMetricFamily(
            "router_answered_within_sla_ratio",
            "Share of answered handoffs whose first acceptance met the SLA deadline",
        )
        share.add_metric([], snap.stats.get("answered_in_sla", 0) / answered if answered else 1.0)
        yield share


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._redis = _RedisCollector()
        self.registry.register(self._redis)
        self.assignment_latency = Histogram(
            "router_assignment_latency_seconds",
            "Duration of routing decisions (one Lua script each) seen by this process",
            ["op"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        # the service loop (router/tickets), per process: each alert is forwarded by one process
        # only (the watcher's lock), so the sum over processes is the cluster's count
        self.ticket_alerts = Counter(
            "router_ticket_alerts",
            "Ticket alerts (warning, breach, page) forwarded to supervisors",
            ["kind"],
            registry=self.registry,
        )
        self.ticket_steps = Counter(
            "router_ticket_steps",
            "Ticket steps taken through the router (agents, supervisors, customers' follow-ups)",
            ["step"],
            registry=self.registry,
        )
        self.ticket_notices = Counter(
            "router_ticket_notices",
            "Ticket notices delivered to customers, by the way they went",
            ["via"],
            registry=self.registry,
        )

    def render(self, snapshot: Snapshot) -> bytes:
        self._redis.snapshot = snapshot
        return generate_latest(self.registry)
