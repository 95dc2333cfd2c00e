from __future__ import annotations

import pytest

from telecom.numbers import (
    cn_number,
    id_check_digit,
    is_valid_id_number,
    parse_days,
    parse_id_last6,
    parse_id_number,
    parse_phone,
    parse_quantity,
)


def make_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


# Published examples of GB 11643 numbers with their check characters.
@pytest.mark.parametrize(
    ("first17", "check"), [("11010519491231002", "X"), ("44052418800101001", "4")]
)
def test_id_check_digit_known_values(first17, check):
    assert id_check_digit(first17) == check


@pytest.mark.parametrize("seed", range(20))
def test_id_check_digit_satisfies_the_iso7064_equation(seed):
    # ISO 7064 MOD 11-2: sum of digit * 2^(17-i) mod 11, with X as 10, must be 1.
    first17 = f"{(seed * 7919 + 110101) % 900000 + 100000}19{seed % 90 + 10:02d}0101{seed:03d}"
    full = first17 + id_check_digit(first17)
    values = [int(c) for c in full[:17]] + [10 if full[17] == "X" else int(full[17])]
    assert sum(v * 2 ** (17 - i) for i, v in enumerate(values)) % 11 == 1


@pytest.mark.parametrize("bad", ["", "1234", "1101051949123100X", "11010519491231002a"])
def test_id_check_digit_rejects_non_17_digits(bad):
    with pytest.raises(ValueError):
        id_check_digit(bad)


def test_valid_and_invalid_id_numbers():
    valid = make_id("11010519491231002")
    assert is_valid_id_number(valid)
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert not is_valid_id_number(wrong_check)
    assert not is_valid_id_number(valid[:17])
    assert not is_valid_id_number("0" + valid[1:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),  # lower-case x accepted
        ("身份证号是 110105 19491231 002X 谢谢", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width
        ("幺幺零幺零五幺九四九幺二三幺零零二叉", "11010519491231002X"),  # spoken
        ("110105194912310021", None),  # wrong check digit
        ("11010519491231002", None),  # 17 digits
        ("", None),
        (None, None),
    ],
)
def test_parse_id_number(text, expected):
    assert parse_id_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("后六位是31002x", "31002X"),
        ("123456", "123456"),
        ("身份证11010519491231002X", "31002X"),
        ("后六位 12345", None),
        ("1234567", None),
        ("没带身份证", None),
    ],
)
def test_parse_id_last6(text, expected):
    assert parse_id_last6(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "我的号码是13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "008613800138000",
        "(+86) 138-0013-8000",
        "１３８００１３８０００",
        "幺三八零零幺三八零零零",
        "一三八 零零一三 八零零零",
        "喂，我号码是幺三八，零零幺三，八零零零",
        "查一下13800138000的话费",
        "打一13800138000",
    ],
)
def test_parse_phone_formats(text):
    assert parse_phone(text) == "13800138000"


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "12345678901",
        "1380013800",
        "138001380001",
        "23800138000",
        "话费还剩多少",
        "一二三",
    ],
)
def test_parse_phone_rejects(text):
    assert parse_phone(text) is None


def test_parse_phone_ignores_an_id_number_next_to_it():
    assert parse_phone("身份证110105194912310021 手机13912345678") == "13912345678"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("7天", 7),
        ("一周", 7),
        ("一个星期", 7),
        ("两个礼拜", 14),
        ("两周", 14),
        ("半个月", 15),
        ("一个月", 30),
        ("一个半月", 45),
        ("3个月", 90),
        ("10天左右", 10),
        ("大概十五天吧", 15),
        ("三天两夜", 3),
        ("住两晚", 3),
        ("两三天", 3),
        ("7到10天", 10),
        ("１０天", 10),
        ("二十多天", 20),
        ("十来天", 10),
        ("一个多月", 30),
    ],
)
def test_parse_days(text, days):
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["", None, "3月", "下个月去日本", "几天", "去日本玩"])
def test_parse_days_none(text):
    assert parse_days(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7), ("十", 10), ("十五", 15), ("二十一", 21), ("一百", 100), ("两", 2), ("x", None),
        ("", None), ("两三", 3), ("一两", 2), ("二〇二六", 2026), ("一百零五", 105),
        ("一百五", 150), ("三千二", 3200), ("三千零二", 3002), ("一千零五十", 1050),
        ("一万二", 12000), ("两万三千", 23000), ("两万零五百", 20500), ("十万", 100000),
    ],
)  # fmt: skip
def test_cn_number(text, value):
    assert cn_number(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三千二", 3200), ("一千五", 1500), ("两百", 200), ("八百", 800), ("十五", 15),
        ("三万", 30000), ("960", 960), ("2千", 2000), ("1.5万", 15000), ("12.5", 12.5),
        ("１２", 12), ("x", None), ("", None),
    ],
)  # fmt: skip
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "days"), [("兩個禮拜", 14), ("一個多月", 30), ("三個月", 90)])
def test_parse_days_reads_traditional_characters(text, days):
    assert parse_days(text) == days
