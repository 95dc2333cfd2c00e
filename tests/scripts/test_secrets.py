"""scripts.secrets: per-install secrets, created once with mode 0600, never overwritten."""

from __future__ import annotations

import stat

from scripts.secrets import SECRET_NAMES, ensure_secrets, parse
from telecom.secrets import problem


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_first_run_creates_every_secret_private_and_strong(tmp_path):
    path = tmp_path / "var" / "secrets.env"
    values = ensure_secrets(path, env={})
    assert _mode(path) == 0o600
    assert set(values) == set(SECRET_NAMES)
    assert parse(path.read_text()) == values
    assert all(problem(value) is None for value in values.values())
    assert len(set(values.values())) == len(SECRET_NAMES)  # each one its own


def test_a_second_run_keeps_the_file_as_it_is(tmp_path):
    path = tmp_path / "secrets.env"
    first = ensure_secrets(path, env={})
    before = path.read_bytes()
    assert ensure_secrets(path, env={}) == first
    assert path.read_bytes() == before


def test_a_missing_name_is_added_and_nothing_else_changes(tmp_path):
    path = tmp_path / "secrets.env"
    old = "# mine\nROUTER_ADMIN_TOKEN=kept-admin-value-0123456789abcdefghijkl"  # no newline
    path.write_text(old)
    path.chmod(0o644)
    values = ensure_secrets(path, env={})
    text = path.read_text()
    assert text.startswith(old + "\n")
    assert values["ROUTER_ADMIN_TOKEN"] == "kept-admin-value-0123456789abcdefghijkl"
    assert set(parse(text)) == set(SECRET_NAMES)
    assert _mode(path) == 0o600  # tightened


def test_the_environment_wins_and_is_never_written(tmp_path):
    path = tmp_path / "secrets.env"
    stored = ensure_secrets(path, env={})
    env = {"ASSISTANT_RASA_TOKEN": "from-the-environment-0123456789abcdefghij"}
    values = ensure_secrets(path, env=env)
    assert values["ASSISTANT_RASA_TOKEN"] == env["ASSISTANT_RASA_TOKEN"]
    assert {k: v for k, v in values.items() if k != "ASSISTANT_RASA_TOKEN"} == {
        k: v for k, v in stored.items() if k != "ASSISTANT_RASA_TOKEN"
    }
    assert env["ASSISTANT_RASA_TOKEN"] not in path.read_text()
