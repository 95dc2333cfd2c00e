"""actions/router_client.py: the handoff calls against a local stand-in router (a real HTTP
server on a free loopback port)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from actions import handoff
from actions.router_client import HandoffError, RouterClient

SECRET = "test-secret"


class FakeRouter(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str, str | None, Any]]] = []

    def _reply(self, status: int, body: Any = None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.calls.append(("POST", self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != "Bearer svc":
            return self._reply(401, {"detail": "unauthorized"})
        return self._reply(
            201,
            {"handoff_id": "h1", "status": "queued", "queue_position": 1, "estimated_wait_s": 30},
        )

    def do_DELETE(self) -> None:
        self.calls.append(("DELETE", self.path, self.headers.get("Authorization"), None))
        self._reply(204 if self.path.endswith("/h1") else 404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def router_url() -> Iterator[str]:
    FakeRouter.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRouter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_create_and_cancel(router_url: str) -> None:
    payload = handoff.build_handoff("conv-9", intent="roaming", secret=SECRET)
    router = RouterClient(router_url, "svc")
    created = asyncio.run(router.create_handoff(payload))
    assert created == {
        "handoff_id": "h1",
        "status": "queued",
        "queue_position": 1,
        "estimated_wait_s": 30,
    }
    assert asyncio.run(router.cancel_handoff("h1")) is True
    assert asyncio.run(router.cancel_handoff("gone")) is False
    assert [(m, p, a) for m, p, a, _ in FakeRouter.calls] == [
        ("POST", "/v1/handoffs", "Bearer svc"),
        ("DELETE", "/v1/handoffs/h1", "Bearer svc"),
        ("DELETE", "/v1/handoffs/gone", "Bearer svc"),
    ]
    assert FakeRouter.calls[0][3] == payload


def test_errors_carry_the_status(router_url: str) -> None:
    with pytest.raises(HandoffError) as refused:
        asyncio.run(RouterClient(router_url, "wrong").create_handoff({"conversation_id": "c"}))
    assert refused.value.status == 401
    with pytest.raises(HandoffError) as down:
        asyncio.run(RouterClient("http://127.0.0.1:9", "svc", timeout_s=1).create_handoff({}))
    assert down.value.status == 0


def test_the_token_stays_out_of_the_repr() -> None:
    assert "svc-token" not in repr(RouterClient("http://127.0.0.1:9", "svc-token"))
