"""assistant.gateway_channel: only the gateway contract's metadata reaches the dialogue; the
token; a retried turn (same message_id) is answered from the record, once, on every store."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from assistant import gateway_channel
from assistant.gateway_channel import (
    GatewayInput,
    allowed_metadata,
    bearer_token,
    handle_once,
    parse_turn,
)
from assistant.tracker_store import DurableTrackerStore, IdleExpiringTrackerStore
from telecom.secrets import InsecureSecret, new_secret
from tests import pg

LOGIN = {"phone": "13800138000", "ts": 1763870000, "nonce": "n" * 22, "sig": "ab" * 32}
GOOD = {"channel": "web", "client": "c" * 22, "login": LOGIN}


def test_the_contracts_shape_passes_whole():
    assert allowed_metadata(GOOD) == GOOD


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, {}),
        ("login", {}),
        ({**GOOD, "verified_level": "full", "role": "admin"}, GOOD),
        ({**GOOD, "login": {**LOGIN, "level": "full"}}, GOOD),
        ({**GOOD, "channel": "Web<script>"}, {"client": GOOD["client"], "login": LOGIN}),
        ({**GOOD, "client": "short"}, {"channel": "web", "login": LOGIN}),
        ({**GOOD, "login": {**LOGIN, "nonce": None}}, {"channel": "web", "client": "c" * 22}),
        ({**GOOD, "login": {**LOGIN, "ts": True}}, {"channel": "web", "client": "c" * 22}),
        ({**GOOD, "login": {**LOGIN, "ts": "1763870000"}}, {"channel": "web", "client": "c" * 22}),
        ({**GOOD, "login": {**LOGIN, "sig": "zz" * 32}}, {"channel": "web", "client": "c" * 22}),
        (
            {**GOOD, "login": {**LOGIN, "phone": "１３８００１３８０００"}},
            {"channel": "web", "client": "c" * 22},
        ),
        ({"login": "13800138000"}, {}),
    ],
)
def test_anything_else_is_dropped(metadata, expected):
    assert allowed_metadata(metadata) == expected


def test_a_turn_needs_a_sender_and_a_message():
    turn = parse_turn({"sender": "conv-12345678", "message": "查话费", "metadata": {"x": 1}})
    assert turn is not None and turn.text == "查话费" and turn.metadata == {}
    for body in (None, [], {"message": "x"}, {"sender": "conv-12345678"}, {"sender": 5}):
        assert parse_turn(body) is None
    assert parse_turn({"sender": "a/../b-123456", "message": "x"}) is None


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("", None), (None, None)],
)
def test_the_bearer_token_is_read_from_the_header(header, token):
    assert bearer_token(header) == token


def test_the_channel_refuses_a_weak_token_unless_in_demo_mode(monkeypatch):
    monkeypatch.delenv("ASSISTANT_DEMO_MODE", raising=False)
    for token in (None, "", "short", "demo-rasa-token-0123456789abcdefghijkl"):
        with pytest.raises(InsecureSecret, match="ASSISTANT_RASA_TOKEN"):
            GatewayInput.from_credentials({"token": token})
    good = new_secret()
    assert GatewayInput.from_credentials({"token": good}).token == good
    monkeypatch.setenv("ASSISTANT_DEMO_MODE", "true")
    assert GatewayInput.from_credentials({"token": "short"}).token == "short"
    assert GatewayInput.from_credentials(None).token == ""  # matches no request


def test_the_channel_answers_under_its_own_name():
    assert GatewayInput.name() == "gateway" and GatewayInput("x").url_prefix() == "gateway"


# Retried turns (message_id): answered once, from the record, under the conversation's lock.


def test_a_busy_lock_is_a_503_to_retry_and_a_failed_turn_a_500():
    from rasa.core.lock_store import LockError

    assert gateway_channel.failure_status(LockError("busy")) == 503
    assert gateway_channel.failure_status(ValueError("boom")) == 500


def test_a_message_id_must_be_well_formed():
    body = {"sender": "conv-12345678", "message": "查话费"}
    assert parse_turn(body).message_id is None
    assert parse_turn({**body, "message_id": "turn_0001-a"}).message_id == "turn_0001-a"
    for bad in ("short", "x" * 65, "turn 0001", "turn/0001", "回合00000001", 12345678, ""):
        assert parse_turn({**body, "message_id": bad}) is None, bad


class Processor:
    """Rasa's processor made small: each turn records the customer's message (with its id), a
    slot counting the turns run, and one reply with buttons — pausing in between, as a real turn
    does while it waits for the action server."""

    def __init__(self, tracker_store, domain) -> None:
        self.tracker_store = tracker_store
        self.domain = domain
        self.runs = 0

    async def handle_message(self, message: UserMessage) -> None:
        self.runs += 1
        run = self.runs
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(
                message.text,
                {"name": "query_balance", "confidence": 1},
                message_id=message.message_id,
            )
        )
        await asyncio.sleep(0.01)  # another request for the conversation may come in now
        tracker.update(SlotSet("pending_request", f"run {run}"))
        reply = BotUttered(
            f"第{run}次回答", {"buttons": [{"title": "查话费", "payload": "/query_balance"}]}
        )
        tracker.update(reply)
        tracker.update(ActionExecuted("action_listen"))
        await message.output_channel.send_response(message.sender_id, reply.message())
        await self.tracker_store.save(tracker)


class Agent:
    """What `handle_once` uses of Rasa's Agent: its lock store, its tracker store (wrapped by
    Rasa's FailSafeTrackerStore, as the agent wraps it) and its processor."""

    def __init__(self, tracker_store, domain) -> None:
        self.lock_store = InMemoryLockStore()
        self.tracker_store = FailSafeTrackerStore(tracker_store)
        self.processor = Processor(self.tracker_store, domain)

    def is_ready(self) -> bool:
        return True


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def agent(request, domain, tmp_path):
    if request.param == "memory":
        yield Agent(IdleExpiringTrackerStore(domain, retention_s=3600), domain)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trackers.sqlite3'}"
        store = DurableTrackerStore(domain, url=url, retention_s=3600)
        yield Agent(store, domain)
        store.engine.dispose()
        return
    with pg.database(request.getfixturevalue("postgres_server")) as url:
        store = DurableTrackerStore(domain, url=url, retention_s=3600)
        yield Agent(store, domain)
        store.engine.dispose()


