"""A seeded day of customer-service traffic with known ground truth (pure: no I/O).

`build(seed)` gives the scripted conversations of a test day: customers the assistant serves
alone (balance, data, plan, roaming), some who come back later on the same request (so their
first conversation is not contained), some who rate the assistant, customers who ask for a
human and give up waiting (before and after the short-abandon threshold), and customers an agent
serves, whose agents let offers expire, transfer and complete, and who rate the agent.
`scripts/simulate.py` plays it against the running stack and records the times the stack gave
(`Record`); `expected_metrics(scenario, record)` computes what every headline metric must be
from the scenario and those times alone — from the metric definitions in words
(docs/metrics.md), deliberately without archive/metrics.py, so the two can disagree.

Every sentence a customer sends the assistant is in `READINGS` with what the trained model reads
in it (checked against the running stack: `python -m scripts.simulate --check-readings`).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterable, Mapping
from typing import Literal

from archive.schema import NOT_A_REQUEST
from telecom.tickets import REOPEN_RATING
from telecom.urgency import ANSWER_TARGET_S

__all__ = [
    "ANONYMOUS",
    "READINGS",
    "Expected",
    "HandoffTimes",
    "Plan",
    "Record",
    "Scenario",
    "Script",
    "Span",
    "Subscriber",
    "TicketStepSeen",
    "build",
    "expected_metrics",
]

DAY_MS = 86_400_000
# The operator's definitions (docs/metrics.md): a repeat within 24 h undoes containment, within
# 7 days first-contact resolution; a handoff abandoned within 5 s is a short abandon; a rating
# of 4 or 5 is satisfied; a turn the assistant acted on (not a fallback) with confidence below
# archive.metrics.LOW_CONFIDENCE is low-confidence (the one threshold: imported, not restated).
CONTAINMENT_REPEAT_MS = DAY_MS
FCR_REPEAT_MS = 7 * DAY_MS
SHORT_ABANDON_MS = 5_000
SATISFIED_FROM = 4
# Every unverified simulated customer comes from the same client (the simulator's address), so
# the archive gives them one pseudonym: the scenario counts them as one customer.
ANONYMOUS = "client"


@dataclasses.dataclass(frozen=True)
class Subscriber:
    """A demo subscriber (actions/store/generate.py): number and the ID number's last six."""

    phone: str
    id_last6: str


SUBSCRIBERS = (
    Subscriber("13800138000", "151238"),
    Subscriber("13800138001", "082469"),
    Subscriber("13800138002", "203688"),
    Subscriber("13800138003", "025131"),
    Subscriber("13800138004", "090809"),
    Subscriber("13800138005", "180352"),
)

# What customers ask, by the intent the assistant reads in it (each answered after verification).
REQUESTS: dict[str, tuple[str, ...]] = {
    "query_balance": ("帮我查一下话费", "查话费", "我的话费还剩多少", "查一下余额"),
    "query_data_usage": ("还剩多少流量", "我这个月流量还剩多少"),
    "query_plan": ("我现在是什么套餐", "查一下我的套餐"),
    "roaming": ("我下个月去日本，漫游怎么收费",),
}
GREETINGS = ("你好", "您好")
HUMAN = ("转人工", "人工客服", "我要找人工")
GOODBYE = ("再见", "谢谢，再见")
# the assistant's NLU fallback, whatever the model: the input guard refuses two characters over and
# over (components/input_guard.py), so no retraining moves it
NOT_UNDERSTOOD = "啊啊啊啊哦哦哦哦"
TO_AGENT = "好的，谢谢"  # what a customer says to the agent (the agent reads it, not the assistant)
COMMENTS = ("服务很好，谢谢", "等得有点久", "问题解决了")  # after an agent's service
SKIP = "/survey_skip"  # the survey's 跳过 button (router/gateway/survey.py)

