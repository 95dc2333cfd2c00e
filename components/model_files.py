"""A trained scikit-learn object kept as one joblib file in a Rasa component's model storage
(components/urgency.py, components/intent_vote.py)."""

from __future__ import annotations

from typing import Any

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


def write(model_storage: ModelStorage, resource: Resource, name: str, model: Any) -> None:
    import joblib

    with model_storage.write_to(resource) as directory:
        if model is not None:
            joblib.dump(model, directory / name)


def read(model_storage: ModelStorage, resource: Resource, name: str) -> Any:
    """The stored object, or None when the component was never trained (no resource or file)."""
    import joblib

    try:
        with model_storage.read_from(resource) as directory:
            path = directory / name
            return joblib.load(path) if path.exists() else None
    except ValueError:  # Rasa's answer for a resource that was never written
        return None
