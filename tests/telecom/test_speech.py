"""telecom.speech: fillers, spoken numbers, the n-best choice and the keypad.

The sentences are ours, written the way callers talk to a hotline (no punctuation, hesitations,
digits said one by one, Traditional characters from Hong Kong and Taiwan callers).
"""

from __future__ import annotations

import pytest

from telecom.numbers import parse_id_last6, parse_id_number, parse_phone
from telecom.speech import (
    FILLERS,
    KEEP_WORDS,
    Alternative,
    apply_keypad,
    choose,
    normalise,
    strip_fillers,
)

# --------------------------------------------------------------------------------- fillers

FILLER_CASES = [
    ("那个…嗯…我想查话费", "我想查话费"),
    ("嗯，我想查一下话费", "我想查一下话费"),
    ("呃我想办个套餐", "我想办个套餐"),
    ("嗯嗯嗯我的流量用完了", "我的流量用完了"),
    ("那个，就是说，我这个月话费有点高", "我这个月话费有点高"),
    ("就是说我想换个便宜点的套餐", "我想换个便宜点的套餐"),
    ("然后呢我还想开通国际漫游", "我还想开通国际漫游"),
    ("怎么说呢，网速特别慢", "网速特别慢"),
    ("就是，那个，宽带老是断", "宽带老是断"),
    ("那个那个套餐多少钱", "那个套餐多少钱"),
    ("这个，我想问一下账单", "我想问一下账单"),
    ("那个我想查一下余额", "我想查一下余额"),
    ("我想查一下那个…话费", "我想查一下话费"),
    ("额，我想问一下额度", "我想问一下额度"),
    ("啊，我手机停机了", "我手机停机了"),
    ("哦，那帮我转人工吧", "那帮我转人工吧"),
    ("帮我查查话费，嗯。", "帮我查查话费。"),
    ("我的卡，呃，欠费了", "我的卡，欠费了"),
    ("這個，我想查話費", "我想查話費"),
    ("就是說我要停機", "我要停機"),
    # the same words where they mean something
    ("那个79的套餐", "那个79的套餐"),
    ("这个月的话费", "这个月的话费"),
    ("我要办这个套餐", "我要办这个套餐"),
    ("问题就是网速慢", "问题就是网速慢"),
    ("也就是说下个月生效", "也就是说下个月生效"),
    ("余额还有多少", "余额还有多少"),
    ("额度不够用", "额度不够用"),
    ("金额不对", "金额不对"),
    ("好啊", "好啊"),
    ("然后呢？", "然后呢？"),
    ("嗯", "嗯"),
    ("嗯嗯", "嗯嗯"),
    ("那个", "那个"),
    ("", ""),
]


@pytest.mark.parametrize(("said", "expected"), FILLER_CASES)
def test_strip_fillers(said, expected):
    assert strip_fillers(said) == expected


def test_fillers_are_longest_first():
    assert list(FILLERS) == sorted(FILLERS, key=len, reverse=True)
    assert {"嗯", "呃", "啊", "那个", "就是说", "然后呢", "这个"} <= set(FILLERS)


# ----------------------------------------------------------------- numbers, nothing expected

PHONE = "13800138000"
ID = "11010519491231002X"  # a published GB 11643 example with a valid check character

