"""Fixtures of the voice channel's tests: ONE router process with the voice channel on and the
REAL assistant (action server + Rasa in .venv-bot, tests/gateway/serve_assistant.py) for the
whole session — the assistant takes a minute or more to start — plus a router with the voice
channel off. Tests keep apart by their own call ids."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from router.embedded_redis import RedisServer, free_port
from tests.gateway.conftest import Router, _wait_ready, bearer, spawn_router, stop_router
from tests.gateway.serve import VOICE
from tests.gateway.test_browser_assistant import BOT_PYTHON, MODEL, READY_TIMEOUT_S, Assistant

_calls = itertools.count()
PREFIX = f"voice-{os.getpid()}:"  # the key prefix of the router with the voice channel on


def _start_router(redis_server: RedisServer, workdir: Path, prefix: str, *extra: str) -> Router:
    router = spawn_router(redis_server, prefix, workdir / f"router-{prefix}.log", *extra)
    _wait_ready(router)
    return router


@pytest.fixture(scope="session")
def voice_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Router, Assistant]]:
    """The router (voice on, the real assistant behind it) and the assistant, for the session."""
    if not MODEL.exists():
        pytest.skip(f"no trained model at {MODEL} (make train)")
    if not BOT_PYTHON.exists():
        pytest.skip(f"no bot environment at {BOT_PYTHON} (make setup)")
    workdir = tmp_path_factory.mktemp("voice")
    rasa_port = free_port()
    router = _start_router(
        redis_server, workdir, PREFIX, "--bot", "rasa",
        "--rasa-url", f"http://127.0.0.1:{rasa_port}",
    )  # fmt: skip
    assistant = Assistant(rasa_port, router.url, workdir)
    try:
        assistant.wait_ready(READY_TIMEOUT_S)
        yield router, assistant
    finally:
        assistant.stop()
        stop_router(router)


@pytest.fixture(scope="session")
def router_without_voice(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Router]:
    router = _start_router(
        redis_server, tmp_path_factory.mktemp("novoice"), f"novoice-{os.getpid()}:",
        "--no-voice",
    )  # fmt: skip
    yield router
    stop_router(router)


class Call:
    """One call through the voice contract, as a voice gateway makes it."""

    def __init__(self, router: Router, call_id: str) -> None:
        self.router = router
        self.call_id = call_id
        self.seq = -1
        self.client = httpx.Client(base_url=router.url, headers=bearer(VOICE), timeout=120)

    def __enter__(self) -> Call:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def start(self, **fields: Any) -> httpx.Response:
        return self.client.post("/v1/voice/calls", json={"call_id": self.call_id, **fields})

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/v1/voice/calls/{self.call_id}/turns", json=body)

    def say(self, *alternatives: str | tuple[str, float], **fields: Any) -> dict[str, Any]:
        """The next final turn with these alternatives (text, or (text, confidence)); the
        answer, checked to be a 200."""
        self.seq += 1
        n_best = [
            {"text": a, "confidence": 0.9} if isinstance(a, str)
            else {"text": a[0], "confidence": a[1]}
            for a in alternatives or ("",)
        ]  # fmt: skip
        reply = self.post({"seq": self.seq, "is_final": True, "alternatives": n_best, **fields})
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        assert body["seq"] == self.seq and body["call_id"] == self.call_id
        return body

    def press(self, keys: str) -> dict[str, Any]:
        """The next final turn with keys alone (no alternatives); the answer, a 200."""
        self.seq += 1
        reply = self.post({"seq": self.seq, "is_final": True, "dtmf": keys})
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        assert body["seq"] == self.seq and body["call_id"] == self.call_id
        return body

    def end(self, reason: str = "hangup") -> httpx.Response:
        return self.client.post(f"/v1/voice/calls/{self.call_id}/end", json={"reason": reason})


@pytest.fixture
def make_call(voice_stack: tuple[Router, Assistant]) -> Iterator[Callable[[], Call]]:
    router, _ = voice_stack
    made: list[Call] = []

    def create() -> Call:
        n = next(_calls)
        call = Call(router, f"test-call-{os.getpid()}-{n}")
        made.append(call)
        # a caller number of its own: the assistant's verification limits count per client
        reply = call.start(caller=f"+86139{os.getpid() % 1000:03d}{n:05d}")
        assert reply.status_code == 201, reply.text
        return call

    yield create
    for call in made:
        call.client.close()