# What the trained assistant reads in every sentence above: (intent, low confidence, fallback)
# — every one of them at 0.91 or more, or the fallback.
# A phone number or the ID's last six is `inform`. `simulate --check-readings` compares this
# with the running model's /model/parse (models/assistant.tar.gz as of issue 14).
READINGS: dict[str, tuple[str, bool, bool]] = {
    **{text: (intent, False, False) for intent, texts in REQUESTS.items() for text in texts},
    **{text: ("greet", False, False) for text in GREETINGS},
    **{text: ("request_human", False, False) for text in HUMAN},
    **{text: ("goodbye", False, False) for text in GOODBYE},
    NOT_UNDERSTOOD: ("nlu_fallback", False, True),
    **{s.phone: ("inform", False, False) for s in SUBSCRIBERS},
    **{s.id_last6: ("inform", False, False) for s in SUBSCRIBERS},
}

Outcome = Literal["contained", "handoff", "abandon"]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the agents do with one handoff: let `misses` offers expire, then accept; the first
    agent transfers it to `transfer_to` (a skill) when given; the last one completes it."""

    misses: int = 0
    transfer_to: str | None = None
    disposition: str = "resolved"


@dataclasses.dataclass(frozen=True)
class Script:
    """One customer's conversation. `wave` orders them: 1 before any agent signs in, 2 the
    customers who come back, 3 with agents on duty."""

    key: str
    wave: int
    channel: str
    subscriber: Subscriber | None
    bot_texts: tuple[str, ...]  # every turn the assistant reads, in order
    outcome: Outcome
    abandon_after_s: float | None = None  # abandon: how long the customer waits
    plan: Plan | None = None  # handoff: what the agents do
    rating: int | None = None  # the survey's answer (of the agent after a handoff, else the bot)
    comment: str | None = None

    @property
    def customer(self) -> str:
        return self.subscriber.phone if self.subscriber else ANONYMOUS

    @property
    def first_intent(self) -> str | None:
        for text in self.bot_texts:
            intent = READINGS[text][0]
            if intent not in NOT_A_REQUEST:
                return intent
        return None

    @property
    def rating_of(self) -> str | None:
        if self.rating is None:
            return None
        return "agent" if self.outcome == "handoff" else "bot"

    @property
    def ended_by(self) -> str | None:
        """Who ends it: the assistant after a goodbye, the agent who completes it, the customer
        who gives up waiting."""
        return {"contained": "bot", "handoff": "agent", "abandon": "customer"}[self.outcome]


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    agent_id: str
    display_name: str
    skills: Mapping[str, int]
    max_concurrent: int = 2


@dataclasses.dataclass(frozen=True)
class Scenario:
    seed: int
    scripts: tuple[Script, ...]
    agents: tuple[AgentSpec, ...]

    def by_key(self) -> dict[str, Script]:
        return {s.key: s for s in self.scripts}

    def wave(self, n: int) -> list[Script]:
        return [s for s in self.scripts if s.wave == n]


AGENTS = (
    AgentSpec("sim-li", "模拟坐席·李", {"billing": 5, "plans_data": 3}),
    AgentSpec("sim-wang", "模拟坐席·王", {"billing": 4}),
    AgentSpec("sim-zhou", "模拟坐席·周", {"plans_data": 5, "billing": 2}),
)


def build(
    seed: int,
    *,
    contained: int = 10,
    returning: int = 3,
    short_abandons: int = 2,
    long_abandons: int = 2,
    handoffs: int = 8,
) -> Scenario:
    """A test day from `seed`: `contained` conversations the assistant serves alone (one of them
    with a sentence it does not understand), `returning` later ones by some of the same
    customers on the same request, abandons (waiting 1–2 s and 6.5–8 s), and `handoffs` an
    agent serves (one in four with a missed offer first, one in four transferred)."""
    rng = random.Random(seed)
    scripts: list[Script] = []
    pairs = [(s, intent) for s in SUBSCRIBERS for intent in REQUESTS]
    rng.shuffle(pairs)
    channels = ("web", "app")

    def verified(subscriber: Subscriber, intent: str) -> list[str]:
        texts = [rng.choice(GREETINGS)] if rng.random() < 0.3 else []
        return [*texts, rng.choice(REQUESTS[intent]), subscriber.phone, subscriber.id_last6]

    def bot_rating() -> int | None:  # the assistant's survey asks for no comment
        return None if rng.random() < 0.3 else rng.choice((5, 5, 4, 4, 3, 2))

    # wave 1: the assistant alone (a unique customer and request each), and abandons
    originals: list[Script] = []
    for n in range(contained):
        subscriber, intent = pairs.pop()
        texts = verified(subscriber, intent)
        if n == 0:
            texts.append(NOT_UNDERSTOOD)
        texts.append(rng.choice(GOODBYE))
        script = Script(
            f"c{len(scripts) + 1:02d}", 1, rng.choice(channels), subscriber, tuple(texts),
            "contained", rating=bot_rating(),
        )  # fmt: skip
        originals.append(script)
        scripts.append(script)
    for n in range(short_abandons + long_abandons):
        wait = rng.uniform(1.0, 2.0) if n < short_abandons else rng.uniform(6.5, 8.0)
        scripts.append(
            Script(
                f"c{len(scripts) + 1:02d}",
                1,
                rng.choice(channels),
                None,
                (rng.choice(HUMAN),),
                "abandon",
                abandon_after_s=round(wait, 1),
            )
        )
    # wave 2: customers back on the same request, served by the assistant again
    for original in rng.sample(originals, returning):
        assert original.subscriber is not None and original.first_intent is not None
        texts = [*verified(original.subscriber, original.first_intent), rng.choice(GOODBYE)]
        scripts.append(
            Script(
                f"c{len(scripts) + 1:02d}",
                2,
                original.channel,
                original.subscriber,
                tuple(texts),
                "contained",
                rating=bot_rating(),
            )
        )
    # wave 3: handoffs about the bill (billing), served by agents
    billing = [p for p in pairs if p[1] == "query_balance"] or pairs
    for n in range(handoffs):
        subscriber, _ = billing[n % len(billing)]
        asks = (*verified(subscriber, "query_balance"), rng.choice(HUMAN))
        plan = Plan(
            misses=1 if n % 4 == 1 else 0,
            transfer_to="plans_data" if n % 4 == 2 else None,
            disposition=rng.choice(("resolved", "resolved", "follow_up")),
        )
        rating = None if n % 4 == 3 else rng.choice((5, 5, 4, 3, 1))
        scripts.append(
            Script(
                f"c{len(scripts) + 1:02d}",
                3,
                rng.choice(channels),
                subscriber,
                asks,
                "handoff",
                plan=plan,
                rating=rating,
                comment=rng.choice(COMMENTS) if rating is not None and n % 2 else None,
            )
        )
    return Scenario(seed, tuple(scripts), AGENTS)


# ---- what the stack recorded, and the metrics it implies ---------------------------------------


@dataclasses.dataclass(frozen=True)
class Span:
    """A time known to lie in [lo, hi] ms: taken around a request (the client's clock)."""

    lo: int
    hi: int

    def __add__(self, other: Span | int) -> Span:
        if isinstance(other, Span):
            return Span(self.lo + other.lo, self.hi + other.hi)
        return Span(self.lo + other, self.hi + other)

    def minus(self, ms: int) -> Span:
        return Span(self.lo - ms, self.hi - ms)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, (int, float)) and self.lo <= value <= self.hi


