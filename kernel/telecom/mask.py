"""Masking personal data for display and logs, and making customer text safe to store.

mask.phone('13800138000') → '138****8000', mask.id_number(…) → '110***********1234',
mask.name('张三丰') → '张**', mask.text(s) masks every phone or ID number inside free text.
"""

from __future__ import annotations

import html
import re
import unicodedata

from telecom.numbers import normalise_digits

__all__ = ["escape_text", "id_number", "name", "phone", "strip_controls", "text"]

DEFAULT_MAX_LENGTH = 2000


def phone(value: str | None) -> str:
    """'13800138000' → '138****8000'; shorter or odd values keep at most their last 4."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", normalise_digits(str(value)))
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def id_number(value: str | None) -> str:
    """'110101199003071234' → '110***********1234'."""
    if not value:
        return ""
    value = str(value).strip().upper()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def name(value: str | None) -> str:
    """'张三丰' → '张**', '张三' → '张*', 'Alice' → 'A****'."""
    if not value:
        return ""
    value = str(value).strip()
    if len(value) <= 1:
        return "*"
    return value[0] + "*" * (len(value) - 1)


# The shadow string has ASCII digits where the text has any digit (full-width, spoken Chinese),
# and the same length, so spans found in it are spans in the original.
# Between digits, any run of the separators the parsers skip (telecom/numbers.py, _SEP_LOOSE):
# whatever the assistant reads as one number is masked as one.
_SEP_CHARS = r" \t\u3000\-‐‑–—_.·/()（）,，、"
_SEP = rf"[{_SEP_CHARS}]*"
_X = "Xx叉×"  # an ID card's check character as typed or said
_ID_IN_SHADOW = re.compile(rf"(?<![0-9])[1-9](?:{_SEP}[0-9]){{16}}{_SEP}[0-9{_X}](?![0-9Xx])")
_PHONE_IN_SHADOW = re.compile(
    rf"(?<![0-9])(?:(?:\+|00)?86{_SEP})?1{_SEP}[3-9](?:{_SEP}[0-9]){{9}}(?![0-9])"
)
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9]{12,}(?![0-9])")  # bank cards and the like


# Six on their own (the last may be X), also spaced ('151 238'): what customers type as the ID
# card's last six during verification; not part of a longer number, so ticket numbers
# (T20261123-000123) and dates are left readable.
_ID_LAST6_IN_SHADOW = re.compile(
    rf"(?<![0-9A-Za-z*\-])(?<![0-9][{_SEP_CHARS}])"
    rf"[0-9](?:{_SEP}[0-9]){{4}}{_SEP}[0-9{_X}](?![0-9A-Za-z])(?!{_SEP}[0-9])"
)


def text(value: str | None) -> str:
    """`value` with every phone number, ID-card number and long digit run masked."""
    if not value:
        return ""
    value = str(value)
    out = list(value)
    shadow = list(normalise_digits(value))

    def blank(start: int, end: int, keep_head: int, keep_tail: int) -> None:
        positions = [i for i in range(start, end) if shadow[i].isalnum()]
        for i in positions[keep_head : len(positions) - keep_tail]:
            out[i] = shadow[i] = "*"

    for match in _ID_IN_SHADOW.finditer("".join(shadow)):
        blank(match.start(), match.end(), 3, 4)
    for match in _PHONE_IN_SHADOW.finditer("".join(shadow)):
        digits = [i for i in range(match.start(), match.end()) if shadow[i].isdigit()]
        blank(digits[-11], match.end(), 3, 4)  # keep a +86 prefix readable, mask the number
    for match in _LONG_DIGITS.finditer("".join(shadow)):
        blank(match.start(), match.end(), 0, 4)
    for match in _ID_LAST6_IN_SHADOW.finditer("".join(shadow)):
        blank(match.start(), match.end(), 0, 0)
    return "".join(out)


# Control and format characters (C0/C1, bidi overrides, zero-width) except newline and tab;
# the zero-width joiner stays because emoji sequences need it.
_KEEP = {"\n", "\t", "\u200d"}


def strip_controls(value: str) -> str:
    """`value` without control, format (bidi overrides, zero-width), surrogate, private-use and
    unassigned characters; newline, tab and the zero-width joiner (emoji sequences) stay."""
    return "".join(
        ch
        for ch in value
        if ch in _KEEP or (unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    )


def escape_text(value: object, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Customer text made safe to store and show: control characters and lone surrogates removed,
    truncated to `max_length` characters (before escaping, so no entity is cut), HTML-escaped."""
    if value is None:
        return ""
    cleaned = strip_controls(str(value)).strip()
    if len(cleaned) > max_length:
        cleaned = cleaned[:max_length]
    return html.escape(cleaned, quote=True)