RUN_CASES = [
    ("幺三八零零幺三八零零零", PHONE),
    ("幺三八 零零幺三 八零零零", PHONE),
    ("幺三八，零零幺三，八零零零", PHONE),
    ("幺三八、零零幺三、八零零零", PHONE),
    ("幺 三 八 零 零 幺 三 八 零 零 零", PHONE),
    ("幺三八…零零幺三…八零零零", PHONE),
    ("一三八零零一三八零零零", PHONE),
    ("么三八零零么三八零零零", PHONE),
    ("138 0013 8000", PHONE),
    ("138-0013-8000", PHONE),
    ("幺三八零零幺三八千", PHONE),
    ("幺三八零零幺三 八千", PHONE),
    ("我的手机号是幺三九幺二三四五六拐八", "我的手机号是13912345678"),
    ("号码是幺五勾零零洞洞拐幺幺幺", "号码是15900007111"),
    ("帮我查一下幺八六两两三三四四五五的话费", "帮我查一下18622334455的话费"),
    ("我的号码幺三八零零幺三八零零零两个月前办的", f"我的号码{PHONE}两个月前办的"),
    ("我的号码幺三八零零幺三八零零零，两个月前办的", f"我的号码{PHONE}，两个月前办的"),
    ("幺三八零零幺三八零零零麻烦查一下", f"{PHONE}麻烦查一下"),
    ("一一零一零五一九四九一二三一零零二叉", ID),
    ("一一零一零五 一九四九一二三一 零零二 叉", ID),
    ("一一零一零五一九四九一二三一零零二艾克斯", ID),
    ("一一零一零五一九四九一二三一零零二X", ID),
    ("110105 19491231 002X", ID),
    ("身份证后六位是幺二三四五叉", "身份证后六位是12345X"),
    ("后六位一二三四五六", "后六位123456"),
    ("验证码是幺二三四", "验证码是1234"),
    ("打一零零八六问过了", "打10086问过了"),
    ("分机号三零二", "分机号302"),
    ("１３８ ００１３ ８０００", PHONE),
]

AMOUNT_CASES = [
    ("两百块", "200块"),
    ("一百五十元", "150元"),
    ("我上个月交了一百五", "我上个月交了150"),
    ("充了五十块钱", "充了50块钱"),
    ("一块钱", "1块钱"),
    ("两块五", "2.5块"),
    ("两块五毛钱", "2.5块钱"),
    ("扣了三十多块", "扣了30多块"),
    ("话费一千二百元", "话费1200元"),
    ("两万三千块", "23000块"),
    ("月租一百二十八元的套餐", "月租128元的套餐"),
    ("送二十个G流量", "送20个G流量"),
    ("一点五G不够用", "1.5G不够用"),
    ("三十G", "30G"),
    ("三月份", "3月份"),
    ("三月份的账单不对", "3月份的账单不对"),
    ("十二月", "12月"),
    ("我想查十一月的话费", "我想查11月的话费"),
    ("一月份扣了好多钱", "1月份扣了好多钱"),
    ("十五号", "15号"),
    ("每个月五号扣费", "每个月5号扣费"),
    ("三月五日办的", "3月5日办的"),
    ("涨了百分之二十", "涨了20%"),
    ("兩百塊", "200塊"),
    ("一百五十圓", "150圓"),
    ("三月份的帳單", "3月份的帳單"),
    ("十五號扣費", "15號扣費"),
    ("兩萬三千元", "23000元"),
]

KEEP_CASES = [
    "我想查一下话费",
    "等一下",
    "我们一起办",
    "统一收费吗",
    "便宜一点的套餐",
    "一般几号出账",
    "万一停机了怎么办",
    "十分感谢",
    "两三个月前办的",
    "两三天",
    "办了一个月",
    "一个月多少钱",
    "上个月的账单",
    "这个月",
    "下个月生效",
    "三星手机能用吗",
    "一加手机设置不了",
    "第一个套餐",
    "第二个",
    "星期一能办吗",
    "周三来营业厅",
    "我们一块去营业厅",
    "一样的套餐",
    "一直没信号",
    "唯一的问题",
    "千万别给我停机",
    "一五一十地说",
    "三三两两",
    "两个号码",
    "三个人用",
    "一两天",
    "两三百块",
    "拐弯就是营业厅",
    "打勾确认",
    "为什么扣费",
    "怎么一回事",
    "两月没交",
    "三点来",
    "一二",
    "那个79的套餐",
    "138元套餐",
    "套餐79元",
    "嗯",
    "",
]


@pytest.mark.parametrize(("said", "expected"), RUN_CASES)
def test_digit_runs(said, expected):
    assert normalise(said) == expected


@pytest.mark.parametrize(("said", "expected"), AMOUNT_CASES)
def test_amounts_months_days(said, expected):
    assert normalise(said) == expected


@pytest.mark.parametrize("said", KEEP_CASES)
def test_words_made_of_numerals_stay(said):
    assert normalise(said) == said


