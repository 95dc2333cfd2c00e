"""scripts.services: the real action server and Rasa server, each closed without its token.

Started once for the module on free ports, as `make run` starts them (services.assistant), with
a short tracker retention so that expiry is observable."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from scripts import services
from scripts.train import train
from telecom.secrets import new_secret

pytestmark = pytest.mark.slow

RETENTION_S = 20


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    train()  # a no-op when the model is current
    base = tmp_path_factory.mktemp("assistant")
    env = services.assistant_env(
        ASSISTANT_DB_PATH=str(base / "subscribers.sqlite3"),
        ASSISTANT_IDENTITY_SECRET=new_secret(),
        ASSISTANT_ID_PEPPER=new_secret(),
        ASSISTANT_ACTIONS_TOKEN=new_secret(),
        ASSISTANT_RASA_TOKEN=new_secret(),
        ASSISTANT_TRACKER_RETENTION_S=str(RETENTION_S),
    )
    with services.assistant(base / "logs", env) as (actions, rasa):
        yield actions, rasa


def call(method: str, url: str, body=None, headers=None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def turn(rasa, sender: str, text: str, metadata=None, token: str | None = None):
    return call(
        "POST",
        f"{rasa.url}/webhooks/gateway/webhook",
        {"sender": sender, "message": text, "metadata": metadata or {}},
        {"Authorization": f"Bearer {rasa.token if token is None else token}"},
    )


def tracker(rasa, sender: str) -> dict:
    status, body = call("GET", f"{rasa.url}/conversations/{sender}/tracker?token={rasa.token}")
    assert status == 200
    return body


def sender() -> str:
    return f"test-{uuid.uuid4().hex}"


def action_call(name: str) -> dict:
    tracker = {"sender_id": sender(), "slots": {}, "latest_message": {}, "events": []}
    return {"next_action": name, "sender_id": tracker["sender_id"], "tracker": tracker}


# ---- the action server ----


def test_the_action_server_refuses_a_call_without_its_token(assistant):
    actions, _ = assistant
    body = action_call("action_answer_balance")
    for query in ("", "?token=", "?token=wrong", f"?token={actions.token[:-1]}"):
        status, reply = call("POST", f"{actions.url}/webhook{query}", body)
        assert status == 401 and reply == {"error": "unauthorized"}
    assert call("GET", f"{actions.url}/actions")[0] == 401
    assert call("GET", f"{actions.url}/health")[0] == 200


def test_the_action_server_answers_with_its_token(assistant):
    actions, _ = assistant
    status, names = call("GET", f"{actions.url}/actions?token={actions.token}")
    assert status == 200 and {"name": "action_answer_balance"} in names


# ---- the Rasa server ----


def test_the_gateway_channel_needs_the_bearer_token(assistant):
    _, rasa = assistant
    for token in ("", "wrong", rasa.token[:-1]):
        status, reply = turn(rasa, sender(), "你好", token=token)
        assert status == 401 and reply == {"error": "unauthorized"}
    status, _ = call(
        "POST",
        f"{rasa.url}/webhooks/gateway/webhook?token={rasa.token}",  # the API's way: not here
        {"sender": sender(), "message": "你好"},
    )
    assert status == 401


def test_a_turn_reaches_the_action_server_with_its_token(assistant):
    _, rasa = assistant
    status, replies = turn(rasa, sender(), "帮我查一下话费")
    assert status == 200
    assert "手机" in "\n".join(r.get("text", "") for r in replies)  # a custom action asked


def test_the_open_rest_channel_is_gone(assistant):
    _, rasa = assistant
    body = {"sender": sender(), "message": "你好"}
    assert call("POST", f"{rasa.url}/webhooks/rest/webhook", body)[0] == 404


def test_the_http_api_needs_the_token(assistant):
    _, rasa = assistant
    assert call("POST", f"{rasa.url}/model/parse", {"text": "查话费"})[0] == 401
    status, parsed = call("POST", f"{rasa.url}/model/parse?token={rasa.token}", {"text": "查话费"})
    assert status == 200 and parsed["intent"]["name"]


def test_only_the_contracts_metadata_reaches_the_tracker(assistant):
    _, rasa = assistant
    conversation = sender()
    metadata = {"channel": "web", "client": "k" * 24, "verified_level": "full", "role": "admin"}
    assert turn(rasa, conversation, "你好", metadata)[0] == 200
    latest = tracker(rasa, conversation)["latest_message"]
    assert latest["metadata"] == {"channel": "web", "client": "k" * 24}


def test_an_idle_conversation_is_forgotten(assistant):
    _, rasa = assistant
    conversation = sender()
    assert turn(rasa, conversation, "你好")[0] == 200
    assert any(e["event"] == "user" for e in tracker(rasa, conversation)["events"])
    time.sleep(RETENTION_S + 1)  # the retention is what is under test: time has to pass
    events = tracker(rasa, conversation)["events"]
    assert not any(e["event"] == "user" for e in events)


def test_a_service_that_never_gets_ready_is_stopped(tmp_path):
    import sys

    from scripts import services

    port = services.free_port()  # nothing listens there
    service = services._spawn(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        {},
        tmp_path,
        f"http://127.0.0.1:{port}",
    )
    with pytest.raises(TimeoutError, match="sleeper not ready"):
        service.wait_ready("/", timeout=1.0)
    assert service.process.poll() is not None  # not left running
