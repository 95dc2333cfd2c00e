"""What a queued customer is told about the wait (kernel/telecom/wait.py): whole minutes, rounded
up, and "under a minute" below sixty seconds."""

from __future__ import annotations

import pytest

from telecom.wait import wait_minutes, wait_text


@pytest.mark.parametrize(
    ("seconds", "minutes", "text"),
    [
        (None, 0, "预计等待不到1分钟"),
        (0, 0, "预计等待不到1分钟"),
        (59.9, 0, "预计等待不到1分钟"),
        (60, 1, "预计等待约1分钟"),
        (61, 2, "预计等待约2分钟"),  # rounded up: never promise less than it will be
        (120, 2, "预计等待约2分钟"),
        (599.5, 10, "预计等待约10分钟"),
    ],
)
def test_wait_in_whole_minutes_rounded_up(seconds, minutes, text):
    assert wait_minutes(seconds) == minutes
    assert type(wait_minutes(seconds)) is int
    assert wait_text(seconds) == text
