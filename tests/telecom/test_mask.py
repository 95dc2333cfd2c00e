from __future__ import annotations

import pytest

from telecom import mask


def test_phone():
    assert mask.phone("13800138000") == "138****8000"
    assert mask.phone("+8613800138000") == "138****8000"
    assert mask.phone("") == ""
    assert mask.phone(None) == ""
    assert mask.phone("10012") == "*0012"  # short values keep at most their last four


def test_id_number():
    assert mask.id_number("110101199003071234") == "110***********1234"
    assert mask.id_number("11010519491231002x") == "110***********002X"
    assert mask.id_number("") == ""


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张**"), ("张三", "张*"), ("欧阳娜娜", "欧***"), ("张", "*"), ("", "")],
)
def test_name(name, masked):
    assert mask.name(name) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的号码是13800138000，身份证110101199003071234，谢谢",
         "我的号码是138****8000，身份证110***********1234，谢谢"),
        ("号码 138 0013 8000", "号码 138 **** 8000"),
        ("打+86 139-1234-5678找我", "打+86 139-****-5678找我"),
        ("幺三八零零幺三八零零零", "幺三八****八零零零"),
        ("１３８００１３８０００", "１３８****８０００"),
        ("身份证11010519491231002x", "身份证110***********002x"),
        ("卡号6222021234567890123", "卡号***************0123"),
        ("工单T20261123-000123，金额38.50元", "工单T20261123-000123，金额38.50元"),
        ("", ""),
    ],
)  # fmt: skip
def test_text_masks_numbers_inside_free_text(text, masked):
    assert mask.text(text) == masked


def test_text_leaves_no_full_number():
    out = mask.text("a13800138000b 13912345678 110101199003071234")
    for secret in ("13800138000", "13912345678", "110101199003071234", "00138", "99003071"):
        assert secret not in out


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("'; DROP TABLE subscribers; --", "&#x27;; DROP TABLE subscribers; --"),
        ("a\x00b\x07c\x1bd", "abcd"),
        ("line1\nline2\tend", "line1\nline2\tend"),
        ("rtl\u202eevil", "rtlevil"),
        ("😀👍", "😀👍"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("lone\ud800surrogate", "lonesurrogate"),
        ("   ", ""),
        (None, ""),
    ],
)
def test_escape_text(raw, stored):
    assert mask.escape_text(raw) == stored


def test_escape_text_truncates_before_escaping():
    assert mask.escape_text("x" * 10_000, max_length=100) == "x" * 100
    escaped = mask.escape_text("<" * 10, max_length=3)
    assert escaped == "&lt;" * 3  # never an entity cut in half


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("151238", "******"),
        ("后六位是15123X", "后六位是******"),
        ("幺五幺二三八", "******"),
        ("工单T20261123-000123进度", "工单T20261123-000123进度"),
        ("话费100元", "话费100元"),
    ],
)
def test_text_masks_a_bare_id_last_six(raw, masked):
    assert mask.text(raw) == masked


# -- every length rule, separator and look-around ----------------------------------------------
@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("008613800138000", "138****8000"),  # more than 11 digits: the last 11
        ("幺三八零零幺三八零零零", "138****8000"),
        ("１３８００１３８０００", "138****8000"),
        ("138-0013-8000", "138****8000"),
        ("1380013800", "******3800"),  # ten digits: all but the last four
        ("12345", "*2345"),
        ("1234", "****"),
        ("123", "***"),
        ("电话", ""),
    ],
)
def test_phone_lengths(raw, masked):
    assert mask.phone(raw) == masked


def test_id_number_and_name_edges():
    assert mask.id_number(" 11010519491231002x ") == "110***********002X"
    assert mask.id_number("1234567") == "*******"
    assert mask.id_number("12345678") == "123*5678"
    assert mask.id_number(None) == ""
    assert mask.name("  张三 ") == "张*"
    assert mask.name("A") == "*"
    assert mask.name(None) == ""


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("138·0013·8000", "138·****·8000"),
        ("138/0013/8000", "138/****/8000"),
        ("138（0013）8000", "138（****）8000"),
        ("138、0013、8000", "138、****、8000"),
        ("138，0013，8000", "138，****，8000"),
        ("138\u30000013\u30008000", "138\u3000****\u30008000"),
        ("138_0013.8000", "138_****.8000"),
        ("0086 13800138000", "0086 138****8000"),
        ("+86-13800138000", "+86-138****8000"),
        ("11010519491231002叉", "110***********002叉"),
        ("11010519491231002×", "110**********1002×"),  # × is not a digit: 4 digits kept
        ("123456789012", "********9012"),  # twelve digits: a card number
        ("12345678901", "12345678901"),  # eleven, not a mobile number
        ("01010519491231002X", "*************1002X"),  # no ID starts with 0: a long number
        ("A151238", "A151238"),
        ("*151238", "*151238"),
        ("-151238", "-151238"),
        ("1 151238", "1 151238"),
        ("151238a", "151238a"),
        ("151238 1", "151238 1"),
        ("151 23X", "*** ***"),
        ("138X0013X8000", "138X0013X8000"),  # X is not a separator
    ],
)
def test_text_separators_and_look_arounds(text, masked):
    assert mask.text(text) == masked


def test_strip_controls_and_escape_text_edges():
    assert mask.strip_controls("a\u200bb\ue000c\u0378d\te\nf\u200dg") == "abcd\te\nf\u200dg"
    assert mask.escape_text("x" * 2001) == "x" * 2000
    assert mask.escape_text(' "q" ') == "&quot;q&quot;"
    assert mask.escape_text(5) == "5"
