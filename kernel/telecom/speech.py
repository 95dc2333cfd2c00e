"""Speech-style input: a recogniser's transcript made readable for the NLU and the parsers.

A transcript has no punctuation or odd punctuation, hesitations (嗯, 那个…), and numbers as words:
phone and ID digits one by one (幺三八 零零幺三 八零零零, 洞 for 0, 拐 for 7, 勾 for 9, 叉 for an
ID's X), amounts and months in numerals (两百块, 三月份). `normalise` turns a number into digits
only where one is meant, so 一下, 统一, 两三个 or 十分 stay words; given what the assistant just
asked for (`Expect`), it reads the whole answer as that number when that gives a valid one.
Homophone errors (要三八 for 幺三八) are not rewritten here: the n-best chooser (`choose`) prefers
the alternative that fills the expected slot.

Everything works on a "shadow" of the text of the same length (Traditional numeral and filler
characters folded to Simplified, full-width digits to ASCII), so spans found in the shadow are
spans of the original, and what is not a number or a filler comes back exactly as it was said.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from telecom.numbers import (
    SPOKEN_DIGITS,
    TRADITIONAL_QUANTITY_CHARS,
    cn_number,
    parse_id_last6,
    parse_id_number,
    parse_phone,
    parse_quantity,
)

__all__ = [
    "FILLERS",
    "KEEP_WORDS",
    "Alternative",
    "Expect",
    "apply_keypad",
    "choose",
    "normalise",
    "strip_fillers",
]

Expect = Literal["phone", "id_number", "id_last6", "amount", "month", "digits"]

# Hesitations and discourse fillers, longest first. Whether one is a filler where it stands is
# decided by `_is_filler` (那个 before a noun, 就是 as "is", 额 in 额度 are words).
FILLERS: tuple[str, ...] = (
    "怎么说呢",
    "就是说",
    "然后呢",
    "那个",
    "这个",
    "就是",
    "嗯",
    "呃",
    "额",
    "唔",
    "啊",
    "哦",
)

# Words made of numeral characters that are not numbers: no number is read inside them.
KEEP_WORDS: tuple[str, ...] = (
    "一下", "一起", "统一", "一点", "一般", "万一", "十分", "一个", "第一", "三星", "一加",
    "一样", "一直", "一些", "一定", "一会", "唯一", "之一", "一切", "一旦", "一致", "一半",
    "一边", "一遍", "一次", "一共", "一块儿", "千万", "万万", "一一", "三三两两", "七七八八",
    "一五一十", "乱七八糟", "十有八九", "一模一样", "不三不四", "百分百",
)  # fmt: skip

# Same-length folding: Traditional forms of numeral, unit and filler characters, full-width
# digits and X. (The NLU converts whole messages later; here only what the rules read matters.)
_SHADOW = {
    **TRADITIONAL_QUANTITY_CHARS,
    **str.maketrans("塊圓點麼統這說後額幾時條", "块圆点么统这说后额几时条"),
    **{0xFF10 + i: ord(str(i)) for i in range(10)},
    **str.maketrans("ＸｘＧｇＭ", "XxGgM"),
}

_PAUSES = " \t\u3000,，、…‥.~～-—"
_TERMINAL = "。？！?!"
_PRONOUN_START = ("我", "你", "您", "请问", "帮", "麻烦", "就是", "想")

# Digits said one by one. 么 (for 幺) and the telephony words 洞/拐/勾 count only inside a run.
_DIGIT_CHARS = "".join(SPOKEN_DIGITS) + "么0123456789"
_WEAK_DIGITS = "么洞拐勾"
_DIGIT_VALUE = str.maketrans({**SPOKEN_DIGITS, "么": "1"})
_NOT_ONE_BEFORE_ME = "什怎那这多要为干甚"  # 什么, 怎么 …
_SEPARATORS = " \u3000,，、…\\-‐‑–—_·."
_GROUP = re.compile(f"[{_DIGIT_CHARS}]+")
_GAP = re.compile(f"[{_SEPARATORS}]{{1,3}}")
_DIGIT_SLOTS = ("phone", "id_number", "id_last6", "digits")
_X_WORD = re.compile(f"[{_SEPARATORS}]{{0,3}}(?:艾克斯|爱克斯|叉|[Xx×])")

# Chinese numerals with units: each digit before a unit, 零 between, at most one digit at the end
# (一百五, 两万三千, 二十五); or one digit; either with a decimal part (一点五).
_DIG = "一二两三四五六七八九"
_NUMERAL = re.compile(rf"(?:(?:[{_DIG}]?[十百千万]|零)+[{_DIG}]?|[{_DIG}])(?:点[零〇{_DIG}]+)?")
_MONEY = re.compile(r"(?:多|来|几)?(?:块钱|块|元|圆|毛钱|毛|角)")
_YUAN_JIAO = re.compile(rf"块([{_DIG}])毛?")  # 两块五 = 2.5 yuan
_DATA = re.compile(r"(?:多|来|几)?个?(?:GB|G|g|gb|MB|M|兆)")
_NOT_BEFORE = ("第", "星期", "礼拜", "周", "初")
_PERCENT = "百分之"
_CLASSIFIERS = tuple("个月天年块元次张位条")


def _fold(text: str) -> str:
    return text.translate(_SHADOW)


# ------------------------------------------------------------------------------------- fillers

_FILLER_RE = re.compile("(" + "|".join(map(re.escape, FILLERS)) + f")([{re.escape(_PAUSES)}]*)")


def _is_filler(shadow: str, start: int, word: str, pause: str, after_break: bool) -> bool:
    """Whether `word` at `start` (followed by `pause`) is a filler there, given whether it begins
    the text or follows a pause or another filler (`after_break`)."""
    rest = shadow[start + len(word) + len(pause) :]
    at_end = not rest.strip(_PAUSES + _TERMINAL)
    if word in ("嗯", "呃", "唔"):
        return True
    if word == "额":  # 额度, 余额, 额外 are words
        return after_break and rest[:1] not in ("度", "外") and not at_end
    if word in ("啊", "哦"):  # at the end of a sentence a particle: 好啊
        return after_break and not at_end
    if word in ("那个", "这个"):  # before a noun a demonstrative: 那个79的套餐
        if "…" in pause or ".." in pause or "‥" in pause:
            return True
        return after_break and (
            bool(pause) or at_end or rest.startswith(FILLERS) or rest.startswith(_PRONOUN_START)
        )
    if word == "就是":  # 问题就是网速慢: a verb
        return after_break and (bool(pause) or rest.startswith(FILLERS)) and not at_end
    if word == "就是说":  # 也就是说: 'that is'
        return shadow[start - 1 : start] != "也" and not at_end
    return not at_end  # 然后呢, 怎么说呢 (a question when they end the turn)


def strip_fillers(text: str) -> str:
    """`text` without hesitations and fillers; the words themselves stay where they mean
    something ('那个79的套餐', '问题就是网速慢', '余额'). Only fillers said → `text` unchanged."""
    shadow = _fold(text)
    pieces: list[str] = []
    pos = 0
    for match in _FILLER_RE.finditer(shadow):
        word, pause = match.group(1), match.group(2)
        before = shadow[pos : match.start()].rstrip(" \t\u3000")
        after_break = not before or before[-1] in _PAUSES + _TERMINAL
        if not _is_filler(shadow, match.start(), word, pause, after_break):
            continue
        kept = text[pos : match.start()]
        following = shadow[match.end() :]
        if not following or following[0] in _TERMINAL:
            kept = kept.rstrip(_PAUSES)  # '查话费，嗯。' → '查话费。'
        pieces.append(kept)
        pos = match.end()
    if not pieces:
        return text
    pieces.append(text[pos:])
    result = "".join(pieces).strip()
    if not any(ch.isalnum() for ch in result):
        return text  # '嗯' alone is an answer (yes), not a filler
    return result


# ------------------------------------------------------------------------------------- numbers


@dataclass
class _Reading:
    """The numbers found in one text: replacements, and which positions they or kept words
    cover. `shadow` is the folded text (same length), `text` the text as said."""

    text: str
    shadow: str
    expect: Expect | None
    spans: list[tuple[int, int, str, str]]  # start, end, digits, kind ('run' | 'tail' | 'unit')
    taken: list[bool]
    keep: list[tuple[int, int]]

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def kept(self, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.keep)

    def add(self, start: int, end: int, digits: str, kind: str) -> None:
        self.spans.append((start, end, digits, kind))
        for i in range(start, end):
            self.taken[i] = True


def _keep_spans(shadow: str, expect: Expect | None) -> list[tuple[int, int]]:
    spans = []
    for word in KEEP_WORDS:
        for match in re.finditer(re.escape(word), shadow):
            if expect == "month" and word == "一个" and shadow.startswith("月", match.end()):
                continue  # 一个月 answers 'how many months'
            spans.append((match.start(), match.end()))
    return spans


def _digits_before(shadow: str, start: int) -> int:
    """How many digit characters (said one by one) come right before `start`."""
    count = start
    while count > 0 and shadow[count - 1] in _DIGIT_CHARS:
        if shadow[count - 1] == "么" and shadow[count - 2 : count - 1] in tuple(_NOT_ONE_BEFORE_ME):
            break
        count -= 1
    return start - count


def _digit_at(shadow: str, index: int) -> bool:
    return index < len(shadow) and shadow[index] in _DIGIT_CHARS


def _is_range(said: str) -> bool:
    """Two neighbouring digits said together: 两三, 一两, 三四 — a range, not a number."""
    if len(said) != 2 or not all(ch in _DIG for ch in said):
        return False
    first, second = cn_number(said[0]), cn_number(said[1])
    return first is not None and second == first + 1


def _unit_after(shadow: str, start: int, end: int) -> str | None:
    """The kind of unit word right after a numeral: money, data, month, months, day; or None."""
    rest = shadow[end:]
    if _MONEY.match(rest):
        return "money"
    if _DATA.match(rest):
        return "data"
    if rest.startswith("月"):
        return "month"
    if rest.startswith("个月"):
        return "months"
    if rest.startswith("号") or (rest.startswith("日") and shadow[:start].endswith("月")):
        return "day"
    return None


def _numerals(reading: _Reading) -> None:
    """Numerals meant as numbers: amounts, data volumes, months, days, percentages, numerals
    with units (一百五); with `expect`, bare ones too."""
    shadow, expect = reading.shadow, reading.expect
    for match in _NUMERAL.finditer(shadow):
        start, end = match.start(), match.end()
        while start < end and shadow[start] in "零百千万":
            start += 1  # 零 before a number is a digit said alone; 千万, 百分之 start no number
        token = shadow[start:end]
        prefix = shadow[:start]
        if not token or reading.kept(start, end) or prefix.endswith(_NOT_BEFORE):
            continue
        if not reading.free(start, end):
            continue  # the 五 of 两块五, read with its 两
        integer, _, fraction = token.partition("点")
        if any(a in _DIG and b in _DIG for a, b in itertools.pairwise(integer)):
            continue  # 两三百: a range
        before = _digits_before(shadow, start)
        if any(u in integer for u in "十百千万"):
            if 0 < before < 3:
                continue  # 一五一十; after a run (幺三八零零幺三 八千) a phone's tail
        elif before or _digit_at(shadow, end) or expect in _DIGIT_SLOTS:
            continue  # one digit of a run (a slot of digits reads them as runs)
        value = cn_number(integer)
        if value is None:
            continue
        digits = str(value)
        if fraction:
            digits += "." + fraction.translate(_DIGIT_VALUE)
        unit = _unit_after(shadow, start, end)
        if prefix.endswith(_PERCENT) and unit is None:
            reading.add(start - len(_PERCENT), end, digits + "%", "unit")
        elif unit == "money":
            jiao = _YUAN_JIAO.match(shadow, end)
            if (
                token == "一"
                and shadow.startswith("块", end)
                and not (shadow.startswith("块钱", end) or jiao)
            ):
                continue  # 一块 (儿) = together
            if jiao and not fraction and not _digit_at(shadow, jiao.end()):
                cents = jiao.group(1).translate(_DIGIT_VALUE)
                reading.add(start, jiao.end(), f"{digits}.{cents}块", "unit")
            else:
                reading.add(start, end, digits, "unit")
        elif unit == "data":
            reading.add(start, end, digits, "unit")
        elif unit in ("month", "day"):
            if not fraction and 1 <= value <= (12 if unit == "month" else 31) and token[0] != "两":
                reading.add(start, end, digits, "unit")
        elif unit == "months":
            if expect == "month":  # otherwise a duration the dialogue did not ask for
                reading.add(start, end, digits, "unit")
        elif expect is not None:
            if shadow[end : end + 1] != "个" or expect in ("amount", "month"):
                reading.add(start, end, digits, "tail")
        elif (
            integer != "十"
            and any(u in integer for u in "十百千万")
            and shadow[end : end + 1] not in ("个", "分")
        ):
            reading.add(start, end, digits, "tail")  # 一百五, 二十八; not 十 (十足), 一百个


def _runs(reading: _Reading, min_digits: int) -> None:
    """Digits said one by one, in groups with pauses between (幺三八 零零幺三 八零零零), with an
    ID's X at the end (…叉)."""
    shadow, expect = reading.shadow, reading.expect
    groups: list[tuple[int, int]] = []
    for match in _GROUP.finditer(shadow):
        start, end = match.start(), match.end()
        while (
            start < end
            and shadow[start] == "么"
            and (start > 0 and shadow[start - 1] in _NOT_ONE_BEFORE_ME)
        ):
            start += 1  # 什么, 怎么
        while start < end and not reading.free(start, start + 1):
            start += 1
        stop = start
        while stop < end and reading.free(stop, stop + 1):
            stop += 1
        if stop - start == 1 and shadow[start] in _WEAK_DIGITS:
            continue  # 拐弯, 打勾, 什么
        if start < stop:
            groups.append((start, stop))
    chains: list[list[tuple[int, int]]] = []
    for start, end in groups:
        if chains and _GAP.fullmatch(shadow, chains[-1][-1][1], start):
            follower = shadow[end : end + 1]
            if (
                end - start >= 2
                or shadow[start] in _WEAK_DIGITS + "幺0123456789"
                or not "\u4e00" <= follower <= "\u9fff"
            ):
                chains[-1].append((start, end))  # a group after a pause: not 两个, 一下
                continue
        chains.append([(start, end)])
    for chain in chains:
        start, end = chain[0][0], chain[-1][1]
        if end - start > 3 and shadow[end : end + 1] in _CLASSIFIERS and shadow[end - 1] in "一两":
            chain[-1] = (chain[-1][0], end - 1)  # …八零零零两个月前: 两 counts the months
            end -= 1
        said = "".join(shadow[a:b] for a, b in chain)
        digits = said.translate(_DIGIT_VALUE)
        x_match = _X_WORD.match(shadow, end)
        if x_match and (len(digits) in (5, 17) or expect in ("id_number", "id_last6")):
            digits, end = digits + "X", x_match.end()
        if reading.kept(start, end) or shadow[:start].endswith(_NOT_BEFORE):
            continue
        follower = shadow[end : end + 1]
        if len(chain) == 1 and _is_range(said) and "\u4e00" <= follower <= "\u9fff":
            continue  # 两三个
        if all(ch in "0123456789" for ch in reading.text[start:end] if ch not in _SEPARATORS):
            # typed, or recognised as digits already: only groups of a phone or ID are joined
            if len(chain) == 1 or (len(digits) not in (11, 13, 18) and expect not in _DIGIT_SLOTS):
                continue
        elif len(digits.rstrip("X")) < min_digits:
            continue
        reading.add(start, end, digits, "run")


