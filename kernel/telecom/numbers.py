"""Numbers customers type or say: mobile numbers, ID-card numbers, lengths of stay.

Input arrives as free text: digits with spaces or dashes, full-width digits, a +86 or 0086
prefix, or spoken Chinese digits from a voice transcript (幺三八…). Every parser returns the
normalised value or None; none of them raises on odd input.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "cn_number",
    "id_check_digit",
    "is_valid_id_number",
    "normalise_digits",
    "parse_days",
    "parse_id_last6",
    "parse_id_number",
    "parse_phone",
    "parse_quantity",
]

# Spoken digits, one character each, so a translated string keeps its length (mask.py relies on it).
SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "洞": "0",
    "幺": "1", "一": "1", "壹": "1",
    "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "柒": "7", "拐": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9", "勾": "9",
}  # fmt: skip
_FULL_WIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
_DIGIT_TABLE = str.maketrans({**SPOKEN_DIGITS, **_FULL_WIDTH})

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Separators people put inside a number. Commas only in the second, looser pass.
_SEP_STRICT = re.compile(r"(?<=[0-9Xx])[ \t\u3000\-‐‑–—_.·/()（）]+(?=[0-9Xx])")
_SEP_LOOSE = re.compile(r"(?<=[0-9Xx])[ \t\u3000\-‐‑–—_.·/()（）,，、]+(?=[0-9Xx])")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_digits(text: str) -> str:
    """Full-width and spoken Chinese digits to ASCII digits; same length as the input."""
    return text.translate(_DIGIT_TABLE)


_PASSES = ((False, False), (False, True), (True, False), (True, True))  # (spoken, loose)


def _digit_runs(text: str, spoken: bool, loose: bool) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    if spoken:
        text = text.translate(_DIGIT_TABLE)
    text = (_SEP_LOOSE if loose else _SEP_STRICT).sub("", text)
    return re.findall(r"\+?\d+[Xx]?", text)


def parse_phone(text: str | None) -> str | None:
    """The first 11-digit mainland mobile number in `text`, e.g. '13800138000', or None."""
    if not text:
        return None
    for spoken, loose in _PASSES:
        for run in _digit_runs(text, spoken, loose):
            digits = run.lstrip("+")
            if not digits.isdigit():
                continue
            for prefix in ("0086", "86"):
                if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
                    digits = digits[len(prefix) :]
                    break
            if _MOBILE.match(digits):
                return digits
    return None


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character ('0'-'9' or 'X') for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    """True for an 18-character ID number whose check character is right (upper-case X)."""
    return (
        len(value) == 18
        and value[:17].isdigit()
        and value[0] != "0"
        and id_check_digit(value[:17]) == value[17]
    )


def _id_candidates(text: str) -> list[str]:
    text = text.replace("叉", "X").replace("×", "X")
    found = []
    for spoken, loose in _PASSES:
        for run in _digit_runs(text, spoken, loose):
            found.append(run.lstrip("+").upper())
    return found


def parse_id_number(text: str | None) -> str | None:
    """The first ID-card number in `text` with a valid check digit (x → X), or None."""
    if not text:
        return None
    for run in _id_candidates(text):
        if len(run) == 18 and is_valid_id_number(run):
            return run
    return None


def parse_id_last6(text: str | None) -> str | None:
    """The last six characters of an ID card: from a full valid ID, or a lone 6-character run."""
    if not text:
        return None
    full = parse_id_number(text)
    if full:
        return full[-6:]
    for run in _id_candidates(text):
        if len(run) == 6 and run[:5].isdigit() and (run[5].isdigit() or run[5] == "X"):
            return run
    return None


# ---------------------------------------------------------------- Chinese numerals and durations

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_MYRIAD = "万"


def cn_number(text: str) -> int | None:
    """Chinese numerals (or ASCII digits) → int; None when `text` is not one number.

    '7' 7, '十五' 15, '二十一' 21, '一百零五' 105, '两万三千' 23000. A digit after 百, 千 or 万
    counts in the next lower unit, as people say amounts: '一百五' 150, '三千二' 3200, '一万二'
    12000 ('三千零二' 3002). A string of digits reads digit by digit ('二〇二六' 2026), except two
    neighbours, which say a range and give its upper bound: '两三' 3, '一两' 2.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(c in _CN_DIGIT for c in text):
        if len(text) == 2 and _CN_DIGIT[text[1]] == _CN_DIGIT[text[0]] + 1:
            return _CN_DIGIT[text[1]]  # 两三天 → 3, 一两周 → 2
        if len(text) == 1:
            return _CN_DIGIT[text]
        return int("".join(str(_CN_DIGIT[c]) for c in text))
    total, section, digit, last_unit, zero = 0, 0, None, 1, False
    for char in text:
        if char in _CN_DIGIT:
            digit = _CN_DIGIT[char]
            zero = zero or digit == 0
        elif char in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[char]
            digit, last_unit, zero = None, _CN_UNIT[char], False
        elif char == _MYRIAD:
            total += (section + (digit or 0) or 1) * 10000
            section, digit, last_unit, zero = 0, None, 10000, False
        else:
            return None
    if digit is not None:
        section += digit * (last_unit // 10 if last_unit >= 100 and not zero else 1)
    return total + section


_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)([十百千万]?)")
_UNIT_VALUE = {**_CN_UNIT, _MYRIAD: 10000}


