"""A customer who keeps talking while the assistant's model changes, and what each assistant
instance serves: for the tests that promote and roll back models on the running product
(tests/analysts)."""

from __future__ import annotations

import json
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from tests.durability.customers import SUBSCRIBERS, Turn, balance_again, problems, verify
from tests.stack import Stack, open_conversation

__all__ = ["Conversation", "rasa_model_id", "served"]

SUBSCRIBER = SUBSCRIBERS[1]
T = TypeVar("T")
PACE_S = 2.5


def rasa_model_id(model: Path) -> str:
    """The model id Rasa reports for `model` (its metadata.json)."""
    with tarfile.open(model) as tar:
        for member in tar:
            if member.name.lstrip("/") == "metadata.json":
                handle = tar.extractfile(member)
                assert handle is not None
                return str(json.load(handle)["model_id"])
    raise AssertionError(f"no metadata.json in {model}")


def served(stack: Stack) -> list[str]:
    """The Rasa model id each instance serves now."""
    token = stack.secrets["ASSISTANT_RASA_TOKEN"]
    ids = []
    for url in stack.rasa_urls:
        status = httpx.get(f"{url}/status", params={"token": token}, timeout=30)
        assert status.status_code == 200, status.text
        ids.append(status.json()["model_id"])
    return ids


@dataclass
class Conversation:
    """A customer who keeps asking for the balance in a thread of its own, until told to stop;
    each turn kept with whether a model change was going on when it was sent or answered."""

    stack: Stack
    changing: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    turns: list[tuple[Turn, list[str], bool]] = field(default_factory=list)
    error: BaseException | None = None
    news: threading.Condition = field(default_factory=threading.Condition)

    def _kept(self, turn: Turn, replies: list[str], during: bool) -> None:
        with self.news:
            self.turns.append((turn, replies, during))
            self.news.notify_all()

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.stack.router_url, timeout=120) as http:
                customer = open_conversation(http)
                script = verify(SUBSCRIBER, "帮我查一下话费", (f"余额 {SUBSCRIBER.balance}元",))
                for turn in script:
                    self._kept(turn, customer.say(turn.text), self.changing.is_set())
                # a turn every PACE_S: below the gateway's 30 messages a minute per conversation
                while not self.stop.wait(PACE_S):
                    turn = balance_again(SUBSCRIBER)
                    during = self.changing.is_set()
                    replies = customer.say(turn.text)
                    self._kept(turn, replies, during or self.changing.is_set())
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            with self.news:
                self.news.notify_all()

    def _wait_for(self, count: int, thread: threading.Thread) -> None:
        with self.news:
            self.news.wait_for(lambda: len(self.turns) >= count or not thread.is_alive(), 600)

    def during(self, change: Callable[[], T]) -> T:
        """Runs `change()` while the conversation goes on (verified first, two turns after);
        its result."""
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        self._wait_for(3, thread)
        self.changing.set()
        try:
            result = change()
        finally:
            self.changing.clear()
        self._wait_for(len(self.turns) + 2, thread)
        self.stop.set()
        thread.join(180)
        assert self.error is None, repr(self.error)
        return result

    def check(self) -> None:
        for turn, replies, _ in self.turns:
            assert not problems(turn, replies), (turn.text, replies)
        assert any(during for _, _, during in self.turns), "no turn while the model changed"