def _apply(reading: _Reading) -> str:
    merged: list[tuple[int, int, str, str]] = []
    for span in sorted(reading.spans):
        if merged and merged[-1][3] == "run" and span[3] == "tail":
            start, end, digits, _ = merged[-1]
            if reading.shadow[end : span[0]] in ("", " "):
                merged[-1] = (start, span[1], digits + span[2], "run")  # 幺三八零零幺三 八千
                continue
        merged.append(span)
    out, pos = [], 0
    for start, end, digits, _ in merged:
        out += [reading.text[pos:start], digits]
        pos = end
    out.append(reading.text[pos:])
    return "".join(out)


def _read(text: str, expect: Expect | None, min_digits: int) -> str:
    shadow = _fold(text)
    keep = _keep_spans(shadow, expect)
    reading = _Reading(text, shadow, expect, [], [False] * len(shadow), keep)
    _numerals(reading)
    _runs(reading, min_digits)
    return _apply(reading)


_NUMBER_IN = re.compile(r"\d+(?:\.\d+)?")


def _month_ok(text: str) -> bool:
    return any(1 <= int(float(n)) <= 36 for n in _NUMBER_IN.findall(text))


def _amount_ok(text: str) -> bool:
    return any((parse_quantity(n) or 0) > 0 for n in _NUMBER_IN.findall(text))


