"""The trained model and held-out messages, for the fast paths compared with Rasa on them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

from scripts.paths import HOLDOUT, MODEL
from scripts.train import train


@pytest.fixture(scope="session")
def agent() -> Agent:
    """The trained assistant, loaded once; tests that swap a part of it put Rasa's back."""
    train()  # a no-op when the model is current
    return Agent.load(str(MODEL))


@pytest.fixture(scope="session")
def texts() -> list[str]:
    return [m.get("text") for m in load_data(str(HOLDOUT)).training_examples][::8]


@pytest.fixture
def parses() -> Callable[[Agent, list[str]], list[tuple]]:
    """What a parse decides (intent, confidence, entities, urgency) for each text."""

    def parse(agent: Agent, texts: list[str]) -> list[tuple]:
        async def parse_all() -> list[dict]:
            return [await agent.parse_message(text) for text in texts]

        return [
            (
                p["intent"]["name"],
                round(p["intent"]["confidence"], 5),
                [(e["entity"], e["value"], e["start"], e["end"]) for e in p["entities"]],
                p.get("urgency"),
            )
            for p in asyncio.run(parse_all())
        ]

    return parse
