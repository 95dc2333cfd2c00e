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
