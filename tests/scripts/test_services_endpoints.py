"""scripts.services.endpoints_yaml: the tracker store and the lock store Rasa reads from the
endpoints file it writes — read back with Rasa's own reader, secrets only from the environment.
(The repository's endpoints.yml is read the same way.)"""

from __future__ import annotations

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.utils import AvailableEndpoints

from assistant.lock_store import ConversationLockStore
from scripts.paths import ROOT
from scripts.services import endpoints_yaml

ACTIONS = "http://127.0.0.1:5055"


def _read(tmp_path, text: str) -> AvailableEndpoints:
    path = tmp_path / "endpoints.yml"
    path.write_text(text)
    return AvailableEndpoints.read_endpoints(str(path))


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setenv("ASSISTANT_ACTIONS_TOKEN", "actions-token")
    monkeypatch.setenv(
        "ASSISTANT_TRACKER_STORE_URL", "postgresql://assistant:pg-secret@127.0.0.1:5433/a"
    )
    monkeypatch.setenv("ASSISTANT_REDIS_PASSWORD", "redis-secret")


def test_without_urls_one_process_keeps_conversations_and_locks_in_memory(tmp_path):
    endpoints = _read(tmp_path, endpoints_yaml(ACTIONS))
    assert endpoints.tracker_store.type == "assistant.tracker_store.IdleExpiringTrackerStore"
    assert endpoints.lock_store is None
    assert isinstance(LockStore.create(endpoints.lock_store), InMemoryLockStore)


def test_the_durable_store_and_redis_locks_come_from_the_environment(tmp_path):
    text = endpoints_yaml(
        ACTIONS,
        tracker_store_url="postgresql://assistant:pg-secret@127.0.0.1:5433/a",
        redis_url="redis://:redis-secret@127.0.0.1:6390/3",
    )
    assert "secret" not in text  # the file holds no password, Rasa's environment does
    endpoints = _read(tmp_path, text)
    assert endpoints.tracker_store.type == "assistant.tracker_store.DurableTrackerStore"
    assert endpoints.tracker_store.url == "postgresql://assistant:pg-secret@127.0.0.1:5433/a"
    assert endpoints.lock_store.type == "assistant.lock_store.ConversationLockStore"
    lock_store = LockStore.create(endpoints.lock_store)  # redis-py connects on first use only
    assert isinstance(lock_store, ConversationLockStore)
    assert isinstance(lock_store, RedisLockStore)
    assert lock_store.key_prefix == "assistant:lock:"
    settings = lock_store.red.connection_pool.connection_kwargs
    assert (settings["host"], settings["port"], settings["db"]) == ("127.0.0.1", 6390, 3)
    assert settings["password"] == "redis-secret"


def test_a_redis_url_without_password_writes_none(tmp_path):
    text = endpoints_yaml(ACTIONS, redis_url="redis://127.0.0.1:6390")
    assert "password" not in text
    settings = LockStore.create(_read(tmp_path, text).lock_store).red.connection_pool
    assert settings.connection_kwargs["db"] == 0
    assert "use_ssl: true" in endpoints_yaml(
        ACTIONS, redis_url="rediss://u:p@redis.internal:6380/1"
    )


@pytest.mark.parametrize(
    ("kwargs", "variable"),
    [
        ({"tracker_store_url": "mysql://u@127.0.0.1/db"}, "ASSISTANT_TRACKER_STORE_URL"),
        ({"redis_url": "http://127.0.0.1:6390/0"}, "ASSISTANT_REDIS_URL"),
        ({"redis_url": "redis://127.0.0.1:6390/zero"}, "ASSISTANT_REDIS_URL"),
    ],
)
def test_a_url_of_another_kind_is_refused(kwargs, variable):
    with pytest.raises(ValueError, match=variable):
        endpoints_yaml(ACTIONS, **kwargs)


def test_the_repositorys_endpoints_file_names_the_durable_store():
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert endpoints.tracker_store.type == "assistant.tracker_store.DurableTrackerStore"
    assert endpoints.tracker_store.url.startswith("postgresql://")  # from the environment
