"""The voice channel's secrets: optional, and checked by the router's one rule when set."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from router.settings import Settings
from telecom.secrets import InsecureSecret, new_secret

GOOD = {name: SecretStr(new_secret()) for name in
        ("admin_token", "service_token", "rasa_token", "pseudonym_secret")}  # fmt: skip


def test_unset_voice_secrets_are_not_required() -> None:
    assert Settings(**GOOD).check_secrets(gateway=True) == []
    voiced = Settings(**GOOD, voice_token=SecretStr(new_secret()),
                      voice_jambonz_secret=SecretStr(new_secret()))  # fmt: skip
    assert voiced.check_secrets(gateway=True) == []


@pytest.mark.parametrize("name", ["voice_token", "voice_jambonz_secret"])
def test_a_weak_voice_secret_is_refused_naming_it(name: str) -> None:
    with pytest.raises(InsecureSecret) as refused:
        Settings(**GOOD, **{name: SecretStr("x" * 31)}).check_secrets(gateway=True)
    assert f"ROUTER_{name.upper()}" in str(refused.value) and "x" * 31 not in str(refused.value)
    weak = Settings(**GOOD, **{name: SecretStr("x" * 31)}, demo_mode=True)
    assert weak.check_secrets(gateway=True) == [f"ROUTER_{name.upper()}"]


def test_the_voice_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    token, secret = new_secret(), new_secret()
    monkeypatch.setenv("ROUTER_VOICE_TOKEN", token)
    monkeypatch.setenv("ROUTER_VOICE_JAMBONZ_SECRET", secret)
    settings = Settings()
    assert settings.voice_token is not None and settings.voice_token.get_secret_value() == token
    assert settings.voice_jambonz_secret is not None
    assert token not in repr(settings) and secret not in repr(settings)
