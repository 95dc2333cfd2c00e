"""telecom.registry: adding models, the service alias, promotion behind the gate, rollback.

Standard library only (tests/telecom also runs in the router's environment); small files stand
in for trained models: the registry never opens them."""

from __future__ import annotations

import json
import multiprocessing
import pathlib
from datetime import datetime, timedelta, timezone

import pytest

from telecom.registry import (
    GateFailed,
    NoSuchModel,
    NothingToRollBack,
    Registry,
    model_id_for,
    service_stack,
)

T0 = datetime(2026, 12, 5, 10, 20, 0, tzinfo=timezone.utc)
PASSED = {"passed": True, "reasons": []}


@pytest.fixture
def make_model(tmp_path):
    """create(content) → a file standing in for a trained model."""
    counter = iter(range(1000))

    def create(content: bytes | None = None) -> pathlib.Path:
        path = tmp_path / "trained" / f"model{next(counter)}.tar.gz"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content if content is not None else path.name.encode())
        return path

    return create


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


def _add_passed(registry: Registry, src: pathlib.Path, at: datetime) -> str:
    model_id = registry.add(src, {"trained_by": "test"}, now=at)
    registry.record_metrics(model_id, {"blind": {"macro_f1": 0.8}}, PASSED)
    return model_id


def test_an_id_is_the_creation_time_and_the_file_hash() -> None:
    assert model_id_for(T0, "0123456789abcdef") == "m20261205-102000-01234567"
    beijing = T0.astimezone(timezone(timedelta(hours=8)))
    assert model_id_for(beijing, "0123456789abcdef") == "m20261205-102000-01234567"
    with pytest.raises(ValueError, match="timezone-aware"):
        model_id_for(T0.replace(tzinfo=None), "0123456789abcdef")


def test_added_model_keeps_its_file_and_meta(registry, make_model) -> None:
    src = make_model(b"a trained model")
    model_id = registry.add(src, {"data_hash": "d" * 64, "config_hash": "c" * 64}, now=T0)
    assert model_id.startswith("m20261205-102000-")
    assert registry.path(model_id).read_bytes() == b"a trained model"
    meta = registry.get(model_id)
    assert meta == {
        "model_id": model_id,
        "created_at": "2026-12-05T10:20:00Z",
        "data_hash": "d" * 64,
        "config_hash": "c" * 64,
        "trained_by": None,
        "metrics": {},
        "gate": {"passed": False, "reasons": ["not evaluated"]},
        "promoted_at": None,
        "promoted_by": None,
    }
    assert json.loads((registry.folder(model_id) / "meta.json").read_text()) == meta
    assert registry.service() is None and registry.service_path() is None
    # nothing half-written is left beside it
    assert sorted(p.name for p in registry.root.iterdir()) == [model_id]


def test_models_are_listed_newest_first(registry, make_model) -> None:
    first = registry.add(make_model(), {}, now=T0)
    second = registry.add(make_model(), {}, now=T0 + timedelta(minutes=5))
    assert [m["model_id"] for m in registry.models()] == [second, first]
    assert Registry(registry.root / "nowhere").models() == []


def test_the_same_file_added_twice_in_a_second_is_one_model(registry, make_model) -> None:
    src = make_model(b"same")
    assert registry.add(src, {}, now=T0) == registry.add(src, {}, now=T0)
    assert len(registry.models()) == 1


def test_unknown_or_malformed_ids_are_no_such_model(registry, make_model) -> None:
    registry.add(make_model(), {}, now=T0)
    for bad in ("m20990101-000000-deadbeef", "", "../registry", ".lock", "aliases.json"):
        with pytest.raises(NoSuchModel):
            registry.get(bad)
    with pytest.raises(FileNotFoundError):
        registry.add(registry.root / "missing.tar.gz", {}, now=T0)


def test_promotion_is_refused_until_the_gate_passed(registry, make_model) -> None:
    model_id = registry.add(make_model(), {}, now=T0)
    with pytest.raises(GateFailed):
        registry.promote(model_id, "an~li", now=T0)
    registry.record_metrics(model_id, {"x": 1}, {"passed": False, "reasons": ["macro-F1 lower"]})
    with pytest.raises(GateFailed):
        registry.promote(model_id, "an~li", now=T0)
    assert registry.service() is None
    registry.record_metrics(model_id, {"x": 2}, PASSED)
    aliases = registry.promote(model_id, "an~li", now=T0 + timedelta(seconds=1))
    assert aliases == {
        "service": model_id,
        "history": [
            {"action": "promote", "model_id": model_id, "by": "an~li", "at": "2026-12-05T10:20:01Z"}
        ],
    }
    assert registry.service_path() == registry.path(model_id)
    meta = registry.get(model_id)
    assert (meta["promoted_by"], meta["promoted_at"]) == ("an~li", "2026-12-05T10:20:01Z")
    assert meta["metrics"] == {"x": 2}


