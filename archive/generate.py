"""A seeded generator of archived conversations with a realistic mix (intents, channels, a daily
curve, containment, handoffs with offers, misses, transfers and abandons, ratings, tickets and
their lifecycle's steps — warnings, breaches, escalations, pages, follow-up ratings, reopens —
customer turns, repeat contacts), and bulk loaders for it: SQLite (executemany in one
transaction), PostgreSQL (COPY). For the report benchmark (bench/archive_report.py) and demos.

`python -m archive.generate --conversations 10000 --days 7` fills the archive ARCHIVE_DATABASE_URL
names (built by the migrations first). No message text: the generated archive has none.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from archive import rollup
from archive.metrics import DAY_MS, bucket_start, low_confidence
from archive.repeats import next_starts
from telecom.tickets import (
    COMPLAINT_RESOLVE,
    COMPLAINT_RESPOND,
    FOLLOW_UP,
    REOPEN_RATING,
    WARN_AT_PERCENT,
)

__all__ = ["Generated", "generate", "load"]

# (first intent, share, queue, chance of a handoff)
# The assistant's intents (bot/domain/*.yml) and the router skill each one's handoff asks for
# (actions/handoff.py INTENT_SKILLS: faq goes to plans_data, anything else to billing).
INTENTS: tuple[tuple[str | None, float, str, float], ...] = (
    ("query_balance", 0.18, "billing", 0.06),
    ("query_data_usage", 0.14, "plans_data", 0.06),
    ("query_plan", 0.08, "plans_data", 0.08),
    ("change_plan", 0.09, "plans_data", 0.15),
    ("roaming", 0.07, "roaming", 0.20),
    ("reset_password", 0.06, "account_security", 0.15),
    ("report_fault", 0.08, "network_faults", 0.40),
    ("complain", 0.05, "complaints", 0.70),
    ("check_ticket", 0.04, "complaints", 0.30),
    ("faq", 0.07, "plans_data", 0.05),
    ("request_human", 0.04, "billing", 1.00),
    (None, 0.10, "billing", 0.20),
)
CHANNELS = (("web", 0.45), ("app", 0.40), ("voice", 0.15))
URGENCIES = (("low", 0.10), ("normal", 0.70), ("high", 0.15), ("critical", 0.05))
# conversations per hour of the day (China time), relative
HOURLY = (1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 9, 10, 11, 11, 10, 9, 8, 8, 7, 5, 3, 2)
RATINGS = ((5, 0.45), (4, 0.33), (3, 0.10), (2, 0.06), (1, 0.06))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"

COLUMNS: dict[str, tuple[str, ...]] = {
    "conversations": (
        "id", "customer_ref", "channel", "started_ms", "last_ms", "first_intent", "bot_turns",
        "fallback_turns", "low_confidence_turns", "handoffs", "rating", "rated_ms", "rating_of",
        "comment", "disposition", "ended_by", "ended_ms", "next_same_intent_ms",
    ),
    "turns": (
        "conversation_id", "seq", "ts_ms", "intent", "confidence", "margin", "urgency",
        "entities", "fallback", "action", "ticket_id",
    ),
    "handoffs": (
        "id", "conversation_id", "customer_ref", "channel", "queue", "skills", "urgency",
        "intent", "created_ms", "first_offered_ms", "assigned_ms", "agent_id", "completed_ms",
        "abandoned_ms", "offers", "missed", "transfers", "disposition", "status",
    ),
    "handoff_events": ("event_id", "handoff_id", "type", "ts_ms", "agent_id", "offer_id", "detail"),
    "tickets": ("id", "conversation_id", "kind", "severity", "created_ms"),
    "ticket_steps": (
        "id", "ticket_id", "conversation_id", "step", "actor_role", "team", "state", "window",
        "severity", "rating", "ts_ms",
    ),
    "agents": ("id", "display_name", "skills", "created_ms", "deleted_ms"),
}  # fmt: skip


@dataclasses.dataclass
class Generated:
    """Rows per table, as tuples in COLUMNS' order."""

    rows: dict[str, list[tuple[Any, ...]]]

    def count(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.rows.items()}


def _pick(rng: random.Random, choices: Sequence[tuple[Any, float]]) -> Any:
    x, acc = rng.random(), 0.0
    for value, share in choices:
        acc += share
        if x < acc:
            return value
    return choices[-1][0]


