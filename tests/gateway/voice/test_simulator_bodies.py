"""The call simulator (scripts/call.py) sends only turns the voice contract accepts: its bodies
validated by the contract's own model (router/gateway/voice/models.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from router.gateway.voice.models import VoiceTurn
from scripts.call import CALLS, Turn, load_script, turn_body

TURN = Turn(alternatives=(("嗯 查话费", 0.8),), dtmf="1#", barge_in=True, partials=("嗯",))


@pytest.mark.parametrize(
    "body",
    [
        turn_body(TURN, 2),
        turn_body(TURN, 3, partial="嗯"),
        turn_body(Turn(alternatives=(("好的", 0.9),)), 0),
        turn_body(Turn(dtmf="13800138000#"), 4),
    ],
)
def test_every_kind_of_turn_body_is_accepted(body: dict[str, object]) -> None:
    assert VoiceTurn.model_validate(body).seq == body["seq"]


@pytest.mark.parametrize("name", ["balance", "transfer", "keypad"])
def test_every_turn_of_the_shipped_scripts_is_accepted(name: str) -> None:
    script = load_script(CALLS / f"{name}.yml")
    for seq, turn in enumerate(script.turns):
        VoiceTurn.model_validate(turn_body(turn, seq))
        for partial in turn.partials:
            VoiceTurn.model_validate(turn_body(turn, seq, partial=partial))


def test_a_body_the_contract_refuses_is_refused() -> None:
    """The check can fail: a turn with neither alternatives nor keys is not a turn."""
    with pytest.raises(ValidationError):
        VoiceTurn.model_validate({"seq": 0, "is_final": True})
