"""assistant.server: the HTTP API only with a token, loopback by default; the fast-path switch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant import server
from scripts.paths import ROOT
from telecom.secrets import InsecureSecret

TOKEN = "a-good-rasa-token-0123456789abcdefghijkl"
RUN = ["run", "--enable-api", "--model", "models/assistant.tar.gz"]


@pytest.fixture
def rasa_defaults(monkeypatch):
    import rasa.core.constants

    monkeypatch.setattr(rasa.core.constants, "DEFAULT_SERVER_INTERFACE", "0.0.0.0")


def _parsed(argv):
    from rasa.__main__ import create_argument_parser

    return create_argument_parser().parse_known_args(argv)[0]


def test_the_api_token_comes_from_the_environment(rasa_defaults):
    argv = server.secure_defaults(RUN, {"ASSISTANT_RASA_TOKEN": TOKEN})
    assert argv == [*RUN, f"--auth-token={TOKEN}"]
    args = _parsed(argv)
    assert args.auth_token == TOKEN and args.interface == "127.0.0.1"


def test_a_token_that_starts_with_a_dash_is_still_the_token(rasa_defaults):
    # token_urlsafe() starts with "-" one time in 64; argparse must not read it as an option
    token = "-" + TOKEN
    args = _parsed(server.secure_defaults(RUN, {"ASSISTANT_RASA_TOKEN": token}))
    assert args.auth_token == token


def test_an_explicit_interface_and_token_are_kept(rasa_defaults):
    argv = [*RUN, "--interface", "10.0.0.5", "--auth-token", TOKEN]
    assert server.secure_defaults(argv, {}) == argv
    assert _parsed(argv).interface == "10.0.0.5"


@pytest.mark.parametrize("token", [None, "", "short", "demo-token-0123456789abcdefghijklmnop"])
def test_the_api_does_not_start_open_or_with_a_weak_token(rasa_defaults, token):
    env = {} if token is None else {"ASSISTANT_RASA_TOKEN": token}
    with pytest.raises(InsecureSecret, match="ASSISTANT_RASA_TOKEN"):
        server.secure_defaults(RUN, env)


def test_demo_mode_accepts_a_weak_token_but_never_none(rasa_defaults, capsys):
    demo = {"ASSISTANT_DEMO_MODE": "true"}
    argv = server.secure_defaults(RUN, {**demo, "ASSISTANT_RASA_TOKEN": "short"})
    assert argv[-1] == "--auth-token=short"
    assert "demo mode" in capsys.readouterr().err
    with pytest.raises(InsecureSecret):
        server.secure_defaults(RUN, demo)


def test_without_the_api_nothing_is_needed(rasa_defaults):
    argv = ["run", "--model", "models/assistant.tar.gz"]
    assert server.secure_defaults(argv, {}) == argv
    assert server.secure_defaults(["run", "actions"], {}) == ["run", "actions"]


def test_an_unknown_fast_path_stops_the_server_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ASSISTANT_FASTPATHS": "all,-nope"}
    result = subprocess.run(
        [sys.executable, "-m", "assistant.server", "--version"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (  # after the import warnings of Rasa's
        f"assistant.server: ASSISTANT_FASTPATHS: unknown fast path '-nope'; known: {_known()}"
    )


def _known() -> str:
    from assistant.fastpaths import NAMES

    return "all, none, " + ", ".join(NAMES)
