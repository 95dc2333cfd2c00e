"""actions.server: the token check, and no start with a bad token."""

from __future__ import annotations

import subprocess

import pytest

from actions.server import token_matches
from scripts import services
from scripts.paths import ROOT


def test_only_the_exact_token_matches():
    assert token_matches("s" * 43, "s" * 43)
    for provided in (None, "", "s" * 42, "s" * 44, "S" * 43):
        assert not token_matches(provided, "s" * 43)
    assert not token_matches("", "")  # no server token: nothing matches


@pytest.mark.parametrize("token", [None, "short", "demo-actions-token-0123456789abcdefghijk"])
def test_the_action_server_does_not_start_with_a_bad_token(token):
    env = services.assistant_env()
    env.pop("ASSISTANT_DEMO_MODE", None)
    if token is None:
        env.pop("ASSISTANT_ACTIONS_TOKEN")
    else:
        env["ASSISTANT_ACTIONS_TOKEN"] = token
    command = [str(services.BIN / "python"), "-m", "actions.server", "--port", "1"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ASSISTANT_ACTIONS_TOKEN" in result.stderr.splitlines()[-1]