_VALID: dict[str, Callable[[str], bool]] = {
    "phone": lambda t: parse_phone(t) is not None,
    "id_number": lambda t: parse_id_number(t) is not None,
    "id_last6": lambda t: parse_id_last6(t) is not None,
    "amount": _amount_ok,
    "month": _month_ok,
    "digits": lambda t: bool(re.search(r"\d", t)),
}


# A self-correction between two numbers: "幺三七…八八 不是 是幺三七…八九" means the second one.
# 不是 alone is often contrast ("是A不是B": A, not B), so it counts only when a 是 follows it
# or it stands between pauses; the other markers are said only to take a number back.
_CORRECTING = ("我说错了", "说错了", "不对", "错了")
_CORRECTION_PAUSES = f"[{re.escape(_PAUSES)}。]*"
_CORRECTION = re.compile(
    rf"(?<![\d.])\d{{3,}}X?(?P<gap>{_CORRECTION_PAUSES}"
    rf"(?:(?:{'|'.join(_CORRECTING)}|不是){_CORRECTION_PAUSES})+)"
    rf"(?P<is>应该是|是)?{_CORRECTION_PAUSES}(?=\d{{3}})"
)


def _corrected(text: str) -> str:
    """`text` with a number taken back ("…八八 不对 …八九", "…八八 说错了 是…八九") replaced
    by the one that corrects it; the words before the first number stay. Partial corrections
    ("最后一位是九") are not read."""

    def replace(match: re.Match[str]) -> str:
        gap, pauses = match.group("gap"), _PAUSES + "。"
        only_contrast = not any(word in gap for word in _CORRECTING)  # 不是 alone
        between_pauses = gap[:1] in tuple(pauses) and gap[-1:] in tuple(pauses)
        if only_contrast and not (match.group("is") or between_pauses):
            return match.group(0)  # "是A不是B": A, not B
        return ""

    return _CORRECTION.sub(replace, text)


