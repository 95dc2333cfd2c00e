"""Traditional → Simplified Chinese: the one conversion, without Rasa.

OpenCC's Traditional→Simplified tables (opencc-python-reimplemented, imported at the first call)
plus a few telecom words where the generic table picks a variant our data does not use (帳單 →
帐单 generically, 账单 here). The pipeline's first component (components/traditional.py) runs it
on every message; the triage model (components/triage_model.py) runs it only on text that has not
been through the pipeline.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Variants OpenCC's generic table leaves in a form customers of a mainland operator don't write.
TELECOM_FIXES = {
    "帐单": "账单",
    "帐户": "账户",
    "帐号": "账号",
    "对帐": "对账",
    "转帐": "转账",
}
_FIX_PATTERN = re.compile("|".join(sorted(map(re.escape, TELECOM_FIXES), key=len, reverse=True)))


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Returns `text` in Simplified Chinese; other scripts and ASCII are left as they are."""
    if not text:
        return text
    simplified = _converter().convert(text)
    return _FIX_PATTERN.sub(lambda match: TELECOM_FIXES[match.group(0)], simplified)
