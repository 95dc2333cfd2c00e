"""What an agent sees of the customer's words: numbers masked."""

from __future__ import annotations

import pytest

from router.gateway.mask import text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("我的号码13800138000", "我的号码138****8000"),
        ("110105198806151238", "110***********1238"),
        ("151238", "******"),
        ("后六位是15123X", "后六位是******"),
        ("工单T20261123-000123", "工单T20261123-000123"),
        ("话费100元", "话费100元"),
    ],
)
def test_text(raw, masked):
    assert text(raw) == masked
