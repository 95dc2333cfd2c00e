"""Messages with nothing to classify become nlu_fallback."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.input_guard import InputGuard, input_problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (None, "empty"),
        ("😂😂😂👍", "no_words"),
        ("？！。。。", "no_words"),
        ("\x00\x01\x1b\x7f", "no_words"),
        ("\a\b\x1b[0m", "no_words"),
        ("\x1b[1;31m\x1b[0m", "no_words"),
        ("话费" * 600, "too_long"),
        ("啊" * 400, "repetitive"),
        ("哈哈哈哈哈哈哈哈哈", "repetitive"),
        ("哈哈哈", None),
        ("13800138000", None),
        ("19999999999", None),
        ("查话费", None),
        ("👍好的", None),
        ("5G", None),
        ("<script>alert(1)</script>", None),  # has words: classified (as out_of_scope)
    ],
)
def test_input_problem(text, problem):
    assert input_problem(text) == problem


def test_overrides_the_intent_and_keeps_the_ranking():
    message = Message({TEXT: "👍👍"})
    message.set(INTENT, {"name": "affirm", "confidence": 0.9})
    message.set(INTENT_RANKING_KEY, [{"name": "affirm", "confidence": 0.9}])
    InputGuard(InputGuard.get_default_config()).process([message])
    assert message.get(INTENT) == {"name": "nlu_fallback", "confidence": 1.0}
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == ["nlu_fallback", "affirm"]
    assert message.get("input_problem") == "no_words"


def test_leaves_ordinary_messages_alone():
    message = Message({TEXT: "查一下流量"})
    message.set(INTENT, {"name": "query_data_usage", "confidence": 0.95})
    InputGuard({"max_length": 1000}).process([message])
    assert message.get(INTENT)["name"] == "query_data_usage"
    assert message.get("input_problem") is None


@pytest.mark.parametrize(
    "ranking",
    [
        [{"name": "no_request", "confidence": 0.8}, {"name": "affirm", "confidence": 0.1}],
        # under the FallbackClassifier's threshold: still nothing to offer as a guess
        [
            {"name": "nlu_fallback", "confidence": 0.6},
            {"name": "no_request", "confidence": 0.4},
            {"name": "query_balance", "confidence": 0.3},
        ],
    ],
)
def test_a_message_read_as_no_request_becomes_nlu_fallback(ranking):
    message = Message({TEXT: "阿巴阿巴咕噜咕噜"})
    message.set(INTENT, ranking[0])
    message.set(INTENT_RANKING_KEY, ranking)
    InputGuard(InputGuard.get_default_config()).process([message])
    assert message.get(INTENT) == {"name": "nlu_fallback", "confidence": 1.0}
    assert message.get("input_problem") == "no_request"
    assert message.get(INTENT_RANKING_KEY)[0] == {"name": "nlu_fallback", "confidence": 1.0}


def test_no_request_only_when_it_is_the_likeliest_guess():
    message = Message({TEXT: "查话费"})
    ranking = [
        {"name": "query_balance", "confidence": 0.7},
        {"name": "no_request", "confidence": 0.2},
    ]
    message.set(INTENT, ranking[0])
    message.set(INTENT_RANKING_KEY, ranking)
    InputGuard(InputGuard.get_default_config()).process([message])
    assert message.get(INTENT)["name"] == "query_balance"
    assert message.get("input_problem") is None
