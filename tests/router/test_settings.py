"""The router's secrets at start-up: telecom/secrets.py's rule, one line when refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from router.settings import Settings
from telecom.secrets import InsecureSecret, new_secret

ROOT = Path(__file__).resolve().parents[2]
GOOD = {name: SecretStr(new_secret()) for name in
        ("admin_token", "service_token", "rasa_token", "pseudonym_secret")}  # fmt: skip


def test_good_secrets_pass() -> None:
    assert Settings(**GOOD).check_secrets(gateway=True) == []


@pytest.mark.parametrize("name", sorted(GOOD))
@pytest.mark.parametrize("value", [None, "demo-admin-token", "service-token", "x" * 31])
def test_a_bad_secret_is_refused_naming_it(name: str, value: str | None) -> None:
    values = {**GOOD, name: SecretStr(value) if value is not None else None}
    with pytest.raises(InsecureSecret) as refused:
        Settings(**values).check_secrets(gateway=True)
    assert f"ROUTER_{name.upper()}" in str(refused.value)
    assert "\n" not in str(refused.value)
    if value:
        assert value not in str(refused.value)  # the bad value itself is never printed


def test_demo_mode_accepts_bad_secrets_and_names_them() -> None:
    values = {**GOOD, "admin_token": SecretStr("demo-admin-token"), "rasa_token": None}
    weak = Settings(**values, demo_mode=True).check_secrets(gateway=True)
    assert weak == ["ROUTER_ADMIN_TOKEN", "ROUTER_RASA_TOKEN"]


def test_the_gateway_secrets_only_with_the_gateway() -> None:
    values = {**GOOD, "rasa_token": None, "pseudonym_secret": None}
    assert Settings(**values).check_secrets(gateway=False) == []
    with pytest.raises(InsecureSecret):
        Settings(**values).check_secrets(gateway=True)


def test_the_gateway_settings_are_nested_and_each_variable_sets_one_thing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("ROUTER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ROUTER_REDIS_MAX_CONNECTIONS", "64")
    monkeypatch.setenv("ROUTER_GATEWAY__REDIS_MAX_CONNECTIONS", "32")
    monkeypatch.setenv("ROUTER_GATEWAY__RASA_URL", "http://rasa.internal:5005")
    monkeypatch.setenv("ROUTER_GATEWAY__ENABLED", "false")
    monkeypatch.setenv("ROUTER_RETENTION_S", "3600")
    settings = Settings()
    assert (settings.redis_max_connections, settings.gateway.redis_max_connections) == (64, 32)
    assert settings.gateway.rasa_url == "http://rasa.internal:5005"
    assert settings.gateway.enabled is False
    assert settings.retention_s == 3600
    # one retention for a conversation's text, the router's; the secrets are the router's too
    assert not {"retention_s", "pseudonym_secret", "demo_mode", "rasa_token"} & set(
        type(settings.gateway).model_fields
    )


def test_the_pseudonym_key() -> None:
    secret = GOOD["pseudonym_secret"].get_secret_value()
    assert Settings(**GOOD).pseudonym_key() == secret.encode()
    without = {**GOOD, "pseudonym_secret": None}
    with pytest.raises(InsecureSecret):
        Settings(**without).pseudonym_key()
    made = Settings(**without, demo_mode=True).pseudonym_key()  # one of this process, warned
    assert len(made) >= 32


def _router(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")}
    return subprocess.run(
        [sys.executable, "-m", "router"],
        env={**clean, "PYTHONPATH": str(ROOT), "ROUTER_PORT": "9", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_python_m_router_refuses_in_one_line(tmp_path: Path) -> None:
    env = {f"ROUTER_{k.upper()}": v.get_secret_value() for k, v in GOOD.items()}
    done = _router({**env, "ROUTER_SERVICE_TOKEN": "short"}, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ROUTER_SERVICE_TOKEN" in lines[0], done.stderr
    assert not (tmp_path / "var").exists()  # refused before starting anything
