"""Agent tokens: refused by shape before anything is looked up."""

from __future__ import annotations

import pytest

from router import auth


def test_an_issued_token_names_its_agent() -> None:
    token = auth.new_agent_token("agent-li.2")
    assert auth.agent_id_of(token) == "agent-li.2"


@pytest.mark.parametrize(
    "token",
    [
        "li.short",  # below the minimum length
        "li." + "x" * 42,
        "." + "x" * 43,  # no agent id
        "bad:id." + "x" * 43,  # not an agent id (':' would reach a Redis key)
        "a" * 65 + "." + "x" * 43,  # agent ids are at most 64
        "x" * 60,  # no separator
    ],
)
def test_malformed_tokens_have_no_agent(token: str) -> None:
    assert auth.agent_id_of(token) is None
