"""assistant.tracker_store: idle conversations are dropped, with the replays kept for them; the
durable store on SQLite and on PostgreSQL (round trip, two instances, retention, the purge
command, the replies recorded after a message)."""

from __future__ import annotations

import asyncio
import time

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from assistant import fastpaths
from assistant.fastpaths import dialogue_states
from assistant.tracker_store import (
    DEFAULT_RETENTION_S,
    URL_VARIABLE,
    DurableTrackerStore,
    IdleExpiringTrackerStore,
    main,
    replies_after,
    retention_from_env,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rasa_states(monkeypatch):
    """Rasa's own states (restored after the test); the kept states installed."""
    monkeypatch.setattr(Domain, "states_for_tracker_history", Domain.states_for_tracker_history)
    rasa_states = Domain.states_for_tracker_history
    dialogue_states.install()
    return rasa_states


def _turn(domain: Domain, sender: str, text: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [ActionExecuted("action_listen"), UserUttered(text, {"name": "greet", "confidence": 1})],
        domain.slots,
    )


def test_retention_setting():
    assert retention_from_env({}) == DEFAULT_RETENTION_S == 24 * 3600
    assert retention_from_env({"ASSISTANT_TRACKER_RETENTION_S": "90"}) == 90
    for bad in ("0", "-5", "soon", "inf", "nan"):
        with pytest.raises(ValueError, match="ASSISTANT_TRACKER_RETENTION_S"):
            retention_from_env({"ASSISTANT_TRACKER_RETENTION_S": bad})


def test_a_conversation_idle_past_the_retention_is_dropped(domain):
    clock = Clock()
    store = IdleExpiringTrackerStore(domain, retention_s=60, clock=clock)

    async def run() -> list:
        await store.save(_turn(domain, "old", "我的身份证号是110105198806151238"))
        clock.now += 30
        await store.save(_turn(domain, "recent", "你好"))
        seen = [sorted(await store.keys())]
        clock.now += 31  # "old" idle for 61 s, "recent" for 31 s
        seen.append(await store.retrieve("old"))
        seen.append(sorted(await store.keys()))
        seen.append((await store.retrieve("recent")).sender_id)
        return seen

    assert asyncio.run(run()) == [["old", "recent"], None, ["recent"], "recent"]
    assert "110105198806151238" not in str(store.store)


def test_saving_again_keeps_a_conversation(domain):
    clock = Clock()
    store = IdleExpiringTrackerStore(domain, retention_s=60, clock=clock)

    async def run() -> bool:
        for _ in range(5):
            await store.save(_turn(domain, "a", "你好"))
            clock.now += 50
        return await store.retrieve("a") is not None

    assert asyncio.run(run())


def test_the_retention_comes_from_the_environment(domain, monkeypatch):
    monkeypatch.setenv("ASSISTANT_TRACKER_RETENTION_S", "120")
    assert IdleExpiringTrackerStore(domain).retention_s == 120


def test_kept_replays_go_on_and_are_dropped_with_their_conversation(domain, rasa_states):
    """A conversation carries its replay from one turn to the next — and loses it when it
    expires."""
    clock = Clock()
    store = IdleExpiringTrackerStore(domain, retention_s=60, clock=clock, keep_replays=True)

    async def run() -> list[bool]:
        carried = []
        for n in range(3):
            tracker = await store.get_or_create_tracker("a", append_action_listen=False)
            carried.append(bool(tracker.__dict__.get(dialogue_states.REPLAYS)))
            tracker.update(ActionExecuted("action_listen"))
            tracker.update(UserUttered(f"第{n}句", {"name": "greet", "confidence": 1}))
            fresh = DialogueStateTracker.from_events("a", list(tracker.events), domain.slots)
            assert domain.states_for_tracker_history(tracker) == rasa_states(domain, fresh)
            await store.save(tracker)
        clock.now += 61
        await store.save(_turn(domain, "b", "你好"))  # any activity drops what expired
        carried.append("a" in store.replays.entries)
        return carried

    assert asyncio.run(run()) == [False, True, True, False]
    assert list(store.store) == ["b"]


def test_replays_are_kept_only_once_their_fast_path_is_installed(domain, monkeypatch):
    monkeypatch.setattr(fastpaths, "_installed", [])
    assert IdleExpiringTrackerStore(domain).replays is None
    monkeypatch.setattr(fastpaths, "_installed", ["dialogue_states", "kept_replays"])
    assert IdleExpiringTrackerStore(domain).replays is not None
    assert IdleExpiringTrackerStore(domain, keep_replays=False).replays is None


# DurableTrackerStore: every test runs on SQLite and on PostgreSQL (the `store_url` fixture).

# seconds since the epoch, as event timestamps are; events made without one get the real time,
# and Rasa reads a conversation's latest session by time: NOW is not in the future
NOW = time.time() - 60


def _events(at: float, text: str = "你好", message_id: str | None = None) -> list:
    return [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(text, {"name": "greet", "confidence": 1}, timestamp=at, message_id=message_id),
        ActionExecuted("utter_greet", timestamp=at),
        BotUttered(
            "您好！", {"buttons": [{"title": "查话费", "payload": "/query_balance"}]}, timestamp=at
        ),
        ActionExecuted("action_listen", timestamp=at),
    ]


@pytest.fixture
def durable(store_url, domain):
    """Stores on the test's database (each one an assistant instance); closed afterwards."""
    made: list[DurableTrackerStore] = []

    def make(**kwargs) -> DurableTrackerStore:
        kwargs.setdefault("retention_s", 3600)
        kwargs.setdefault("keep_replays", False)
        store = DurableTrackerStore(domain, url=store_url, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.engine.dispose()


def _dicts(tracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


def test_a_saved_conversation_reads_back_whole(durable, domain):
    store = durable()
    tracker = DialogueStateTracker.from_events(
        "a", _events(NOW, "我的号码是13800138000"), domain.slots
    )
    tracker.update(SlotSet("identity_status", "verified", timestamp=NOW))

    async def run():
        await store.save(tracker)
        return await store.retrieve("a"), await store.retrieve("nobody"), await store.keys()

    read, missing, keys = asyncio.run(run())
    assert _dicts(read) == _dicts(tracker)
    assert read.get_slot("identity_status") == "verified"
    assert missing is None and list(keys) == ["a"]


def test_two_instances_see_each_others_writes(durable, domain):
    one, two = durable(), durable()

    async def run() -> list:
        await one.save(DialogueStateTracker.from_events("a", _events(NOW), domain.slots))
        tracker = await two.retrieve("a")  # another instance takes the next turn
        tracker.update(UserUttered("查话费", {"name": "query_balance", "confidence": 1}))
        tracker.update(SlotSet("pending_request", "balance"))
        await two.save(tracker)
        back = await one.retrieve("a")
        return [len(back.events), back.get_slot("pending_request"), await one.exists("a")]

    assert asyncio.run(run()) == [len(_events(NOW)) + 2, "balance", True]


def test_conversations_idle_past_the_retention_are_purged(durable, domain):
    clock = Clock()
    clock.now = NOW
    store = durable(retention_s=600, clock=clock)

    async def run() -> list:
        old = DialogueStateTracker.from_events("old", _events(NOW - 700), domain.slots)
        recent = DialogueStateTracker.from_events("recent", _events(NOW - 60), domain.slots)
        # a long conversation: started long ago, still going
        going = DialogueStateTracker.from_events("going", _events(NOW - 5000), domain.slots)
        going.update(UserUttered("还在吗", {"name": "greet", "confidence": 1}, timestamp=NOW - 10))
        for tracker in (old, recent, going):
            await store.save(tracker)
        purged = store.purge()
        return [purged, sorted(await store.keys()), await store.retrieve("old"), store.purge()]

    assert asyncio.run(run()) == [1, ["going", "recent"], None, 0]


def test_save_purges_at_most_once_a_minute(durable, domain):
    clock = Clock()
    clock.now = NOW
    store = durable(retention_s=600, clock=clock)

    async def run() -> list[bool]:
        await store.save(DialogueStateTracker.from_events("old", _events(NOW - 590), domain.slots))
        clock.now += 30  # "old" now idle 620 s, but the last purge was 30 s ago
        await store.save(DialogueStateTracker.from_events("b", _events(NOW), domain.slots))
        kept = await store.exists("old")
        clock.now += 31
        await store.save(DialogueStateTracker.from_events("c", _events(NOW), domain.slots))
        return [kept, await store.exists("old")]

    assert asyncio.run(run()) == [True, False]


def test_the_purge_command(durable, domain, store_url, capsys):
    store = durable()
    asyncio.run(
        store.save(DialogueStateTracker.from_events("old", _events(NOW - 7200), domain.slots))
    )
    asyncio.run(
        store.save(DialogueStateTracker.from_events("new", _events(time.time()), domain.slots))
    )
    env = {URL_VARIABLE: store_url, "ASSISTANT_TRACKER_RETENTION_S": "3600"}
    assert main(["purge"], env) == 0
    assert capsys.readouterr().out == "purged 1 conversations idle longer than 3600 s\n"
    assert sorted(asyncio.run(store.keys())) == ["new"]
    assert main([], env) == 2 and main(["purge"], {}) == 2


def test_rasa_builds_it_from_an_endpoints_url(store_url, domain):
    """endpoints: `type: assistant.tracker_store.DurableTrackerStore`, `url: …` — Rasa passes
    the url as `host`; the agent's store is asynchronous, so Rasa does not wrap it."""
    config = EndpointConfig(url=store_url, type="assistant.tracker_store.DurableTrackerStore")
    store = TrackerStore.create(config, domain)
    try:
        assert isinstance(store, DurableTrackerStore)
    finally:
        store.engine.dispose()


def test_a_durable_store_needs_a_url_it_can_share(tmp_path):
    for url in (None, "", "sqlite://", "sqlite:///:memory:", "mysql://u@127.0.0.1/db"):
        with pytest.raises(ValueError, match=URL_VARIABLE):
            DurableTrackerStore(None, url=url)


def test_the_sqlite_file_is_private_and_shared_through_its_journal(tmp_path, domain):
    path = tmp_path / "var" / "trackers.sqlite3"
    store = DurableTrackerStore(domain, url=f"sqlite:///{path}", keep_replays=False)
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    finally:
        store.engine.dispose()


def test_the_in_memory_store_finds_replies_recorded_after_a_message(domain):
    _replies_are_found_by_message_id(IdleExpiringTrackerStore(domain, retention_s=60), domain)


def test_the_durable_store_finds_replies_recorded_after_a_message(durable, domain):
    _replies_are_found_by_message_id(durable(), domain)


def _replies_are_found_by_message_id(store, domain) -> None:
    first = _events(NOW, "你好", message_id="turn-0001")
    second = [
        UserUttered("查话费", {"name": "query_balance", "confidence": 1}, message_id="turn_0002"),
        ActionExecuted("utter_ask_phone"),
        BotUttered("请问您的手机号码是？"),
        BotUttered("我们会保护您的信息。"),
        ActionExecuted("action_listen"),
    ]

    async def run() -> list:
        await store.save(DialogueStateTracker.from_events("a", first + second, domain.slots))
        return [
            await store.recorded_replies("a", "turn-0001"),
            await store.recorded_replies("a", "turn_0002"),
            await store.recorded_replies("a", "turnX0002"),  # "_" is no wildcard
            await store.recorded_replies("a", "turn-9999"),
            await store.recorded_replies("b", "turn-0001"),
        ]

    one, two, *missing = asyncio.run(run())
    assert [reply["text"] for reply in one] == ["您好！"]
    assert one[0]["data"]["buttons"] == [{"title": "查话费", "payload": "/query_balance"}]
    assert [reply["text"] for reply in two] == ["请问您的手机号码是？", "我们会保护您的信息。"]
    assert missing == [None, None, None]


def test_replies_after_is_read_from_event_dicts():
    events = [
        {"event": "bot", "text": "before"},
        {"event": "user", "message_id": "m-1"},
        {"event": "action", "name": "utter_x"},
        {"event": "bot", "text": "one"},
        {"event": "user", "message_id": "m-2"},
        {"event": "bot", "text": "two"},
    ]
    assert replies_after(events, "m-1") == [{"event": "bot", "text": "one"}]
    assert replies_after(events, "m-2") == [{"event": "bot", "text": "two"}]
    assert replies_after(events, "m-3") is None
    assert replies_after(events[:3], "m-1") == []  # recorded, nothing said (yet)