@pytest.mark.parametrize("said", KEEP_CASES)
@pytest.mark.parametrize("expect", ["phone", "id_number", "id_last6"])
def test_words_stay_when_the_answer_is_no_number(said, expect):
    assert normalise(said, expect) == said


def test_keep_words_cover_the_brief():
    for word in ("一下", "一起", "统一", "一点", "一般", "万一", "十分", "三星", "一加", "第一"):
        assert word in KEEP_WORDS


def test_fillers_and_numbers_together():
    said = "嗯那个我的号码是幺三八，呃，零零幺三，八零零零"
    assert normalise(said) == f"我的号码是{PHONE}"
    assert parse_phone(normalise(said)) == PHONE


@pytest.mark.parametrize("said", [said for said, _ in RUN_CASES + AMOUNT_CASES])
def test_normalise_is_idempotent(said):
    once = normalise(said)
    assert normalise(once) == once


# ------------------------------------------------------------------------ self-corrections

CORRECTED = "13723456789"
CORRECTION_CASES = [
    ("幺三七 二三四五 六七八八 不是 是幺三七二三四五六七八九", CORRECTED),
    ("我的号码是幺三七 二三四五 六七八八 不对 幺三七 二三四五 六七八九", f"我的号码是{CORRECTED}"),
    ("幺三七二三四五六七八八 说错了 幺三七二三四五六七八九", CORRECTED),
    ("幺三七二三四五六七八八 我说错了 是幺三七二三四五六七八九", CORRECTED),
    ("幺三七二三四五六七八八，错了，应该是幺三七二三四五六七八九", CORRECTED),
    ("嗯幺三七二三四五六七八八 呃不对 幺三七二三四五六七八九", CORRECTED),
    (
        "幺三七二三四五六七八八 不对 幺三七二三四五六七八七 不对不对 幺三七二三四五六七八九",
        CORRECTED,
    ),
    ("我的号码是幺三七二三四五六七八八 不是 幺三七二三四五六七八九", f"我的号码是{CORRECTED}"),
    ("138 0013 8000 错了 13800138001", "13800138001"),
    ("幺二三四五六 不对 幺二三四五七", "123457"),
    # not a correction of one number by another: left as said
    (
        "我的号码是幺三七二三四五六七八八不是幺三七二三四五六七八九",
        "我的号码是13723456788不是13723456789",
    ),
    ("幺三七二三四五六七八八 不对 最后一位是九", "13723456788 不对 最后一位是九"),
    ("幺三七二三四五六七八八错了吗", "13723456788错了吗"),
    ("幺三七二三四五六七八八不是我的", "13723456788不是我的"),
    ("不对 幺三七二三四五六七八九", "不对 13723456789"),
]


@pytest.mark.parametrize(("said", "expected"), CORRECTION_CASES)
def test_a_number_taken_back_keeps_its_correction(said, expected):
    assert normalise(said) == expected


@pytest.mark.parametrize(("said", "expected"), CORRECTION_CASES[:8])
def test_a_corrected_phone_fills_the_phone_slot(said, expected):
    assert normalise(said, "phone") == expected
    assert parse_phone(normalise(said, "phone")) == CORRECTED


# ---------------------------------------------------------------------- numbers, expected

EXPECT_CASES = [
    ("phone", "幺三八 零零幺三 八千", PHONE),
    ("phone", "一三八 零零 一三 八零零零", PHONE),
    ("phone", "我的是幺三八零零幺三八零零零", f"我的是{PHONE}"),
    ("phone", "一 三 八 零 零 一 三 八 零 零 零", PHONE),
    ("phone", "我想先查一下话费", "我想先查一下话费"),
    ("phone", "幺三八零零幺三八零零", "1380013800"),  # ten digits: no phone, read as without
    ("id_number", "一一零一零五一九四九一二三一零零二叉", ID),
    ("id_number", "幺幺洞幺洞五 幺九四九幺两三幺 洞洞两 叉", ID),
    ("id_last6", "幺二三四五叉", "12345X"),
    ("id_last6", "一二三 四五六", "123456"),
    ("id_last6", "一二三四五 艾克斯", "12345X"),
    ("id_last6", "后六位是一二三四五六", "后六位是123456"),
    ("digits", "一", "1"),
    ("digits", "我选二", "我选2"),
    ("digits", "三", "3"),
    ("digits", "等一下", "等一下"),
    ("digits", "第二个", "第二个"),
    ("digits", "往右拐", "往右拐"),
    ("digits", "验证码幺二", "验证码12"),
    ("amount", "五十", "50"),
    ("amount", "两百", "200"),
    ("amount", "一百五", "150"),
    ("amount", "充五十吧", "充50吧"),
    ("amount", "两百块", "200块"),
    ("amount", "一下子充不了", "一下子充不了"),
    ("month", "三", "3"),
    ("month", "十二", "12"),
    ("month", "三月份", "3月份"),
    ("month", "三个月", "3个月"),
    ("month", "一个月", "1个月"),
    ("month", "上个月", "上个月"),
    ("month", "三個月", "3個月"),
]


