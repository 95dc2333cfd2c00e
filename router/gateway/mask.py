"""Masking phone and ID-card numbers in free text before an agent or a log sees it."""

from __future__ import annotations

import re

_SEP = r"[ \-]?"
_ID = re.compile(
    rf"(?<![0-9])([1-9][0-9]{{2}})(?:{_SEP}[0-9]){{11}}{_SEP}([0-9]{{3}}[0-9Xx])(?![0-9Xx])"
)
_PHONE = re.compile(
    rf"(?<![0-9])(?:(?:\+|00)?86{_SEP})?(1[3-9][0-9]){_SEP}[0-9]{{4}}{_SEP}([0-9]{{4}})(?![0-9])"
)
_LONG = re.compile(r"(?<![0-9])[0-9]{12,}(?![0-9])")
# six on their own (the last may be X): the ID card's last six typed during verification;
# ticket numbers (T20261123-000123) stay readable
_ID_LAST6 = re.compile(r"(?<![0-9A-Za-z*\-])[0-9]{5}[0-9Xx](?![0-9A-Za-z])")


def text(value: str) -> str:
    """'我的号码13800138000' → '我的号码138****8000'; ID numbers → '110***********1234';
    a bare '151238' (ID last six) → '******'."""
    value = _ID.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), value)
    value = _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), value)
    value = _LONG.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], value)
    return _ID_LAST6.sub("******", value)