def parse_quantity(text: str) -> float | None:
    """A number as customers write amounts: '1500', '12.5', '2千', '1.5万', or Chinese numerals
    (`cn_number`: '三千二' 3200.0). None when `text` is not one number."""
    text = unicodedata.normalize("NFKC", text).strip()
    match = _QUANTITY.fullmatch(text)
    if match:
        return float(match.group(1)) * _UNIT_VALUE.get(match.group(2), 1)
    value = cn_number(text)
    return None if value is None else float(value)


_NUM = r"\d+|[零〇一二两俩三四五六七八九十百]+"
_RANGE = re.compile(
    rf"(?:{_NUM})\s*(?:-|~|～|到|至)\s*(?P<n>{_NUM})\s*(?:个)?\s*(?P<unit>天|日|周|星期|礼拜)"
)
_HALF = re.compile(r"半\s*个?\s*(?P<unit>月|年|周|星期|礼拜)")
_SPAN = re.compile(
    rf"(?P<n>{_NUM})\s*(?:多|来)?\s*(?:(?P<ge>个)\s*(?P<half1>半)?\s*)?(?:多)?"
    r"(?P<unit>天|日|晚|夜|周|星期|礼拜|月|年)(?P<half2>半)?"
)
_UNIT_DAYS = {
    "天": 1,
    "日": 1,
    "晚": 1,
    "夜": 1,
    "周": 7,
    "星期": 7,
    "礼拜": 7,
    "月": 30,
    "年": 365,
}


# Traditional forms of the characters that quantities and dates are written with; customers
# who type Traditional write 兩個禮拜 and 上個月 (the NLU converts whole messages, but actions
# also parse the raw text).
TRADITIONAL_QUANTITY_CHARS = str.maketrans("個兩禮週號萬億貳參陸", "个两礼周号万亿贰参陆")


def parse_days(text: str | None) -> int | None:
    """A length of stay in days: '7天' 7, '两个礼拜' 14, '半个月' 15, '三天两夜' 3, '10天左右' 10.

    Approximate stays take the base number: '二十多天' 20, '十来天' 10, '一个多月' 30.

    A bare '3月' is a month, not a duration, so months need 个 ('3个月'). Nights alone count as
    one day more ('住两晚' → 3). Ranges give the upper bound ('7到10天' → 10).
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).translate(TRADITIONAL_QUANTITY_CHARS)
    ranged = _RANGE.search(text)
    if ranged:
        n = cn_number(ranged.group("n"))
        if n:
            return n * _UNIT_DAYS[ranged.group("unit")]
    nights = 0
    for match in _SPAN.finditer(text):
        unit = match.group("unit")
        if unit == "月" and not match.group("ge"):
            continue  # '3月' is March
        n = cn_number(match.group("n"))
        if not n:
            continue
        days = n * _UNIT_DAYS[unit]
        if match.group("half1") or match.group("half2"):
            days += _UNIT_DAYS[unit] // 2
        if unit in ("晚", "夜"):
            nights = max(nights, n)
            continue
        return days
    half = _HALF.search(text)
    if half:
        return {"月": 15, "年": 182, "周": 4, "星期": 4, "礼拜": 4}[half.group("unit")]
    return nights + 1 if nights else None