def normalise(text: str, expect: Expect | None = None) -> str:
    """`text` without fillers, with spoken numbers as digits where a number is meant.

    Without `expect`: runs of three or more digits said one by one (幺三八零零幺三八零零零 →
    13800138000, pauses and groups joined, an ID's 叉 → X), amounts (两百块 → 200块, 两块五 →
    2.5块), data (二十个G → 20个G), months (三月份 → 3月份), days (十五号 → 15号) and numerals
    with units (一百五 → 150). Words stay: 一下, 统一, 两三个, 一个月, 十分, 万一, 第一, 三星.
    With `expect` (the slot the assistant asked for), every number in the answer is read as that
    kind — one digit too (一 → 1) — when the reading fills the slot validly; otherwise the
    answer is read as without `expect`. A number taken back keeps only its correction
    (幺三七…八八 不是 是幺三七…八九 → 137…89; markers 不对, 说错了, 错了, 不是 before 是).
    """
    cleaned = strip_fillers(text)
    if expect is not None:
        # longer runs first, so 后六位是一二三四五六 keeps its 六位; then every digit (一 → 1)
        for min_digits in (3, 1):
            reading = _corrected(_read(cleaned, expect, min_digits))
            if _VALID[expect](reading):
                return reading
    return _corrected(_read(cleaned, None, 3))