def _turn(text: str, message_id: str, sender: str = "conv-12345678") -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), sender, message_id=message_id)


async def _answer(agent, message: UserMessage) -> list[dict]:
    await handle_once(agent, message)
    return message.output_channel.messages


def test_a_retried_turn_is_answered_from_the_record(agent):
    async def run():
        first = await _answer(agent, _turn("查话费", "turn-0001"))
        before = await agent.tracker_store.retrieve("conv-12345678")
        again = await _answer(agent, _turn("查话费", "turn-0001"))
        after = await agent.tracker_store.retrieve("conv-12345678")
        return first, again, before, after

    first, again, before, after = asyncio.run(run())
    assert first == [
        {
            "recipient_id": "conv-12345678",
            "text": "第1次回答",
            "buttons": [{"title": "查话费", "payload": "/query_balance"}],
        }
    ]
    assert again == first and agent.processor.runs == 1
    assert [e.as_dict() for e in after.events] == [e.as_dict() for e in before.events]
    assert after.get_slot("pending_request") == "run 1"


def test_a_new_message_id_runs_a_new_turn(agent):
    async def run():
        await _answer(agent, _turn("查话费", "turn-0001"))
        second = await _answer(agent, _turn("查话费", "turn-0002"))
        first_again = await _answer(agent, _turn("查话费", "turn-0001"))
        return second, first_again

    second, first_again = asyncio.run(run())
    assert [m["text"] for m in second] == ["第2次回答"]
    assert [m["text"] for m in first_again] == ["第1次回答"]  # its own replies, not the latest
    assert agent.processor.runs == 2