@dataclasses.dataclass
class HandoffTimes:
    """One handoff as the stack showed it: creation and first assignment as the router stamped
    them (exact), completion or abandon as a span around the request, and each accepted
    offer's (offer time, acceptance span)."""

    created_ms: int
    answered_ms: int | None = None
    completed: Span | None = None
    abandoned: Span | None = None
    accepted_offers: list[tuple[int, Span]] = dataclasses.field(default_factory=list)
    missed: int = 0
    transfers: int = 0


@dataclasses.dataclass(frozen=True)
class TicketStepSeen:
    """A step of a ticket the simulator took or saw forwarded (an alert: warning, breach, page),
    in the order the router fed them."""

    ticket_id: str
    step: str
    actor_role: str
    window: str | None = None
    rating: int | None = None


@dataclasses.dataclass
class Record:
    """What the simulator saw: each script's start span and its handoff's times, and the
    tickets' steps it took or saw (none unless it works tickets)."""

    started: dict[str, Span] = dataclasses.field(default_factory=dict)
    handoffs: dict[str, HandoffTimes] = dataclasses.field(default_factory=dict)
    ratings_asked: dict[str, bool] = dataclasses.field(default_factory=dict)
    ticket_steps: list[TicketStepSeen] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Expected:
    """A metric's numerator (exact, or a span for a sum of times) and denominator (None for a
    count); `unit` '%' (100 × n ÷ d), 's' (n ÷ d ÷ 1000, n in ms) or 'count'."""

    numerator: int | Span
    denominator: int | None
    unit: str

    def value(self) -> float | tuple[float, float] | None:
        """The metric's value; (lowest, highest) for a numerator known as a span."""
        if self.denominator is None:
            return float(self.numerator) if isinstance(self.numerator, int) else None
        if self.denominator == 0:
            return None
        scale = 100.0 if self.unit == "%" else 0.001
        if isinstance(self.numerator, Span):
            lo, hi = self.numerator.lo, self.numerator.hi
            return scale * lo / self.denominator, scale * hi / self.denominator
        return scale * self.numerator / self.denominator


