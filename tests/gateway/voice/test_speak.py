"""router/gateway/voice/speak.py and turns.py: answers made to be heard, and the pure decisions
of a voice turn (no Redis, no assistant)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from router.gateway.voice import speak, turns
from telecom import speech


def say_as(ssml: str) -> list[tuple[str, str]]:
    """(interpret-as, text) of every say-as, parsed as XML (so the SSML must be well formed)."""
    root = ET.fromstring(ssml)
    assert root.tag == "speak"
    return [(e.attrib["interpret-as"], e.text or "") for e in root.iter("say-as")]


def test_screen_markup_is_not_read_out() -> None:
    text = (
        "**注意**：详情见 [资费说明](https://example.cn/fee) 😀\n"
        "| 套餐 | 月费 |\n|---|---|\n| 5G畅享 | 79元 |\n"
        "- 第一条\n- 第二条"
    )
    spoken = speak.voice_text(text)
    for gone in ("**", "](", "http", "😀", "|", "---", "- "):
        assert gone not in spoken
    assert spoken == "注意：详情见资费说明。套餐，月费。5G畅享，79元。第一条。第二条。"


def test_long_sentences_are_cut_and_chat_words_become_spoken_ones() -> None:
    notice = (
        "为了保护您的账户安全，办理前需要先核实身份，请提供手机号码和机主身份证号码后6位。"
        "继续回答即表示您同意以上处理，回复“取消”可随时停止。"
    )
    spoken = speak.voice_text(notice)
    assert all(len(s) <= speak.MAX_SENTENCE_CHARS + 1 for s in spoken.split("。"))
    assert "说“取消”" in spoken and "回复" not in spoken
    asked = speak.voice_text("请输入 13800138000 机主身份证号码的最后6位（最后一位是X的请输入X）。")
    assert asked == "请说出13800138000机主身份证号码的最后6位。"
    # while the keypad is asked for, 输入 is what the caller does
    assert "请输入" in speak.voice_text("请输入机主手机号码。", spoken_words=False)


def test_masked_numbers_are_said_as_agents_say_them() -> None:
    assert speak.voice_text("号码 138****8000 已核验") == "尾号为8000的号码已核验。"
    assert speak.voice_text("证件 110***********1234") == "证件尾号1234的证件。"
    assert "*" not in speak.voice_text("您好 139****0001，欢迎")


def test_ssml_reads_digits_amounts_dates_and_is_escaped() -> None:
    text = speak.voice_text(
        "您的号码 13800138000 余额为 58.20 元，工单号 T20261204-000123，"
        "请在 2026-12-04 前缴费，或 12月5日 之前；验证码 482913。<b>&</b>"
    )
    ssml = speak.ssml(text)
    assert say_as(ssml) == [
        ("telephone", "13800138000"),
        ("cardinal", "58.20"),
        ("characters", "T20261204-000123"),
        ("date", "2026-12-04"),
        ("date", "12-05"),
        ("digits", "482913"),
    ]
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in ssml
    assert say_as(speak.ssml("尾号为8000的号码")) == [("digits", "8000")]
    assert say_as(speak.ssml("欠费 -56.30元")) == [("cardinal", "-56.30")]


def test_buttons_become_numbered_options() -> None:
    spoken = speak.options_text(["查流量", "转人工"])
    assert spoken == "查流量，说'一'或按1；转人工，说'二'或按2。"
    assert speak.options_text([]) == ""
    many = speak.options_text([f"选项{i}" for i in range(12)])
    assert "按9" in many and "按10" not in many


@pytest.mark.parametrize(
    ("said", "count", "picked"),
    [("一", 2, 1), ("1", 2, 1), ("第二个", 2, 2), ("我选二。", 3, 2), ("两", 2, 2),
     ("幺", 1, 1), ("三", 2, None), ("一下", 2, None), ("查流量", 2, None), ("", 2, None)],
)  # fmt: skip
def test_a_spoken_or_typed_number_picks_an_option(said: str, count: int, picked: int) -> None:
    assert turns.picked_option(said, count) == picked


def test_barge_in_and_what_is_listened_for() -> None:
    assert speak.is_notice(["……继续回答即表示您同意以上处理。"])
    assert not speak.is_notice(["您的话费余额为58.20元。"])
    phone = speak.expectation("phone", keypad=False, options=0)
    assert (phone.input, phone.max_digits, phone.end_key) == ("speech_or_digits", 11, "#")
    keypad = speak.expectation("id_last6", keypad=True, options=0)
    assert (keypad.input, keypad.max_digits, keypad.end_key) == ("digits", 6, "#")
    options = speak.expectation(None, keypad=False, options=2)
    assert (options.input, options.max_digits, options.end_key) == ("speech_or_digits", 1, None)
    assert speak.expectation("month", keypad=False, options=0).input == "speech"
    assert "按井号键结束，按星号键删除" in speak.keypad_prompt("phone")
    assert "末位是X" in speak.keypad_prompt("id_last6")


def test_the_keypad_rules_and_the_x_of_an_id() -> None:
    assert turns.keypad("1380013800*0#", "phone") == "1380013800"
    assert turns.keypad("138001380000#999", "phone") == "138001380000"
    # the check character's place: * is X; anywhere else it deletes
    assert turns.keypad("15123*#", "id_last6") == "15123X"
    assert turns.keypad("1512*3#", "id_last6") == "1513"
    assert turns.keypad("11010519880615123*", "id_number") == "11010519880615123X"
    assert turns.keypad("15123*#", "phone") == "1512"


def test_slots_numbers_and_failed_tries() -> None:
    today = date(2026, 12, 4)
    assert turns.expect_of("phone_number") == "phone"
    assert turns.expect_of("ticket_description") is None
    assert turns.as_expect("id_last6") == "id_last6" and turns.as_expect("nope") is None
    assert turns.fills("phone", "13800138000", today)
    assert not turns.fills("phone", "3800138000", today)
    assert turns.fills("id_last6", "15123X", today)
    assert turns.fills("month", "3月", today)
    # the same number slot asked again after a spoken answer: one more failure; a typed answer
    # keeps the count; another slot starts again
    assert turns.failed_tries("phone_number", "phone_number", True, 0) == 1
    assert turns.failed_tries("phone_number", "phone_number", True, 1) == 2
    assert turns.failed_tries("phone_number", "phone_number", False, 2) == 2
    assert turns.failed_tries("phone_number", "id_last6", True, 1) == 0
    assert turns.failed_tries("destination", "destination", True, 3) == 0
    assert not turns.wants_keypad("phone_number", 1)
    assert turns.wants_keypad("phone_number", 2)
    assert not turns.wants_keypad("month", 5)


@pytest.mark.parametrize(
    ("written", "heard"),
    [
        # a year-month: the parenthesis repeating 本月 / 上月 is dropped, others said as 年月
        ("本月（2026-12）截至目前已产生费用 12.00元", "本月截至目前已产生费用12.00元。"),
        ("上月（2026-11）账单", "上月账单。"),
        ("138****8000 2026-11 账单合计 79.00元", "尾号8000 2026年11月账单合计79.00元。"),
        ("没有查到 138****8000 在 2026-03 的账单", "没有查到尾号8000在2026年3月的账单。"),
        # the web chat's goodbye
        ("感谢您的来访，祝您生活愉快，再见！", "感谢您的来电，祝您生活愉快，再见！"),
        # an example number in a re-ask is not read out
        ("请输入11位手机号，例如 138 0013 8000。", "请说出11位手机号。"),
        ("请说出手机号码，如 13800138000", "请说出手机号码。"),
        # the queue message's chat-only advice
        (
            "已为您转接人工客服，您已排在最前面；等待期间您也可以继续问我问题，"
            "说“不用转了”可以取消。",
            "已为您转接人工客服，您已排在最前面。请不要挂机，正在为您转接人工客服。",
        ),
        # left as written: a ticket, a full date, an example that is no number, a 如 of a word
        ("工单号 T20261204-000123", "工单号T20261204-000123。"),
        ("请在 2026-12-04 前缴费", "请在2026年12月4日前缴费。"),
        ("可以加办流量包（例如日包1GB、月包10GB）", "可以加办流量包（例如日包1GB、月包10GB）。"),
        ("如有需要随时找我", "如有需要随时找我。"),
        ("号码 138-0013-8000", "号码138-0013-8000。"),
    ],
)
def test_chat_phrases_are_said_for_the_phone(written: str, heard: str) -> None:
    assert speak.voice_text(written) == heard


def test_the_rewrites_keep_the_ssml_well_formed() -> None:
    text = speak.voice_text("138****8000 2026-11 账单合计 79.00元，例如 138 0013 8000。")
    assert say_as(speak.ssml(text)) == [("digits", "8000"), ("cardinal", "79.00")]


@pytest.mark.parametrize(
    ("confidences", "texts", "valid", "known"),
    [
        ([0.9], ["查话费"], [None], 0),
        ([0.6, 0.8], ["查话费", "查话费"], [None, None], 1),  # the same text: speech decides
        ([0.8, 0.8], ["13800138000", "13800138000"], [True, True], 0),
        ([0.9, 0.5], ["要三八零零要三八零零零", "13800138000"], [False, True], 1),
        ([0.9, 0.5, 0.4], ["1380013800", "13800138000", "要三八"], [False, True, False], 1),
        ([0.6, 0.8], ["查话费", "查画费"], [None, None], None),  # the intents may decide
        ([0.9, 0.5], ["13800138000", "13800138001"], [True, True], None),
        ([0.9, 0.5], ["1380013800", "要三八"], [False, False], None),
    ],
)
@pytest.mark.parametrize("intents", [(0.1, 0.9, 0.5), (0.9, 0.1, 0.5), (1.0, 1.0, 1.0)])
def test_the_n_best_choice_needs_the_assistant_only_when_it_can_change(
    confidences: list[float],
    texts: list[str],
    valid: list[bool | None],
    known: int | None,
    intents: tuple[float, ...],
) -> None:
    assert turns.choice_without_intents(confidences, texts, valid) == known
    if known is not None:  # what the full ranking chooses with any intent confidences
        by_text = dict(zip(texts, intents, strict=False))  # one text, one intent confidence
        scored = [(c, by_text[t], v) for c, t, v in zip(confidences, texts, valid, strict=True)]
        assert speech.choose(scored) == known