def test_two_identical_turns_at_once_run_once(agent):
    async def run():
        return await asyncio.gather(
            _answer(agent, _turn("查话费", "turn-0001")),
            _answer(agent, _turn("查话费", "turn-0001")),
            _answer(agent, _turn("你好", "turn-0001", sender="conv-other-1")),
        )

    one, two, other = asyncio.run(run())
    assert one == two and len(one) == 1
    assert agent.processor.runs == 2  # the other conversation's turn ran too, with its own id
    assert [m["recipient_id"] for m in other] == ["conv-other-1"]
    assert {one[0]["text"], other[0]["text"]} == {"第1次回答", "第2次回答"}


def test_a_store_of_rasas_own_is_read_whole(domain):
    agent = Agent(InMemoryTrackerStore(domain), domain)

    async def run():
        first = await _answer(agent, _turn("查话费", "turn-0001"))
        return first, await _answer(agent, _turn("查话费", "turn-0001"))

    first, again = asyncio.run(run())
    assert again == first and agent.processor.runs == 1


# Two real Rasa instances (scripts.services, as `make run` starts them) on one durable store
# (SQLite) and one Redis lock store: a turn retried on the other instance is answered from the
# record.


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    from concurrent.futures import ThreadPoolExecutor

    from scripts import services
    from scripts.train import train

    train()  # a no-op when the model is current
    base = tmp_path_factory.mktemp("instances")
    redis = services.start_redis_server(base / "redis")
    env = services.assistant_env(
        ASSISTANT_DB_PATH=str(base / "subscribers.sqlite3"),
        ASSISTANT_IDENTITY_SECRET=new_secret(),
        ASSISTANT_ID_PEPPER=new_secret(),
        ASSISTANT_ACTIONS_TOKEN=new_secret(),
        ASSISTANT_RASA_TOKEN=new_secret(),
        ASSISTANT_TRACKER_STORE_URL=f"sqlite:///{base / 'trackers.sqlite3'}",
        ASSISTANT_REDIS_URL=redis.url,
    )
    started = []
    try:
        actions = services.start_actions(services.free_port(), base / "logs", env)
        started.append(actions)
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(
                    services.start_rasa,
                    services.free_port(),
                    actions.url,
                    base / "logs",
                    env,
                    name=f"rasa-{n}",
                )
                for n in (1, 2)
            ]
            rasas = [future.result() for future in futures]
        started.extend(rasas)
        yield rasas
    finally:
        for service in reversed(started):
            service.stop()
        redis.stop()


def _post(rasa, body: dict) -> tuple[int, object]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{rasa.url}/webhooks/gateway/webhook",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {rasa.token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _events(rasa, sender: str) -> list[dict]:
    import json
    import urllib.request

    url = f"{rasa.url}/conversations/{sender}/tracker?token={rasa.token}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())["events"]


@pytest.mark.slow
def test_a_turn_retried_on_the_other_instance_is_answered_once(instances):
    one, two = instances
    sender = "conv-retried-0001"
    body = {"sender": sender, "message": "你好", "metadata": {"channel": "web"}}
    status, first = _post(one, {**body, "message_id": "turn-0001"})
    assert status == 200 and first and all(reply["recipient_id"] == sender for reply in first)
    recorded = _events(two, sender)  # the other instance reads the same conversation
    user = [e for e in recorded if e["event"] == "user"]
    assert [e["message_id"] for e in user] == ["turn-0001"]

    status, again = _post(two, {**body, "message_id": "turn-0001"})
    assert (status, again) == (200, first)
    assert _events(one, sender) == recorded  # nothing ran again

    status, second = _post(two, {**body, "message": "谢谢", "message_id": "turn-0002"})
    assert status == 200 and second
    assert len(_events(one, sender)) > len(recorded)
    assert _post(one, {**body, "message_id": "bad id!"})[0] == 400