def _repeats(scripts: Iterable[Script], record: Record, window_ms: int) -> set[str]:
    """Keys of the conversations whose customer starts another with the same first intent
    within `window_ms` of this one's start (the simulated day is shorter than any window, so
    all but the latest of each customer and intent)."""
    groups: dict[tuple[str, str], list[Script]] = {}
    for s in scripts:
        if s.first_intent is not None:
            groups.setdefault((s.customer, s.first_intent), []).append(s)
    repeated: set[str] = set()
    for group in groups.values():
        group.sort(key=lambda s: record.started[s.key].lo)
        for earlier, later in itertools.pairwise(group):
            if record.started[later.key].hi - record.started[earlier.key].lo > window_ms:
                continue
            if earlier.outcome != later.outcome and (
                record.started[later.key].lo <= record.started[earlier.key].hi
            ):
                raise ValueError(f"{earlier.key} and {later.key} started together: no order")
            repeated.add(earlier.key)
    return repeated


def _ratio(flags: Iterable[tuple[bool, bool]]) -> Expected:
    pairs = list(flags)
    return Expected(sum(n for n, d in pairs if d), sum(d for _, d in pairs), "%")


def _mean(durations: list[Span | int]) -> Expected:
    total: Span | int = 0
    for d in durations:
        total = d + total if isinstance(d, Span) else (total + d)
    return Expected(total, len(durations), "s")


def _ticket_metrics(scripts: list[Script], steps: list[TicketStepSeen]) -> dict[str, Expected]:
    """The ticket metrics of the steps seen (docs/metrics.md, in words): escalations are
    warnings, pages and agents' or supervisors' escalate steps; breaches per window; a
    resolution is reopened by a later reopen or follow-up answer rated REOPEN_RATING or lower;
    the overall CSAT counts the conversations' ratings and the follow-up answers."""

    def reopens(seen: TicketStepSeen) -> bool:
        low = seen.step == "follow_up_answer" and (seen.rating or 0) <= REOPEN_RATING
        return seen.step == "reopen" or low

    resolves = [
        any(reopens(later) and later.ticket_id == seen.ticket_id for later in steps[n + 1 :])
        for n, seen in enumerate(steps)
        if seen.step == "resolve"
    ]
    answers = [s.rating for s in steps if s.step == "follow_up_answer" and s.rating is not None]
    ratings = [s.rating for s in scripts if s.rating is not None] + answers
    escalations = sum(
        s.step in ("warning", "page")
        or (s.step == "escalate" and s.actor_role in ("agent", "supervisor"))
        for s in steps
    )
    found = {
        "ticket_escalations": Expected(escalations, None, "count"),
        **{
            f"ticket_breaches_{window}": Expected(
                sum(s.step == "breach" and s.window == window for s in steps), None, "count"
            )
            for window in ("respond", "resolve", "follow_up")
        },
        "ticket_reopen_rate": Expected(sum(resolves), len(resolves), "%"),
        "csat": _ratio((r >= SATISFIED_FROM, True) for r in ratings),
        "csat_follow_up": _ratio((r >= SATISFIED_FROM, True) for r in answers),
    }
    return found