# ------------------------------------------------------------------------------ n-best and DTMF


@dataclass(frozen=True)
class Alternative:
    """One of a recogniser's n-best hypotheses; `confidence` is its speech confidence, 0..1."""

    text: str
    confidence: float


def _unit(value: float) -> float:
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def choose(scored: Sequence[tuple[float, float, bool | None]]) -> int:
    """Index of the best n-best alternative, each given as (speech confidence, intent
    confidence, slot validity: True fills the expected slot validly, False does not, None when
    no slot is expected).

    An alternative that fills the slot beats one that fails it whatever the confidences (the
    recogniser's 要三八… loses to 幺三八…); among equals the product speech × intent decides,
    and on a tie the recogniser's order (the lower index). Confidences are clamped to 0..1.
    """
    if not scored:
        raise ValueError("no alternatives to choose from")

    def key(index: int) -> tuple[bool, float, int]:
        speech, intent, valid = scored[index]
        return (valid is not False, _unit(speech) * _unit(intent), -index)

    return max(range(len(scored)), key=key)


def apply_keypad(digits: str) -> str:
    """DTMF keys as the caller typed them: `*` deletes the key before it, `#` ends (the rest is
    ignored), every other key is kept."""
    typed: list[str] = []
    for key in digits:
        if key == "#":
            break
        if key == "*":
            if typed:
                typed.pop()
            continue
        typed.append(key)
    return "".join(typed)
