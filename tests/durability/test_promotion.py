"""Promotion and rollback into the running product (`make run` with two assistant instances)
while a customer's conversation goes on: no turn lost, every instance ends up serving the model
the registry's alias names, and scripts.run starts instances with the service model.

The registry is one of the test's own (ASSISTANT_MODEL_REGISTRY): the champion is
models/assistant.tar.gz adopted by `ensure_champion` (a copy), the challenger another copy whose
Rasa model id (metadata.json) is new, so each instance's GET /status tells which one it serves.
Nothing is trained; models/assistant.tar.gz is only read.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from telecom.registry import Registry
from tests.durability.customers import SUBSCRIBERS, Turn, balance_again, problems, verify
from tests.stack import ROOT, Stack, open_conversation, running_stack

MODEL = ROOT / "models" / "assistant.tar.gz"
ROUTER_PYTHON = ROOT / ".venv-router" / "bin" / "python"
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


def copy_with_new_id(source: Path, target: Path) -> str:
    """`source` written again to `target` with a new Rasa model id; the id."""
    new_id = uuid.uuid4().hex
    with tarfile.open(source) as old, tarfile.open(target, "w:gz", compresslevel=1) as new:
        for member in old:
            data = old.extractfile(member) if member.isfile() else None
            if member.name.lstrip("/") == "metadata.json" and data is not None:
                meta = json.load(data)
                meta["model_id"] = new_id
                raw = json.dumps(meta).encode()
                member.size = len(raw)
                data = io.BytesIO(raw)
            new.addfile(member, data)
    return new_id


@dataclass
class Models:
    registry: Registry
    champion: str
    challenger: str
    rasa_ids: dict[str, str]  # registry id → Rasa model id


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("promotion")
    registry = Registry(root / "registry")
    champion = registry.ensure_champion(MODEL)
    challenger_file = root / "challenger.tar.gz"
    challenger_rasa_id = copy_with_new_id(MODEL, challenger_file)
    challenger = registry.add(challenger_file, {"trained_by": "tests/durability"})
    registry.record_metrics(challenger, {}, {"passed": True, "reasons": []})
    challenger_file.unlink()
    ids = {champion: rasa_model_id(MODEL), challenger: challenger_rasa_id}
    return Models(registry, champion, challenger, ids)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, models: Models) -> Iterator[Stack]:
    env = {"ASSISTANT_INSTANCES": "2", "ASSISTANT_MODEL_REGISTRY": str(models.registry.root)}
    with running_stack(tmp_path_factory.mktemp("stack"), env=env) as running:
        yield running


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


def test_promotion_and_rollback_reach_every_instance_with_no_turn_lost(
    stack: Stack, models: Models
) -> None:
    champion_id, challenger_id = (
        models.rasa_ids[models.champion],
        models.rasa_ids[models.challenger],
    )
    assert served(stack) == [champion_id, champion_id]  # started with the service model

    # promote with the command line (the admin token from the install's secrets)
    conversation = Conversation(stack)
    command = [str(ROUTER_PYTHON), "-m", "scripts.models", "--router", stack.router_url]
    command += ["--secrets", str(stack.secrets_file)]
    done = conversation.during(
        lambda: subprocess.run(
            [*command, "promote", models.challenger],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=1800,
        )
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"service model: {models.challenger}" in done.stdout
    assert done.stdout.count(": loaded") == 2, done.stdout
    conversation.check()
    assert served(stack) == [challenger_id, challenger_id]
    assert models.registry.service() == models.challenger

    # roll back through the API
    conversation = Conversation(stack)
    answer = conversation.during(
        lambda: httpx.post(
            f"{stack.router_url}/v1/models/rollback",
            headers=stack.bearer("ROUTER_ADMIN_TOKEN"),
            timeout=1800,
        )
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["service"] == models.champion
    assert [(x["instance"], x["ok"], x["model_id"]) for x in body["loaded"]] == [
        (url, True, champion_id) for url in stack.rasa_urls
    ]
    conversation.check()
    assert served(stack) == [champion_id, champion_id]
    history = models.registry.aliases()["history"]
    assert [(h["action"], h["model_id"], h["by"]) for h in history[-2:]] == [
        ("promote", models.challenger, "admin"),
        ("rollback", models.champion, "admin"),
    ]
    listed = subprocess.run(
        [*command, "list"], cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "service" in lines[models.champion] and "service" not in lines[models.challenger]
