"""assistant.fastpaths: the registry, the switch, the version gate, an idempotent install."""

from __future__ import annotations

import importlib
import logging

import pytest
import rasa
from rasa.shared.core.events import Event

from assistant import fastpaths


@pytest.fixture
def fresh(monkeypatch):
    """Nothing installed yet in this process, and Rasa's event lookup restored after the test."""
    monkeypatch.setattr(fastpaths, "_installed", [])
    monkeypatch.setattr(Event, "resolve_by_type", Event.resolve_by_type)
    return Event.resolve_by_type


def test_the_fast_paths_were_written_against_the_installed_rasa():
    assert rasa.__version__ == fastpaths.RASA_VERSION  # requirements/bot.txt pins it


def test_every_fast_path_has_a_module_that_installs_it():
    assert len(set(fastpaths.NAMES)) == len(fastpaths.FASTPATHS) >= 12
    for fastpath in fastpaths.FASTPATHS:
        module = importlib.import_module(f"assistant.fastpaths.{fastpath.name}")
        assert callable(module.install), fastpath.name
        assert fastpath.replaces, fastpath.name


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        (None, list(fastpaths.NAMES)),
        ("", list(fastpaths.NAMES)),
        ("all", list(fastpaths.NAMES)),
        ("none", []),
        (" rule_index , graph_runner ", ["graph_runner", "rule_index"]),
        ("all,-kept_sessions", [n for n in fastpaths.NAMES if n != "kept_sessions"]),
        ("none,event_types,-event_types", []),
    ],
)
def test_the_switch_selects(spec, names):
    assert fastpaths.selected(spec) == names


@pytest.mark.parametrize("spec", ["graph-runner", "all,-nope", "yes"])
def test_an_unknown_name_is_refused(spec):
    with pytest.raises(ValueError, match="ASSISTANT_FASTPATHS: unknown fast path"):
        fastpaths.selected(spec)


def test_install_installs_only_what_the_switch_selects_and_only_once(fresh):
    rasa_resolve = fresh
    env = {fastpaths.SWITCH: "event_types"}
    assert fastpaths.install(env) == ["event_types"]
    patched = Event.resolve_by_type
    assert patched is not rasa_resolve
    assert fastpaths.install(env) == ["event_types"]
    assert Event.resolve_by_type is patched  # not wrapped a second time
    assert fastpaths.install({fastpaths.SWITCH: "none"}) == ["event_types"]  # nothing undone


def test_another_rasa_version_gets_nothing_and_one_warning(fresh, monkeypatch, caplog):
    monkeypatch.setattr(rasa, "__version__", "3.6.20")
    with caplog.at_level(logging.WARNING, logger="assistant.fastpaths"):
        assert fastpaths.install({}) == []
    assert Event.resolve_by_type is fresh
    assert [r.getMessage() for r in caplog.records] == [
        f"assistant.fastpaths.skipped rasa 3.6.20, written against {fastpaths.RASA_VERSION}: "
        "none installed"
    ]
