"""One trained model for every end-to-end test: trained once, only when its inputs changed."""

from __future__ import annotations

import pathlib

import pytest

from scripts import services, train
from scripts.paths import MODEL
from telecom.secrets import new_secret


@pytest.fixture(scope="session")
def trained_model() -> pathlib.Path:
    train.train()  # a no-op when `make train` already built the current model
    return MODEL


@pytest.fixture(scope="session")
def assistant(trained_model, tmp_path_factory):
    """The action server and the Rasa server on free ports, with a throwaway subscriber store."""
    base = tmp_path_factory.mktemp("assistant")
    env = services.assistant_env(
        ASSISTANT_DB_PATH=str(base / "subscribers.sqlite3"),
        ASSISTANT_IDENTITY_SECRET=new_secret(),
        ASSISTANT_ID_PEPPER=new_secret(),
    )
    with services.assistant(base / "logs", env) as (actions, rasa):
        yield {"actions": actions, "rasa": rasa, "db": base / "subscribers.sqlite3", "env": env}
