"""assistant.gateway_channel: only the gateway contract's metadata reaches the dialogue; the
token."""

from __future__ import annotations

import pytest

from assistant.gateway_channel import GatewayInput, allowed_metadata, bearer_token, parse_turn
from telecom.secrets import InsecureSecret, new_secret

LOGIN = {"phone": "13800138000", "ts": 1763870000, "nonce": "n" * 22, "sig": "ab" * 32}
GOOD = {"channel": "web", "client": "c" * 22, "login": LOGIN}


def test_the_contracts_shape_passes_whole():
    assert allowed_metadata(GOOD) == GOOD


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, {}),
        ("login", {}),
        ({**GOOD, "verified_level": "full", "role": "admin"}, GOOD),
        ({**GOOD, "login": {**LOGIN, "level": "full"}}, GOOD),
        ({**GOOD, "channel": "Web<script>"}, {"client": GOOD["client"], "login": LOGIN}),
        ({**GOOD, "client": "short"}, {"channel": "web", "login": LOGIN}),
        ({**GOOD, "login": {**LOGIN, "nonce": None}}, {"channel": "web", "client": "c" * 22}),
        ({**GOOD, "login": {**LOGIN, "ts": True}}, {"channel": "web", "client": "c" * 22}),
        ({**GOOD, "login": {**LOGIN, "ts": "1763870000"}}, {"channel": "web", "client": "c" * 22}),
        ({**GOOD, "login": {**LOGIN, "sig": "zz" * 32}}, {"channel": "web", "client": "c" * 22}),
        (
            {**GOOD, "login": {**LOGIN, "phone": "１３８００１３８０００"}},
            {"channel": "web", "client": "c" * 22},
        ),
        ({"login": "13800138000"}, {}),
    ],
)
def test_anything_else_is_dropped(metadata, expected):
    assert allowed_metadata(metadata) == expected


def test_a_turn_needs_a_sender_and_a_message():
    turn = parse_turn({"sender": "conv-12345678", "message": "查话费", "metadata": {"x": 1}})
    assert turn is not None and turn.text == "查话费" and turn.metadata == {}
    for body in (None, [], {"message": "x"}, {"sender": "conv-12345678"}, {"sender": 5}):
        assert parse_turn(body) is None
    assert parse_turn({"sender": "a/../b-123456", "message": "x"}) is None


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("", None), (None, None)],
)
def test_the_bearer_token_is_read_from_the_header(header, token):
    assert bearer_token(header) == token


def test_the_channel_refuses_a_weak_token_unless_in_demo_mode(monkeypatch):
    monkeypatch.delenv("ASSISTANT_DEMO_MODE", raising=False)
    for token in (None, "", "short", "demo-rasa-token-0123456789abcdefghijkl"):
        with pytest.raises(InsecureSecret, match="ASSISTANT_RASA_TOKEN"):
            GatewayInput.from_credentials({"token": token})
    good = new_secret()
    assert GatewayInput.from_credentials({"token": good}).token == good
    monkeypatch.setenv("ASSISTANT_DEMO_MODE", "true")
    assert GatewayInput.from_credentials({"token": "short"}).token == "short"
    assert GatewayInput.from_credentials(None).token == ""  # matches no request


def test_the_channel_answers_under_its_own_name():
    assert GatewayInput.name() == "gateway" and GatewayInput("x").url_prefix() == "gateway"
