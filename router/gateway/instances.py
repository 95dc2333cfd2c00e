"""Which assistant instance answers a turn, as plain decisions the bot client (bot.py) follows.

- `parse_urls`: ROUTER_GATEWAY__RASA_URL, one URL or a comma-separated list of them.
- `rank`: rendezvous (highest-random-weight) hashing — every instance gets a score from the
  conversation id and the instance, the highest score serves. The same conversation keeps its
  instance while that instance is healthy (its in-memory caches stay warm); when it is down only
  its own conversations move, each to its next instance in its own ranking, and they return when
  it is back.
- `classify`: what an answer (or none) from an instance means: answered, try the next instance,
  refused (the token is wrong), rejected (the request is wrong: retrying it elsewhere would not
  help).
- `Health`: each instance up, or down for a cool-down after a failure; after the cool-down one
  request probes it (the others keep skipping it until that probe ends); or held out of service
  while its model is replaced (`hold`).
"""

from __future__ import annotations

import enum
import hashlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit


def parse_urls(value: str) -> tuple[str, ...]:
    """The assistant instances of `value` ("http://a:5005" or "http://a:5005,http://b:5005"),
    each without a trailing slash. ValueError, naming the entry's position, for an empty list, an
    entry that is not an http(s) URL with a host, one with a user/password, query or fragment (the
    token is ROUTER_RASA_TOKEN, never part of a URL), and an instance listed twice."""
    urls: list[str] = []
    for position, raw in enumerate(value.split(","), start=1):
        url = raw.strip().rstrip("/")
        where = f"assistant URL {position} of {len(value.split(','))}"
        if not url:
            raise ValueError(f"{where} is empty (one URL, or URLs separated by commas)")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError(f"{where} is not a URL (http://host:port)") from None
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"{where} carries a user or password; the token is ROUTER_RASA_TOKEN")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{where} is not an http(s) URL with a host: {url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"{where} has a query or fragment: {url!r}")
        if port == 0:
            raise ValueError(f"{where} has port 0: {url!r}")
        if url in urls:
            raise ValueError(f"{where} is listed twice: {url!r}")
        urls.append(url)
    return tuple(urls)


def score(key: str, instance: str) -> int:
    """The instance's weight for `key`: 64 bits of BLAKE2b over both (stable across processes
    and restarts, unlike hash())."""
    digest = hashlib.blake2b(f"{instance}\n{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rank(key: str, instances: Iterable[str]) -> list[str]:
    """The instances in the order `key` (a conversation id) tries them: its own first."""
    return sorted(instances, key=lambda instance: score(key, instance), reverse=True)


class Outcome(enum.Enum):
    ANSWERED = "answered"  # 200: the turn is done
    FAILOVER = "failover"  # no answer, a timeout or 502/503/504: the instance is down, try the next
    REFUSED = "refused"  # 401/403: the token differs from Rasa's; every instance would refuse
    REJECTED = "rejected"  # any other status (400 …): the request itself is wrong; not retried


FAILOVER_STATUSES = frozenset({502, 503, 504})


def classify(status: int | None) -> Outcome:
    """What an instance's HTTP status means; None: no answer (connection error or timeout).

    Only "this instance cannot serve" moves a turn: no answer, 502, 503, 504. A 500 is the turn
    itself failing (the assistant's channel answers 500 for an exception in a turn): the same
    message would fail on every instance and mark them all down, so it is not retried."""
    if status is None or status in FAILOVER_STATUSES:
        return Outcome.FAILOVER
    if status == 200:
        return Outcome.ANSWERED
    if status in (401, 403):
        return Outcome.REFUSED
    return Outcome.REJECTED


@dataclass
class _State:
    down_until: float | None = None  # None: up
    probing: bool = False  # one request is trying it after its cool-down
    failures: int = 0  # failed attempts since the process started


class Health:
    """Each instance's health as this process sees it. `claim` before an attempt; then exactly
    one of `succeeded`, `failed` or `release` (the attempt ended without telling, e.g. it was
    cancelled). `succeeded`/`failed` return True when the instance changed state (for the log)."""

    def __init__(
        self,
        instances: Sequence[str],
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._states = {instance: _State() for instance in instances}

    def up(self, instance: str) -> bool:
        return self._states[instance].down_until is None

    def failures(self, instance: str) -> int:
        return self._states[instance].failures

    def claim(self, instance: str) -> bool:
        """May a request use `instance` now? An up one, yes; a down one only once its cool-down
        is over and no other request is probing it (this one becomes the probe)."""
        state = self._states[instance]
        if state.down_until is None:
            return True
        if state.probing or self.clock() < state.down_until:
            return False
        state.probing = True
        return True

    def succeeded(self, instance: str) -> bool:
        """It answered (any status below 500): up. True when it was down."""
        state = self._states[instance]
        was_down = state.down_until is not None
        state.down_until = None
        state.probing = False
        return was_down

    def failed(self, instance: str) -> bool:
        """It did not answer, timed out or answered 502/503/504: down for a cool-down. True
        when it was up."""
        state = self._states[instance]
        was_up = state.down_until is None
        # a held instance stays held (an attempt that began before the hold may fail during it)
        state.down_until = max(state.down_until or 0.0, self.clock() + self.cooldown_s)
        state.probing = False
        state.failures += 1
        return was_up

    def hold(self, instance: str) -> None:
        """Taken out of service on purpose (its model is being replaced, router/analysis/
        rollout.py): skipped and never probed until `end_hold` (or `succeeded`)."""
        state = self._states[instance]
        state.down_until = math.inf
        state.probing = False

    def end_hold(self, instance: str, answered: bool) -> None:
        """The hold is over: up when the instance answered, else down for a cool-down."""
        self._states[instance].down_until = None
        if answered:
            self.succeeded(instance)
        else:
            self.failed(instance)

    def release(self, instance: str) -> None:
        """The attempt ended without an outcome: a down instance may be probed again."""
        self._states[instance].probing = False
