"""Dialogue histories of the assistant's domain, shared by the fast-path tests; the databases of
the durable tracker store (SQLite and a throwaway PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from scripts.paths import DATA, DOMAIN
from tests import pg


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(DOMAIN))


@pytest.fixture
def sample_events() -> list:
    """A signed-in customer greets, asks for the balance, then for a human."""

    def user(text: str, intent: str) -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 0.99})

    return [
        ActionExecuted("action_session_start"),
        ActionExecuted("action_listen"),
        user("你好", "greet"),
        ActionExecuted("utter_greet"),
        BotUttered("您好"),
        ActionExecuted("action_listen"),
        user("查一下话费", "query_balance"),
        ActionExecuted("action_start_request"),
        SlotSet("pending_request", "balance"),
        SlotSet("identity_status", "verified"),
        ActionExecuted("action_answer_balance"),
        BotUttered("余额 58.30 元"),
        ActionExecuted("action_listen"),
        user("转人工", "request_human"),
    ]


@pytest.fixture(scope="module")
def story_histories(domain) -> list[list]:
    """The assistant's stories and rules as event lists (forms, interruptions, fallbacks)."""
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.core.training_data.loading import load_data_from_files
    from rasa.shared.core.training_data.structures import StoryGraph

    files = sorted(str(f) for f in DATA[0].rglob("*.yml"))
    steps = load_data_from_files(files, domain)
    trackers = TrainingDataGenerator(StoryGraph(steps), domain, augmentation_factor=0).generate()
    return [list(t.events) for t in trackers]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the session (tests/pg.py); its superuser's URL."""
    with pg.cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> Iterator[str]:
    """An empty database for a durable tracker store, once SQLite and once PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trackers.sqlite3'}"
    else:
        with pg.database(request.getfixturevalue("postgres_server")) as url:
            yield url
