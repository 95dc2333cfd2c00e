"""Helpers for the flow tests: trackers from small JSON snapshots, a real CollectingDispatcher,
the real domain, and the flows wired to a temporary store and a fixed clock.

Import `flows_fixture` into a test module to get the `flows` fixture.
"""

from __future__ import annotations

import asyncio
import copy
from functools import lru_cache
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.flows import common
from actions.settings import Settings
from tests.actions.secrets_support import IDENTITY_SECRET, PEPPER

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = IDENTITY_SECRET
SENDER = "test"


@lru_cache(maxsize=1)
def _domain() -> dict:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(REPO_ROOT / "bot" / "domain")).as_dict()


def domain() -> dict:
    return copy.deepcopy(_domain())


def snapshot(
    *,
    slots: dict | None = None,
    text: str = "",
    intent: str = "inform",
    entities: list | None = None,
    metadata: dict | None = None,
    extracted: dict | None = None,
    active_loop: str | None = None,
    history: list | None = None,
    sender: str = SENDER,
) -> dict:
    """The JSON the action server receives: slots, the latest message, and the events of this
    turn (`extracted`: slots action_extract_slots set after the message)."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    events = list(history or [])
    events.append({"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}})
    events += [{"event": "slot", "name": k, "value": v} for k, v in (extracted or {}).items()]
    all_slots = {"requested_slot": None, **(slots or {}), **(extracted or {})}
    return {
        "sender_id": sender,
        "slots": all_slots,
        "latest_message": latest,
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    }


def verified(phone: str, level: str = "basic", **slots) -> dict:
    return {
        "verified_phone": phone,
        "verified_level": level,
        "identity_status": "verified",
        **slots,
    }


def run(action, state: dict) -> tuple[list, list]:
    """Run an action on a snapshot; returns (events, messages)."""
    dispatcher = CollectingDispatcher()
    tracker = Tracker.from_dict(copy.deepcopy(state))
    events = asyncio.run(action.run(dispatcher, tracker, domain()))
    return events, dispatcher.messages


def texts(messages: list) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def slot(name, value) -> dict:
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def settings_for(catalog_root, tmp_path, **kwargs) -> Settings:
    """Settings with this run's secrets (tests never use a published value)."""
    return Settings(
        repo_root=catalog_root,
        db_path=tmp_path / "unused.sqlite3",
        identity_secret=SECRET,
        id_pepper=PEPPER,
        **kwargs,
    )


@pytest.fixture(name="flows")
def flows_fixture(store, now, catalog_root, tmp_path):
    """The flows bound to a fresh temporary store, a fixed clock and a test identity secret."""
    settings = settings_for(catalog_root, tmp_path)
    common.use_store(store, settings)
    common.use_clock(lambda: now)
    yield store
    common.use_store(None)
    common._state.settings = None
    common.use_clock(None)