def expected_metrics(
    scenario: Scenario, record: Record, answer_target_ms: int | None = None
) -> dict[str, Expected]:
    """Every headline metric of the day the scenario describes, as the stack played it.
    `answer_target_ms`: the service-level threshold (default: a normal-urgency handoff's
    answer target, which every handoff of the scenario is)."""
    scripts = list(scenario.scripts)
    target = answer_target_ms or round(ANSWER_TARGET_S["normal"] * 1000)
    repeat_day = _repeats(scripts, record, CONTAINMENT_REPEAT_MS)
    repeat_week = _repeats(scripts, record, FCR_REPEAT_MS)
    handed = [s for s in scripts if s.outcome in ("handoff", "abandon")]
    times = {s.key: record.handoffs[s.key] for s in handed}
    answered = [t for t in times.values() if t.answered_ms is not None]
    completed = [t for t in answered if t.completed is not None]

    def abandon_wait(t: HandoffTimes) -> Span:
        assert t.abandoned is not None
        wait = t.abandoned.minus(t.created_ms)
        if wait.lo <= SHORT_ABANDON_MS < wait.hi:
            raise ValueError(f"an abandon after {wait} ms is too close to the threshold")
        return wait

    abandons = [abandon_wait(t) for t in times.values() if t.answered_ms is None and t.abandoned]
    short = sum(1 for w in abandons if w.hi <= SHORT_ABANDON_MS)
    long = len(abandons) - short
    accepted = [(offer, span) for t in answered for offer, span in t.accepted_offers]
    return {
        "conversations": Expected(len(scripts), None, "count"),
        "containment": _ratio(
            (s.outcome == "contained" and s.key not in repeat_day, s.ended_by is not None)
            for s in scripts
        ),
        "handoff_rate": _ratio((s.outcome != "contained", True) for s in scripts),
        "fcr": _ratio(
            (s.first_intent is not None and s.key not in repeat_week, s.first_intent is not None)
            for s in scripts
        ),
        "csat_agent": _ratio(
            ((s.rating or 0) >= SATISFIED_FROM, s.rating is not None)
            for s in scripts
            if s.rating_of == "agent"
        ),
        "csat_bot": _ratio(
            ((s.rating or 0) >= SATISFIED_FROM, s.rating is not None)
            for s in scripts
            if s.rating_of == "bot"
        ),
        "handoffs": Expected(len(handed), None, "count"),
        "service_level": Expected(
            sum(1 for t in answered if (t.answered_ms or 0) - t.created_ms <= target),
            len(answered) + long,
            "%",
        ),
        "asa": _mean([(t.answered_ms or 0) - t.created_ms for t in answered]),
        "abandonment": Expected(long, len(times) - short, "%"),
        "aht": _mean([t.completed.minus(t.answered_ms or 0) for t in completed if t.completed]),
        "transfer_rate": Expected(sum(1 for t in answered if t.transfers), len(answered), "%"),
        "complaint_rate": Expected(0, len(completed), "%"),
        "agent_response": _mean([span.minus(offer) for offer, span in accepted]),
        "fallback_rate": _ratio((READINGS[t][2], True) for s in scripts for t in s.bot_texts),
        "low_confidence_rate": _ratio((READINGS[t][1], True) for s in scripts for t in s.bot_texts),
        **_ticket_metrics(scripts, record.ticket_steps),
    }