@pytest.mark.parametrize(("expect", "said", "expected"), EXPECT_CASES)
def test_expected_slot_reads_the_answer_as_that_number(expect, said, expected):
    assert normalise(said, expect) == expected


def test_expected_readings_fill_the_slot():
    assert parse_phone(normalise("幺三八 零零幺三 八千", "phone")) == PHONE
    assert parse_id_number(normalise("一一零一零五 一九四九一二三一 零零二 叉", "id_number")) == ID
    assert parse_id_last6(normalise("一二三四五叉", "id_last6")) == "12345X"


def test_without_a_number_the_expected_reading_is_the_plain_one():
    assert normalise("嗯我不记得了", "phone") == normalise("嗯我不记得了") == "我不记得了"


# ------------------------------------------------------------------------------------ choose

CHOOSE_CASES = [
    ([(0.9, 0.8, None)], 0),
    ([(0.9, 0.8, None), (0.6, 0.9, None)], 0),
    ([(0.6, 0.5, None), (0.55, 0.95, None)], 1),  # intent confidence decides
    ([(0.9, 1.0, False), (0.5, 1.0, True)], 1),  # 要三八… loses to 幺三八…
    ([(0.9, 1.0, False), (0.2, 0.3, True), (0.5, 0.9, True)], 2),
    ([(0.9, 1.0, False), (0.8, 1.0, False)], 0),  # all invalid: confidence decides
    ([(0.5, 0.5, True), (0.5, 0.5, True)], 0),  # a tie keeps the recogniser's order
    ([(0.9, 0.9, True), (0.0, 0.9, True)], 0),
    ([(0.0, 0.9, False), (0.0, 0.9, True)], 1),  # recognisers that score only the first
    ([(1.5, 0.5, None), (0.9, 0.6, None)], 1),  # confidences clamped to 0..1
    ([(float("nan"), 1.0, None), (0.1, 0.1, None)], 1),
]


@pytest.mark.parametrize(("scored", "best"), CHOOSE_CASES)
def test_choose(scored, best):
    assert choose(scored) == best


def test_choose_needs_an_alternative():
    with pytest.raises(ValueError):
        choose([])


def test_choose_over_normalised_alternatives():
    alternatives = [
        Alternative("要三八零零要三八零零零", 0.82),
        Alternative("幺三八零零幺三八零零零", 0.74),
    ]
    texts = [normalise(a.text, "phone") for a in alternatives]
    scored = [
        (a.confidence, 1.0, parse_phone(t) is not None)
        for a, t in zip(alternatives, texts, strict=True)
    ]
    assert texts[choose(scored)] == PHONE


def test_alternative_is_frozen():
    alternative = Alternative("幺三八", 0.5)
    with pytest.raises(AttributeError):
        alternative.text = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------------ keypad

KEYPAD_CASES = [
    ("13800138000#", PHONE),
    ("13800138000", PHONE),
    ("1380*0138000#", "1380138000"),
    ("13800138009*0#", PHONE),
    ("12**3", "3"),
    ("*1", "1"),
    ("***", ""),
    ("#123", ""),
    ("12#34", "12"),
    ("", ""),
    ("1A2B", "1A2B"),
]


@pytest.mark.parametrize(("typed", "expected"), KEYPAD_CASES)
def test_apply_keypad(typed, expected):
    assert apply_keypad(typed) == expected
