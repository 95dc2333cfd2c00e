from __future__ import annotations

import pytest

from telecom.money import parse_amount, yuan


@pytest.mark.parametrize(
    ("fen", "text"), [(3850, "38.50元"), (0, "0.00元"), (5, "0.05元"), (-1200, "-12.00元")]
)
def test_yuan(fen, text):
    assert yuan(fen) == text


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("200元", 20000),
        ("充50块", 5000),
        ("两百块", 20000),
        ("12.5元", 1250),
        ("一千五百元", 150000),
        ("一千五块", 150000),
        ("两万三千元", 2300000),
        ("100", None),
        ("", None),
    ],
)
def test_parse_amount(text, fen):
    assert parse_amount(text) == fen
