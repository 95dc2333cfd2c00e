"""scripts.run serves the model registry's service model once one was promoted (issue 16)."""

from __future__ import annotations

from datetime import datetime, timezone

from scripts import run
from scripts.paths import MODEL, MODELS, ROOT
from telecom.registry import Registry

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)


def test_the_registry_is_under_models_unless_given(tmp_path):
    assert run.model_registry({}) == MODELS / "registry"
    assert run.model_registry({"ASSISTANT_MODEL_REGISTRY": str(tmp_path)}) == tmp_path
    assert run.model_registry({"ASSISTANT_MODEL_REGISTRY": "var/r"}) == ROOT / "var" / "r"


def test_instances_start_with_the_service_model_once_one_was_promoted(tmp_path):
    registry = Registry(tmp_path / "registry")
    assert run.served_model(registry.root) == MODEL  # nothing promoted: what make train built
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"a model")
    champion = registry.ensure_champion(model, now=NOW)
    assert run.served_model(registry.root) == registry.path(champion)
    model.write_bytes(b"another model")
    challenger = registry.add(model, {}, now=NOW.replace(hour=11))
    registry.record_metrics(challenger, {}, {"passed": True, "reasons": []})
    registry.promote(challenger, "an-1", now=NOW.replace(hour=12))
    assert run.served_model(registry.root) == registry.path(challenger)
    registry.rollback("an-1", now=NOW.replace(hour=13))
    assert run.served_model(registry.root) == registry.path(champion)
