"""archive/placeholders.py: every shape telecom.mask leaves becomes its placeholder, and a
placeholder becomes a synthetic value annotated as its entity, never a customer's digits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.placeholders import SYNTHETIC, placeholder_text, training_text
from telecom import mask


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("我的号码13912345678查话费", "我的号码{phone_number}查话费"),
        ("+86 139 1234 5678 停机了", "{phone_number} 停机了"),
        ("１３９１２３４５６７８", "{phone_number}"),
        ("幺三九幺二三四五六七八", "{phone_number}"),
        ("身份证110101199003071234", "身份证{id_number}"),
        ("身份证号 11010119900307123X 对吗", "身份证号 {id_number} 对吗"),
        ("后六位151238", "后六位{id_last6}"),
        ("后六位 151 23X", "后六位 {id_last6}"),
        ("卡号6222021234567890123扣款", "卡号{card_number}扣款"),
        ("工单T20261123-000123进度", "工单T20261123-000123进度"),
        ("拨*#06#查串号", "拨*#06#查串号"),
        ("{phone_number}是{什么}", "{phone_number}是｛什么｝"),
    ],
)
def test_each_masked_shape_becomes_its_placeholder(raw: str, expected: str) -> None:
    placeheld = placeholder_text(mask.text(raw))
    assert placeheld == expected
    assert placeholder_text(placeheld) == placeheld  # idempotent


def test_training_text_annotates_synthetic_values_and_analysts_spans() -> None:
    text = "帮{phone_number}开通日本漫游, 身份证{id_number}"
    start = text.index("日本")
    example = training_text(text, ((start, start + 2, "destination"),))
    assert example == (
        "帮[13800000000](phone_number)开通[日本](destination)漫游, "
        "身份证[110101199003070000](id_number)"
    )
    assert training_text("卡号{card_number}") == "卡号6222000000000000"  # no domain entity
    assert training_text("看[这个](链接)") == "看［这个］（链接）"  # not read as an annotation
    with pytest.raises(ValueError, match="overlap"):
        training_text("帮{phone_number}查", ((0, 3, "x"), (1, 4, "y")))


def test_synthetic_id_number_fails_its_check_digit() -> None:
    value = SYNTHETIC["id_number"][0]
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(value, weights, strict=False)) % 11]
    assert value[-1] != check  # no such card can exist


_PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
_IDS = st.from_regex(
    r"[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])[0-2][1-9][0-9]{3}[0-9X]", fullmatch=True
)
_FILLER = st.sampled_from(["", "我的号码是", "查一下", "，", " ", "身份证"])


@given(st.lists(st.tuples(_FILLER, st.one_of(_PHONES, _IDS)), min_size=1, max_size=3))
def test_no_customer_digits_survive_into_training_data(parts: list[tuple[str, str]]) -> None:
    raw = "".join(f + n for f, n in parts) + "谢谢"
    example = training_text(placeholder_text(mask.text(raw)))
    assert "*" not in example
    for _, number in parts:
        assert number not in example
        # the kept digits of a masked number are gone too: only synthetic values remain
        assert not re.search(re.escape(number[-4:]) + r"(?!\d)", example.replace("0000", ""))
