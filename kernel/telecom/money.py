"""Money is kept in fen (int). These turn it into what a customer reads, and back."""

from __future__ import annotations

import re
import unicodedata

from telecom.numbers import cn_number

__all__ = ["parse_amount", "yuan"]


def yuan(fen: int) -> str:
    """3850 → '38.50元', -1200 → '-12.00元'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}元"


_AMOUNT = re.compile(
    r"(?P<n>\d+(?:\.\d{1,2})?|[零一二两三四五六七八九十百千万]+)\s*(?P<unit>元|块钱|块|圆|rmb|RMB)"
)


def parse_amount(text: str | None) -> int | None:
    """'200元', '50块', '两百块', '12.5元' → fen; None when no amount with a unit is found."""
    if not text:
        return None
    match = _AMOUNT.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    raw = match.group("n")
    if re.fullmatch(r"\d+(?:\.\d{1,2})?", raw):
        whole, _, cents = raw.partition(".")
        return int(whole) * 100 + int((cents + "00")[:2])
    value = cn_number(raw)
    return None if value is None else value * 100