def test_a_gate_must_say_passed_and_why(registry, make_model) -> None:
    model_id = registry.add(make_model(), {}, now=T0)
    with pytest.raises(ValueError):
        registry.record_metrics(model_id, {}, {"passed": "yes", "reasons": []})
    with pytest.raises(NoSuchModel):
        registry.record_metrics("m20990101-000000-deadbeef", {}, PASSED)


def test_rollback_goes_back_one_service_model_at_a_time(registry, make_model) -> None:
    a, b, c = (_add_passed(registry, make_model(), T0 + timedelta(minutes=i)) for i in range(3))
    with pytest.raises(NothingToRollBack):
        registry.rollback("admin", now=T0)
    registry.promote(a, "an~li", now=T0)
    with pytest.raises(NothingToRollBack):
        registry.rollback("admin", now=T0)
    registry.promote(b, "an~li", now=T0)
    registry.promote(c, "an~wang", now=T0)
    assert registry.rollback("admin", now=T0) == b
    assert registry.service() == b
    assert registry.rollback("admin", now=T0) == a
    with pytest.raises(NothingToRollBack):
        registry.rollback("admin", now=T0)
    assert registry.service() == a
    actions = [(h["action"], h["model_id"]) for h in registry.aliases()["history"]]
    assert actions == [
        ("promote", a),
        ("promote", b),
        ("promote", c),
        ("rollback", b),
        ("rollback", a),
    ]
    # the promotion record of a model stays its last promotion
    assert registry.get(c)["promoted_by"] == "an~wang"


def test_service_stack_follows_the_history() -> None:
    def p(model_id: str) -> dict[str, str]:
        return {"action": "promote", "model_id": model_id}

    def r(model_id: str) -> dict[str, str]:
        return {"action": "rollback", "model_id": model_id}

    assert service_stack([]) == []
    assert service_stack([p("a"), p("a")]) == ["a"]
    assert service_stack([p("a"), p("b"), r("a"), p("c")]) == ["a", "c"]
    assert service_stack([p("a"), p("b"), r("a"), p("b")]) == ["a", "b"]
    assert service_stack([r("x")]) == []


def test_the_first_champion_is_the_model_make_train_built(registry, make_model) -> None:
    trained = make_model(b"models/assistant.tar.gz")
    champion = registry.ensure_champion(trained, {"data_hash": "f" * 64}, now=T0)
    meta = registry.get(champion)
    assert registry.service() == champion
    assert registry.path(champion).read_bytes() == b"models/assistant.tar.gz"
    assert meta["gate"]["passed"] is True and meta["data_hash"] == "f" * 64
    assert meta["promoted_at"] == "2026-12-05T10:20:00Z"
    # once there is a service model, nothing more is registered
    assert registry.ensure_champion(make_model(b"another"), now=T0) == champion
    assert len(registry.models()) == 1
    # the first champion cannot be rolled back: nothing served before it
    with pytest.raises(NothingToRollBack):
        registry.rollback("admin", now=T0)


def test_a_challenger_added_before_any_champion_does_not_stop_adoption(
    registry, make_model
) -> None:
    challenger = registry.add(make_model(), {}, now=T0)
    champion = registry.ensure_champion(make_model(b"champion"), now=T0 + timedelta(seconds=1))
    assert champion != challenger and registry.service() == champion


def _promote_many(root: str, ids: list[str], who: str) -> None:
    registry = Registry(root)
    for model_id in ids:
        registry.promote(model_id, who)


def test_promotions_from_two_processes_lose_no_history(registry, make_model) -> None:
    ids = [_add_passed(registry, make_model(), T0 + timedelta(minutes=i)) for i in range(2)]
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_promote_many, args=(str(registry.root), ids * 10, who))
        for who in ("an~a", "an~b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    history = registry.aliases()["history"]
    assert len(history) == 40
    assert sorted({h["by"] for h in history}) == ["an~a", "an~b"]