def generate(
    conversations: int, days: int, end_ms: int, seed: int = 14, agents: int = 60
) -> Generated:
    """`conversations` conversations started over the `days` China-time days before the day
    holding `end_ms`, reproducibly from `seed`."""
    rng = random.Random(seed)
    first_day = bucket_start(end_ms, "day") - days * DAY_MS
    hour_weights = [w / sum(HOURLY) for w in HOURLY]
    hours = list(enumerate(hour_weights))
    intents = [((name, queue, p), share) for name, share, queue, p in INTENTS]
    agent_ids = [f"agent-{i:03d}" for i in range(agents)]
    customers = max(1, conversations // 3)  # about three conversations per customer: repeats
    out: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    conv, turns, hand, events, tickets = (
        out["conversations"],
        out["turns"],
        out["handoffs"],
        out["handoff_events"],
        out["tickets"],
    )
    for i, agent_id in enumerate(agent_ids):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        out["agents"].append((agent_id, name, "{}", first_day, None))
    event_seq = 0
    for n in range(conversations):
        cid = f"conv-{n:08d}"
        customer = f"{rng.randrange(customers):024x}"
        channel = _pick(rng, CHANNELS)
        intent, queue, p_handoff = _pick(rng, intents)
        hour = _pick(rng, hours)
        started = first_day + rng.randrange(days) * DAY_MS + hour * 3_600_000
        started += rng.randrange(3_600_000)
        n_turns = 1 + int(rng.random() * 3)
        fallback_turns = low_turns = 0
        ts = started
        for t in range(n_turns):
            ts += rng.randrange(5_000, 60_000)
            fallback = rng.random() < 0.06
            # the assistant falls back under 0.6 (config.yml); about 13 % of the turns it acts
            # on are read under 0.7
            confidence = rng.uniform(0.1, 0.6) if fallback else 1.0 - 0.4 * rng.random() ** 2
            confidence = round(confidence, 3)
            fallback_turns += fallback
            low_turns += low_confidence(confidence, fallback)
            turns.append((
                cid, f"{ts}-{t}", ts, "nlu_fallback" if fallback else (intent or "greet"),
                confidence, round(rng.uniform(0, confidence), 3),
                "normal", "[]", fallback, "utter_answer", None,
            ))  # fmt: skip
        handoffs = 0
        rating = rated = rating_of = None
        if rng.random() < p_handoff:
            handoffs = 1
            hid = f"h-{n:08d}"
            urgency = _pick(rng, URGENCIES)
            created = ts + rng.randrange(1_000, 5_000)
            skills = json.dumps([queue])
            assigned = completed = abandoned = first_offered = None
            agent = None
            offers = missed = transfers = 0
            if intent == "complain":
                tickets.append((f"T{n:08d}", cid, "complaint", "moderate", created - 1_000))
            if rng.random() < 0.08:  # abandoned in the queue; a third of them short
                wait = (
                    rng.randrange(500, 5_000)
                    if rng.random() < 0.33
                    else rng.randrange(6_000, 300_000)
                )
                abandoned = created + wait
                status, end, ended_by = "abandoned", abandoned, "customer"
            else:
                wait = int(rng.expovariate(1 / 40_000)) + 2_000
                assigned = created + wait
                response = min(wait - 1_000, rng.randrange(2_000, 40_000))
                agent = rng.choice(agent_ids)
                if rng.random() < 0.10 and wait > response + 31_000:  # a missed offer first
                    missed_offer = f"o-{n:08d}-m"
                    other = rng.choice(agent_ids)
                    first_offered = assigned - response - 31_000
                    events.append(
                        (f"{event_seq}-0", hid, "offered", first_offered, other, missed_offer, "{}")
                    )
                    events.append(
                        (
                            f"{event_seq}-1",
                            hid,
                            "offer_expired",
                            first_offered + 30_000,
                            other,
                            missed_offer,
                            "{}",
                        )
                    )
                    offers, missed = 1, 1
                offer = f"o-{n:08d}"
                first_offered = first_offered or assigned - response
                events.append(
                    (f"{event_seq}-2", hid, "offered", assigned - response, agent, offer, "{}")
                )
                events.append((f"{event_seq}-3", hid, "accepted", assigned, agent, offer, "{}"))
                offers += 1
                handle = int(rng.lognormvariate(math.log(240_000), 0.5))
                if rng.random() < 0.06:
                    transfers = 1
                    agent = rng.choice(agent_ids)
                completed = assigned + handle
                status, end, ended_by = "completed", completed, "agent"
                if rng.random() < 0.03:
                    tickets.append(
                        (f"T{n:08d}a", cid, "complaint", "minor", assigned + handle // 2)
                    )
                if rng.random() < 0.35:
                    rating, rated, rating_of = _pick(rng, RATINGS), completed + 30_000, "agent"
            event_seq += 1
            hand.append((
                hid, cid, customer, channel, queue, skills, urgency, intent, created,
                first_offered, assigned, agent, completed, abandoned, offers, missed, transfers,
                "resolved" if completed else None, status,
            ))  # fmt: skip
        else:
            end = ts + rng.randrange(5_000, 60_000)
            x = rng.random()
            ended_by = "bot" if x < 0.75 else ("customer" if x < 0.9 else "timeout")
            if ended_by == "bot" and rng.random() < 0.2:
                rating, rated, rating_of = _pick(rng, RATINGS), end, "bot"
        conv.append((
            cid, customer, channel, started, end, intent, n_turns, fallback_turns, low_turns,
            handoffs, rating, rated, rating_of, None, None, ended_by, end, None,
        ))  # fmt: skip
    links = next_starts((row[0], row[1], row[5], row[3]) for row in conv)
    out["conversations"] = [(*row[:-1], links.get(row[0])) for row in conv]
    # the tickets' lives from a generator of their own, so the rows above stay those of a seed
    lives = random.Random(seed + 1)
    for n, (tid, cid, kind, severity, created) in enumerate(out["tickets"]):
        if severity == "moderate" and lives.random() < 0.1:
            severity = "major"
            out["tickets"][n] = (tid, cid, kind, severity, created)
        steps = ticket_life(lives, tid, cid, severity, created)
        out["ticket_steps"] += [step for step in steps if step[-1] < end_ms]
    return Generated(out)


MIN_MS, HOUR_MS = 60_000, 3_600_000
RESPOND_MS = round(COMPLAINT_RESPOND.total_seconds() * 1000)
RESOLVE_MS = round(COMPLAINT_RESOLVE.total_seconds() * 1000)
FOLLOW_UP_MS = round(FOLLOW_UP.total_seconds() * 1000)


def ticket_life(
    rng: random.Random, tid: str, cid: str, severity: str, created: int
) -> list[tuple[Any, ...]]:
    """A complaint's steps as the router feeds them (telecom.tickets' rules): a major one paged
    at once; claimed and responded to (one in eight late: warned at 80 % of the window, half of
    those breached); now and then escalated by its agent; resolved (late: the resolve window
    breached); the follow-up answered by six in ten (a low rating reopens it, resolved again),
    the rest of the follow-ups overdue now and then."""
    rows: list[tuple[Any, ...]] = []
    team = "complaints_supervisors" if severity == "major" else "frontline"

    def add(step: str, role: str, state: str, at: int, window: str | None = None,
            rating: int | None = None) -> None:  # fmt: skip
        rows.append((f"{tid}.{len(rows)}", tid, cid, step, role, team, state, window, severity,
                     rating, at))  # fmt: skip

    if severity == "major":
        add("page", "system", "intake", created + 1_000)
    t = created + rng.randrange(5 * MIN_MS, 2 * HOUR_MS)
    add("claim", "agent", "assessing", t)
    if severity == "moderate" and rng.random() < 0.125:  # late: warned, perhaps breached
        warned = created + RESPOND_MS * WARN_AT_PERCENT // 100
        add("warning", "system", "assessing", warned, "respond")
        t = warned + rng.randrange(10 * MIN_MS, 8 * HOUR_MS)
        if t > created + RESPOND_MS:
            add("breach", "system", "assessing", created + RESPOND_MS, "respond")
    else:
        t += rng.randrange(10 * MIN_MS, 4 * HOUR_MS)
    add("respond", "agent", "handling", t)
    if rng.random() < 0.05:
        add("escalate", "agent", "handling", t + rng.randrange(MIN_MS, HOUR_MS))
    t += int(rng.lognormvariate(math.log(12 * HOUR_MS), 0.8))
    if t > created + RESOLVE_MS:
        add("breach", "system", "handling", created + RESOLVE_MS, "resolve")
    add("resolve", "agent", "feedback", t)
    if rng.random() < 0.6:
        rating: int = _pick(rng, RATINGS)
        t += rng.randrange(HOUR_MS, 3 * 24 * HOUR_MS)
        reopened = rating <= REOPEN_RATING
        add("follow_up_answer", "customer", "handling" if reopened else "closed", t,
            rating=rating)  # fmt: skip
        if reopened:
            add("resolve", "agent", "feedback", t + rng.randrange(2 * HOUR_MS, 24 * HOUR_MS))
    elif rng.random() < 0.2:
        add("breach", "system", "feedback", t + FOLLOW_UP_MS, "follow_up")
    return rows


def load(engine: sa.Engine, data: Generated) -> None:
    """Bulk-insert `data` into the (migrated, empty) archive at `engine`, then build the
    rollups (archive/rollup.py) as the ingest would have."""
    with engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                for table, rows in data.rows.items():
                    columns = ", ".join(f'"{c}"' for c in COLUMNS[table])  # "window": reserved
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
        else:
            cursor = raw.cursor()
            for table, rows in data.rows.items():
                marks = ", ".join("?" * len(COLUMNS[table]))
                columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            cursor.close()
        # the planner's statistics of the fresh rows first: without them PostgreSQL joins the
        # offers' events by nested scans (minutes instead of seconds at a million conversations)
        conn.exec_driver_sql("ANALYZE")
        rollup.refresh_all(conn)


def main(argv: list[str] | None = None) -> int:
    from archive import db, migrate
    from archive.settings import ArchiveSettings

    parser = argparse.ArgumentParser(prog="python -m archive.generate")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    settings = ArchiveSettings()
    migrate.upgrade(settings.url())
    started = time.perf_counter()
    now_ms = int(time.time() * 1000)
    data = generate(args.conversations, args.days, now_ms, args.seed)
    load(db.engine_for(settings.url()), data)
    print(f"archive.generate: {data.count()} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
