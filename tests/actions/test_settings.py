from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import actions.settings
from actions.settings import SettingsError, load_settings
from telecom.secrets import InsecureSecret, new_secret

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def secrets() -> dict[str, str]:
    return {"ASSISTANT_IDENTITY_SECRET": new_secret(), "ASSISTANT_ID_PEPPER": new_secret()}


def test_defaults(tmp_path, secrets):
    settings = load_settings(secrets, repo_root=tmp_path)
    assert settings.db_path == tmp_path / "var" / "subscribers.sqlite3"
    assert settings.identity_secret == secrets["ASSISTANT_IDENTITY_SECRET"]
    assert settings.id_pepper == secrets["ASSISTANT_ID_PEPPER"]
    assert settings.router_url is None and settings.service_token is None
    assert not settings.demo_mode
    assert settings.limits.conversation_failures == 5
    assert settings.limits.conversation_window == timedelta(minutes=30)
    assert settings.limits.client_failures == 20
    assert settings.limits.client_window == timedelta(hours=1)
    assert settings.retention.verification == timedelta(days=30)
    assert settings.retention.sms == timedelta(days=180)


def test_environment_overrides(tmp_path, secrets):
    env = {
        **secrets,
        "ASSISTANT_DB_PATH": "data/x.sqlite3",
        "ASSISTANT_ROUTER_URL": "http://127.0.0.1:8100/",
        "ASSISTANT_SERVICE_TOKEN": "tok-123",
        "ASSISTANT_VERIFY_CLIENT_FAILURES": "7",
        "ASSISTANT_RETAIN_TICKET_DAYS": "90",
    }
    settings = load_settings(env, repo_root=tmp_path)
    assert settings.db_path == tmp_path / "data" / "x.sqlite3"
    assert settings.router_url == "http://127.0.0.1:8100"
    assert settings.limits.client_failures == 7
    assert settings.retention.tickets == timedelta(days=90)
    text = repr(settings)
    assert "tok-123" not in text
    assert all(value not in text for value in secrets.values())


def test_the_old_public_constant_is_gone():
    assert not hasattr(actions.settings, "DEMO_IDENTITY_SECRET")


@pytest.mark.parametrize(
    "value",
    [None, "", "sh0rt-value", "DEMO-ONLY-identity-secret-not-for-production", "demo" + "x" * 40],
)
@pytest.mark.parametrize("name", ["ASSISTANT_IDENTITY_SECRET", "ASSISTANT_ID_PEPPER"])
def test_a_bad_secret_is_refused_in_one_line(secrets, name, value):
    env = {**secrets}
    if value is None:
        env.pop(name)
    else:
        env[name] = value
    with pytest.raises(InsecureSecret) as error:
        load_settings(env)
    assert name in str(error.value) and "\n" not in str(error.value)
    if value:
        assert value not in str(error.value)


def test_demo_mode_accepts_bad_secrets_with_one_warning(caplog):
    caplog.set_level(logging.WARNING)
    settings = load_settings({"ASSISTANT_DEMO_MODE": "true", "ASSISTANT_ID_PEPPER": "tiny-pepper"})
    assert settings.demo_mode and settings.identity_secret == ""
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "ASSISTANT_IDENTITY_SECRET" in warnings[0].getMessage()
    assert "ASSISTANT_ID_PEPPER" in warnings[0].getMessage()
    assert "tiny-pepper" not in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ASSISTANT_VERIFY_CONVERSATION_FAILURES", "0"),
        ("ASSISTANT_VERIFY_CLIENT_MINUTES", "2000"),
        ("ASSISTANT_RETAIN_VERIFICATION_DAYS", "0"),
        ("ASSISTANT_RETAIN_SMS_DAYS", "many"),
    ],
)
def test_bad_numbers_are_refused(secrets, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({**secrets, name: value})


def test_absolute_db_path_kept(tmp_path, secrets):
    target = tmp_path / "elsewhere.sqlite3"
    assert load_settings({**secrets, "ASSISTANT_DB_PATH": str(target)}).db_path == target


def test_default_root_is_the_repository(secrets):
    assert (load_settings(secrets).repo_root / "catalog" / "plans.yml").exists()
    assert isinstance(load_settings(secrets).catalog_root, Path)


def test_start_refuses_bad_secrets_with_one_line_and_a_non_zero_exit(tmp_path):
    """`common.start()` (what the action server runs before serving) stops the process."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "ASSISTANT_DB_PATH": str(tmp_path / "s.sqlite3"),
           "ASSISTANT_IDENTITY_SECRET": "DEMO-ONLY-identity-secret-not-for-production",
           "ASSISTANT_ID_PEPPER": new_secret()}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "from actions.flows import common; common.start()"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ASSISTANT_IDENTITY_SECRET" in lines[0]
    assert not (tmp_path / "s.sqlite3").exists()
