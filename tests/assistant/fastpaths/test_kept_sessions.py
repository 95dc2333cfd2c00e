"""assistant.fastpaths.kept_sessions: Rasa's action calls over one kept connection; an action server
that hangs times out as with Rasa's own sessions, and the next call works; closed at shutdown.

Every test runs a real HTTP server on a free loopback port (aiohttp's, in the test's loop)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import rasa.core.actions.action
import rasa.core.run
import rasa.utils.endpoints
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from assistant.fastpaths import kept_sessions

ANSWER = {"events": [], "responses": []}
TIMEOUT_S = 0.5  # Rasa's request timeout, shortened for the tests


@pytest.fixture
def rasas_session(monkeypatch):
    """Rasa's own session, restored after the test, and no kept session left open."""
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    monkeypatch.setattr(kept_sessions, "_open", [])


async def _serve(handler, keepalive_s: float = 75.0):
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app, keepalive_timeout=keepalive_s)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def test_endpoint_requests_share_one_kept_connection(rasas_session):
    """Rasa's action calls go over one kept connection, with Rasa's token, headers and
    authentication, the body intact; a connection the server closed is replaced."""
    kept_sessions.install()
    seen = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append(
            (
                request.transport.get_extra_info("peername")[1],
                await request.json(),
                request.query.get("token"),
                request.headers.get("X-Tenant"),
                request.headers.get("Authorization", "").startswith("Basic "),
            )
        )
        return web.json_response(ANSWER)

    async def run() -> list:
        runner, port = await _serve(webhook, keepalive_s=0.3)
        endpoint = EndpointConfig(
            f"http://127.0.0.1:{port}/webhook",
            token="t0k",
            headers={"X-Tenant": "cs"},
            basic_auth={"username": "rasa", "password": "pw"},
        )
        body = {"text": "查话费 <b>&</b> /x", "confidence": 0.912345678901234, "n": [1, None]}
        try:
            answers = [await endpoint.request(json=body, method="post") for _ in range(3)]
            await asyncio.sleep(1.5)  # the server closes the idle connection
            answers.append(await endpoint.request(json=body, method="post"))
        finally:
            await kept_sessions.close_kept_sessions()
            await runner.cleanup()
        assert answers == [ANSWER] * 4
        assert [s[1:] for s in seen] == [(body, "t0k", "cs", True)] * 4
        return [s[0] for s in seen]

    ports = asyncio.run(run())
    assert len(set(ports[:3])) == 1  # one connection for the first three calls
    assert ports[3] != ports[0]  # a new one after the server closed it


def _hanging_action_server_calls(domain) -> list:
    """Against an action server whose first call never answers: what each of three action
    calls gave (the exception's type, or the events) and how long it took. The second call
    starts while the first hangs."""
    release = asyncio.Event()
    calls = 0

    async def webhook(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()  # hangs until the test ends
        return web.json_response(ANSWER)

    async def call(endpoint: EndpointConfig) -> tuple:
        action = RemoteAction("action_answer_balance", endpoint)
        tracker = DialogueStateTracker.from_events("t", [], domain.slots)
        started = time.monotonic()
        try:
            outcome = await action.run(
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator(domain.responses),
                tracker,
                domain,
            )
        except Exception as error:  # what Rasa's processor would catch and log
            outcome = type(error)
        return outcome, time.monotonic() - started

    async def run() -> list:
        runner, port = await _serve(webhook)
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        try:
            hung = asyncio.ensure_future(call(endpoint))
            await asyncio.sleep(0.1)
            meanwhile = await call(endpoint)
            results = [await hung, meanwhile, await call(endpoint)]
        finally:
            release.set()
            await kept_sessions.close_kept_sessions()
            await runner.cleanup()
        return results

    return asyncio.run(run())


def test_a_hanging_action_server_times_out_as_with_rasas_sessions(
    rasas_session, domain, monkeypatch
):
    monkeypatch.setattr(rasa.core.actions.action, "DEFAULT_REQUEST_TIMEOUT", TIMEOUT_S)
    monkeypatch.setattr(rasa.utils.endpoints, "DEFAULT_REQUEST_TIMEOUT", TIMEOUT_S)
    rasas = _hanging_action_server_calls(domain)
    kept_sessions.install()
    ours = _hanging_action_server_calls(domain)
    for results in (rasas, ours):
        (hung, hung_s), (meanwhile, meanwhile_s), (after, _) = results
        assert hung is asyncio.TimeoutError
        assert TIMEOUT_S <= hung_s < TIMEOUT_S + 1
        assert meanwhile == after == []  # the other calls answered: no events
        assert meanwhile_s < TIMEOUT_S
    assert [outcome for outcome, _ in ours] == [outcome for outcome, _ in rasas]


def test_kept_sessions_are_closed_when_the_server_stops(rasas_session, monkeypatch):
    """A Sanic app configured by Rasa, started and stopped as Sanic does: once it has stopped,
    the sessions kept meanwhile are closed."""
    from sanic import Sanic

    kept_sessions.install()
    monkeypatch.setattr(Sanic, "test_mode", True)  # several apps of one name in a process
    app = rasa.core.run.configure_app(enable_api=False)

    async def run() -> list[bool]:
        server = await app.create_server(
            host="127.0.0.1", port=0, return_asyncio_server=True, access_log=False
        )
        await server.startup()
        await server.before_start()
        await server.after_start()
        sessions = []
        for path in ("a", "b"):
            async with EndpointConfig(f"http://127.0.0.1:9/{path}").session() as session:
                sessions.append(session)
        open_while_serving = [not s.closed for s in sessions]
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        return [*open_while_serving, *(s.closed for s in sessions)]

    assert asyncio.run(run()) == [True] * 4
    assert kept_sessions._open == []


def test_request_bodies_are_jsons_with_utf8_text():
    body = {"text": '话費 </script> \u2028 \\ "', "x": 1e-7, "y": [True, None, 3]}
    assert json.loads(kept_sessions.json_dumps(body)) == body
    assert "话費" in kept_sessions.json_dumps(body)
