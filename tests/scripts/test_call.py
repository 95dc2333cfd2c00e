"""The call simulator's pure parts (scripts/call.py): scripts, turn bodies, where the token
comes from. Playing a call against the stack is tested in tests/e2e/test_voice_call.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.call import (
    CALLS,
    CallScript,
    ScriptError,
    Turn,
    describe_answer,
    load_script,
    parse_script,
    token_from,
    turn_body,
)


@pytest.mark.parametrize("name", ["balance", "transfer", "keypad"])
def test_every_shipped_script_loads(name: str) -> None:
    script = load_script(CALLS / f"{name}.yml")
    assert isinstance(script, CallScript) and script.name == name
    assert script.turns and all(t.alternatives or t.dtmf for t in script.turns)


def test_a_script_reads_alternatives_dtmf_partials_and_barge_in() -> None:
    script = parse_script(
        {
            "caller": "+8613800138000",
            "turns": [
                {"alternatives": [{"text": "查话费", "confidence": 0.9}, "查化肥"],
                 "partials": ["查"], "barge_in": True},
                {"dtmf": 13800138000},
            ],
        }
    )  # fmt: skip
    assert script.caller == "+8613800138000" and script.callee is None
    assert script.turns == (
        Turn(alternatives=(("查话费", 0.9), ("查化肥", 0.5)), barge_in=True, partials=("查",)),
        Turn(dtmf="13800138000"),
    )


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "mapping"),
        ({"turns": []}, "non-empty"),
        ({"turns": [{}]}, "alternatives or dtmf"),
        ({"turns": [{"dtmf": ""}]}, "alternatives or dtmf"),
        ({"turns": [{"alternatives": [{"text": "x", "confidence": 1.5}]}]}, "0..1"),
        ({"turns": [{"alternatives": [{"confidence": 0.5}]}]}, "string or"),
        ({"turns": [{"alternatives": ["x"], "speed": 2}]}, "unknown keys"),
        ({"turns": [{"alternatives": ["x"], "barge_in": "yes"}]}, "true or false"),
        ({"turns": [{"dtmf": True}]}, "dtmf"),
        ({"caller": 13800138000, "turns": [{"dtmf": "1"}]}, "quoted string"),
    ],
)
def test_a_bad_script_says_what_is_wrong(data: object, says: str) -> None:
    with pytest.raises(ScriptError, match=says):
        parse_script(data, "bad")


def test_an_unreadable_script_is_a_script_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("turns: [\n")
    with pytest.raises(ScriptError, match=r"broken\.yml"):
        load_script(broken)
    with pytest.raises(ScriptError, match=r"missing\.yml"):
        load_script(tmp_path / "missing.yml")


def test_turn_bodies_follow_the_voice_contract() -> None:
    turn = Turn(alternatives=(("嗯 查话费", 0.8),), dtmf="1#", barge_in=True, partials=("嗯",))
    assert turn_body(turn, 3) == {
        "seq": 3,
        "is_final": True,
        "alternatives": [{"text": "嗯 查话费", "confidence": 0.8}],
        "dtmf": "1#",
        "barge_in": True,
    }
    assert turn_body(turn, 3, partial="嗯") == {
        "seq": 3,
        "is_final": False,
        "alternatives": [{"text": "嗯", "confidence": 0}],
    }
    plain = turn_body(Turn(alternatives=(("好的", 0.9),)), 0)
    assert "dtmf" not in plain and "barge_in" not in plain
    # keys alone: a turn without alternatives
    keys = turn_body(Turn(dtmf="13800138000#"), 4)
    assert keys == {"seq": 4, "is_final": True, "dtmf": "13800138000#"}
    # that the contract accepts every body: tests/gateway/voice/test_simulator_bodies.py (the
    # router's environment; this suite runs in the bot's, whose pydantic is Rasa's 1.x)


def test_an_answer_is_described_with_its_action_and_expected_input() -> None:
    line = describe_answer(
        {
            "text": "请在手机键盘上输入手机号码，按井号键结束。",
            "barge_in": False,
            "expect": {"input": "digits", "max_digits": 11, "end_key": "#", "timeout_s": 10},
            "action": "continue",
        }
    )
    assert line.startswith("assistant [continue · expect digits ≤11 end #, 10 s · no barge-in]")
    assert line.endswith("请在手机键盘上输入手机号码，按井号键结束。")
    transfer = describe_answer({"text": "正在转接", "action": "transfer", "handoff_id": "h1",
                                "queue": "billing", "barge_in": True, "expect": {}})  # fmt: skip
    assert "→ handoff h1 queue billing" in transfer


def test_the_token_comes_from_the_environment_before_the_secrets_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# header\nROUTER_VOICE_TOKEN=from-file\n")
    assert token_from("ROUTER_VOICE_TOKEN", secrets, {"ROUTER_VOICE_TOKEN": "from-env"}) == (
        "from-env",
        "$ROUTER_VOICE_TOKEN",
    )
    assert token_from("ROUTER_VOICE_TOKEN", secrets, {}) == ("from-file", str(secrets))
    with pytest.raises(SystemExit, match="OTHER_TOKEN is neither") as missing:
        token_from("OTHER_TOKEN", secrets, {})
    assert "from-file" not in str(missing.value)
