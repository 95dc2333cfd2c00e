from __future__ import annotations

import pytest

from telecom.numbers import (
    cn_number,
    id_check_digit,
    is_valid_id_number,
    normalise_digits,
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


# -- exact tables and the order of the parsing passes ------------------------------------------
def test_every_spoken_and_full_width_digit():
    spoken = "零〇洞幺一壹二两贰三叁四肆五伍六陆七柒拐八捌九玖勾"
    assert normalise_digits(spoken) == "0001112223344556677788999"
    assert normalise_digits("０１２３４５６７８９") == "0123456789"
    assert normalise_digits("号码:1３8") == "号码:138"  # same length, other characters kept


def test_check_digit_weights_are_powers_of_two_mod_11():
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    for position in range(17):
        for digit in "123456789":
            first17 = "1" + "0" * 16
            first17 = first17[:position] + digit + first17[position + 1 :]
            total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
            assert id_check_digit(first17) == "10X98765432"[total % 11], first17


@pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100X"])
def test_check_digit_needs_17_digits(bad):
    with pytest.raises(ValueError, match=r"^need exactly 17 digits$"):
        id_check_digit(bad)


def test_ids_never_start_with_zero_and_x_may_be_said():
    zero = make_id("01010519491231002")
    assert not is_valid_id_number(zero) and parse_id_number(zero) is None
    assert parse_id_number("11010519491231002叉") == "11010519491231002X"
    assert parse_id_number("11010519491231002×") == "11010519491231002X"
    assert parse_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("11010519491231002X 13800138000", "13800138000"),  # a run ending in X is skipped
        ("138 0013 8000，139 0013 9000", "13800138000"),  # strict separators first
        ("138,0013,8000和13900139000", "13900139000"),  # commas only in the loose pass
        ("幺三九零零幺三九零零零 13800138000", "13800138000"),  # written digits before spoken
        ("幺三九零零幺三九零零零 138,0013,8000", "13800138000"),  # loose written before spoken
        ("幺三八,零零幺三,八零零零和幺三九零零幺三九零零零", "13900139000"),  # spoken strict first
        ("幺三八,零零幺三,八零零零", "13800138000"),  # spoken and loose, last
    ],
)
def test_parse_phone_pass_order(text, phone):
    assert parse_phone(text) == phone


def test_every_chinese_digit_and_pairs():
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
    for char, value in digits.items():
        assert cn_number(char) == value, char
    assert [cn_number(x) for x in ("四五", "五七", "七八", "八九", "六八", "二〇二六")] == [
        5,
        57,
        8,
        9,
        68,
        2026,
    ]
    assert cn_number("十") == 10 and cn_number("十五") == 15 and cn_number("万") == 10000


def test_units_myriads_and_a_trailing_digit():
    cases = {"一百五": 150, "三千二": 3200, "一万二": 12000, "三千零二": 3002, "一百零五": 105,
             "十万": 100000, "三十万": 300000, "万": 10000, "两万三千": 23000}  # fmt: skip
    assert {text: cn_number(text) for text in cases} == cases
    assert normalise_digits("：；") == "：；"  # the characters after the full-width digits


def test_numbers_are_ints_and_prefixes_need_their_length():
    assert all(type(cn_number(t)) is int for t in ("一百五", "三千二", "一万二", "十五"))
    assert parse_phone("999913800138000") is None  # 15 digits, not 0086 + a number


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("5日", 5),
        ("一年", 365),
        ("住两夜", 3),
        ("2-3周", 21),
        ("一个半星期", 10),
        ("3月去7天", 7),  # a month, then the stay
        ("0天然后5天", 5),
        ("住两晚，玩五天", 5),
        ("半年", 182),
        ("半周", 4),
        ("半个星期", 4),
        ("半个礼拜", 4),
    ],
)
def test_parse_days_units_and_order(text, days):
    assert parse_days(text) == days and type(parse_days(text)) is int
