"""The router's payload vocabularies agree with the kernel's."""

from __future__ import annotations

from router.models import Urgency
from telecom import urgency


def test_urgency_is_the_kernels_levels_in_order() -> None:
    assert tuple(Urgency) == urgency.LEVELS
