"""Answers made to be heard, from what the assistant wrote for a screen (pure).

`voice_text` turns a reply into short spoken sentences: no markdown, links, emoji or tables;
masked numbers said the way agents say them (尾号8000); chat words (输入, 点击, 回复) become
spoken ones, and chat phrases a caller should not hear are rewritten (`_REWRITES`: year-months,
来访, example numbers, the queue's chat advice). `options_text` reads buttons as numbered
options ("查话费，说'一'或按1").
`ssml` marks up the sentence for the synthesiser: phone numbers read digit by digit
(`interpret-as="telephone"`), other codes and number tails digit by digit (`digits`), ticket
numbers character by character, amounts of money as numbers (`cardinal`, followed by 元), dates
as dates; everything XML-escaped. `keypad_prompt` asks for a number on the keypad.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from router.gateway.voice.models import Expect as Expectation
from router.gateway.voice.turns import KEYPAD_DIGITS, MAX_OPTIONS
from telecom.speech import Expect

GREETING = (
    "您好，这里是智能客服，我是自动应答助手。您可以直接说出要办理的业务，"
    "比如查话费、查流量、换套餐，也可以说转人工。请问有什么可以帮您？"
)
BOT_DOWN = "抱歉，智能助手暂时无法回复。转人工客服请说'人工'或按1。"
TRANSFERRING = "正在为您转接人工客服，请稍候。"
ANYTHING_ELSE = "请问还有什么可以帮您？"
SILENCE = "抱歉，没有听到您的声音。"
GOODBYE = "感谢您的来电，再见。"
# notices the caller must hear whole (why personal data is asked for, a verification lock):
# no barge-in while they are read
NOTICE_MARKERS = ("即表示您同意", "为了保护您的账户安全", "暂停核验")
SPEECH_TIMEOUT_S = 8
KEYPAD_TIMEOUT_S = 15
MAX_SENTENCE_CHARS = 40
_CN_DIGITS = "零一二三四五六七八九"

_KEYPAD_PROMPTS: dict[str, str] = {
    "phone": "请在手机键盘上输入11位手机号码，按井号键结束，按星号键删除。",
    "id_last6": (
        "请在手机键盘上输入身份证号码的最后6位，按井号键结束，按星号键删除；"
        "末位是X的，在最后一位按星号键。"
    ),
    "id_number": (
        "请在手机键盘上输入18位身份证号码，按井号键结束，按星号键删除；"
        "末位是X的，在最后一位按星号键。"
    ),
}
# chat wording → spoken wording (not while the keypad is asked for)
_SPOKEN = (
    ("请输入", "请说出"),
    ("输入", "说出"),
    ("点击", "说"),
    ("回复“", "说“"),
    ("回复", "说"),
)


def _year_month(m: re.Match[str]) -> str:
    return f"{m['y']}年{int(m['m'])}月"


# Whole phrases of the assistant's replies that read like chat, and what a caller hears instead;
# applied in order after the rest of `voice_text`. One entry per phrase, not per reply: a reply
# whose wording changes simply stops matching and is read as written.
_REWRITES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # "本月（2026-12）": the month in parentheses only repeats 本月 / 上月
    (re.compile(r"(?P<which>本月|上月|上个月)（(?:19|20)\d{2}-(?:0[1-9]|1[0-2])）"), r"\g<which>"),
    # a year-month as the screen writes it: 2026-11 → 2026年11月 (not a ticket's or phone's part)
    (
        re.compile(r"(?<![\dA-Za-z-])(?P<y>(?:19|20)\d{2})-(?P<m>0[1-9]|1[0-2])(?![\d-])"),
        _year_month,
    ),
    # the goodbye of a visit to the web chat
    (re.compile("感谢您的来访"), "感谢您的来电"),
    # an example number in a re-ask ("例如138 0013 8000", "如 13800138000"): read out, it
    # sounds like a number to act on
    (
        re.compile(r"[，,]?(?:例如|比如|如)[：:]?[ \t]*\d[\d \t-]{3,}\d(?=[。！？；!?;]|$)"),
        "",
    ),
    # the queue message's chat-only advice: on the phone the caller waits on the line
    (
        re.compile(
            r"[；;，,]?等待期间您也可以继续问我问题，说[“\"'‘]不用转了[”\"'’]可以取消[。.]?"
        ),
        "。请不要挂机，正在为您转接人工客服。",
    ),
)

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d\u2b50\u2b55\u3030]")
_MARKUP = re.compile(r"\*\*|__|`+|~~|^#{1,6}\s*|^>\s*", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.、)])\s+", re.MULTILINE)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}.*$", re.MULTILINE)
_CHAT_ASIDE = re.compile(r"（[^（）]*(?:输入|点击|链接|复制)[^（）]*）")
_MASKED_PHONE = re.compile(r"(?P<what>手机号码|手机号|号码)?\s*1\d{2}\*{4}(?P<tail>\d{4})")
_MASKED_ID = re.compile(r"\d{3}\*{8,11}(?P<tail>\d{3}[\dXx])")
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")
# spaces next to Chinese characters or punctuation are not heard: dropped
_CJK = "\u4e00-\u9fff，。！？：；、（）“”"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])[ \t\u3000]+|[ \t\u3000]+(?=[{_CJK}])")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def _table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return "，".join(c for c in cells if c)


def _unmask(text: str) -> str:
    def phone(m: re.Match[str]) -> str:
        return f"尾号为{m['tail']}的号码" if m["what"] else f"尾号{m['tail']}"

    text = _MASKED_PHONE.sub(phone, text)
    return _MASKED_ID.sub(lambda m: f"尾号{m['tail']}的证件", text)


def _iso_date(m: re.Match[str]) -> str:
    return f"{int(m['y'])}年{int(m['m'])}月{int(m['d'])}日"


def _split_long(sentence: str) -> list[str]:
    """A sentence over MAX_SENTENCE_CHARS is cut at its last comma within the limit."""
    out: list[str] = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        cut = sentence.rfind("，", 0, MAX_SENTENCE_CHARS)
        if cut <= 0:
            break
        out.append(sentence[:cut] + "。")
        sentence = sentence[cut + 1 :]
    out.append(sentence)
    return out


def voice_text(text: str, *, spoken_words: bool = True) -> str:
    """A reply as short spoken sentences (see the module's docstring)."""
    text = _ISO_DATE.sub(_iso_date, _unmask(text))  # before markdown: its * are not emphasis
    text = _LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _EMOJI.sub("", text)
    text = _TABLE_RULE.sub("", text)
    lines = []
    for line in text.splitlines():
        line = _BULLET.sub("", _MARKUP.sub("", line)).strip()
        if line.startswith("|") or line.count("|") >= 2:
            line = _table_row(line)
        if line:
            lines.append(line if line[-1] in "。！？；!?;：:，," else line + "。")
    text = "".join(lines)
    text = _CHAT_ASIDE.sub("", text)
    if spoken_words:
        for chat, spoken in _SPOKEN:
            text = text.replace(chat, spoken)
    text = _CJK_SPACE.sub("", text)
    for pattern, spoken_form in _REWRITES:
        text = pattern.sub(spoken_form, text)
    sentences = [s for part in _SENTENCE_END.split(text) if part for s in _split_long(part)]
    return "".join(sentences)


def options_text(titles: Sequence[str]) -> str:
    """Buttons as spoken options: "查话费，说'一'或按1；查流量，说'二'或按2。" (at most
    MAX_OPTIONS, each picked by one key)."""
    parts = [
        f"{voice_text(title, spoken_words=False).rstrip('。')}，说'{_CN_DIGITS[i]}'或按{i}"
        for i, title in enumerate(titles[:MAX_OPTIONS], start=1)
    ]
    return "；".join(parts) + "。" if parts else ""


def keypad_prompt(kind: Expect) -> str:
    return _KEYPAD_PROMPTS.get(kind, "请在手机键盘上输入，按井号键结束，按星号键删除。")


def is_notice(texts: Sequence[str]) -> bool:
    """A legal or verification notice is among the replies: the caller may not barge in."""
    return any(marker in text for text in texts for marker in NOTICE_MARKERS)


def expectation(kind: Expect | None, *, keypad: bool, options: int) -> Expectation:
    """What the gateway listens for next: the keypad alone for a number asked for on the
    keypad; speech or the keypad for a number (up to its length, # ends) or numbered options
    (one key); speech otherwise."""
    digits = KEYPAD_DIGITS.get(kind or "")
    if keypad and digits:
        return Expectation(
            input="digits", max_digits=digits, end_key="#", timeout_s=KEYPAD_TIMEOUT_S
        )
    if digits:
        return Expectation(
            input="speech_or_digits", max_digits=digits, end_key="#", timeout_s=SPEECH_TIMEOUT_S
        )
    if options:
        return Expectation(input="speech_or_digits", max_digits=1, timeout_s=SPEECH_TIMEOUT_S)
    return Expectation(input="speech", timeout_s=SPEECH_TIMEOUT_S)


# -- SSML --------------------------------------------------------------------------------------
_SAY_AS = re.compile(
    r"(?P<ticket>T\d{8}-\d{6})"
    r"|(?P<ymd>(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号])"
    r"|(?P<md>(?<![\d年])(?P<m2>\d{1,2})月(?P<d2>\d{1,2})[日号])"
    r"|(?P<phone>(?<!\d)1[3-9]\d{9}(?!\d))"
    r"|(?P<amount>(?<![\d.])-?\d+(?:\.\d{1,2})?)(?=\s*元)"
    r"|(?<=尾号)(?:为)?(?P<tail>\d{3}[\dX])"
    r"|(?P<code>(?<![\d.])\d{5,}(?![\d.]))"
)


def _say_as(kind: str, value: str, extra: str = "") -> str:
    return f'<say-as interpret-as="{kind}"{extra}>{escape(value)}</say-as>'


def _markup(m: re.Match[str]) -> str:
    if m["ticket"]:
        return _say_as("characters", m["ticket"])
    if m["ymd"]:
        value = f"{m['y']}-{int(m['m']):02d}-{int(m['d']):02d}"
        return _say_as("date", value, ' format="ymd"')
    if m["md"]:
        return _say_as("date", f"{int(m['m2']):02d}-{int(m['d2']):02d}", ' format="md"')
    if m["phone"]:
        return _say_as("telephone", m["phone"])
    if m["amount"]:
        return _say_as("cardinal", m["amount"])
    if m["tail"]:
        return escape(m.group()[: -len(m["tail"])]) + _say_as("digits", m["tail"])
    return _say_as("digits", m["code"])


def ssml(text: str) -> str:
    """`<speak>…</speak>` of a voice text (see the module's docstring)."""
    out: list[str] = []
    start = 0
    for match in _SAY_AS.finditer(text):
        out.append(escape(text[start : match.start()]))
        out.append(_markup(match))
        start = match.end()
    out.append(escape(text[start:]))
    return "<speak>" + "".join(out) + "</speak>"
