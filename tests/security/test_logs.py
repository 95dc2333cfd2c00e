"""Attack: read the logs. Whoever reads the services' logs (an operator's log pipeline, a
support engineer) must find no credential and no personal data there: not a conversation id
(once it was the only credential), not a resume token, not a secret, not a number as typed.
"""

from __future__ import annotations

import time

import httpx

from tests.security.conftest import Stack, open_conversation

PHONE = "13800138000"
TYPED = ["我的号码是13800138000", "１３８００１３８０００", "幺三八零零一三八零零零", "151 238"]


def test_logs_hold_no_conversation_credentials_secrets_or_numbers(
    stack: Stack, http: httpx.Client
) -> None:
    customer = open_conversation(http)
    customer.say("查话费")
    customer.say("你好", metadata={"login": {"phone": PHONE}})  # malformed: dropped, and logged
    for text in TYPED:
        customer.say(text)
    time.sleep(1.0)  # let the services flush their log lines
    logs = stack.logs()
    assert logs, "the services wrote no logs at all"
    assert customer.conversation_id not in logs
    assert customer.resume_token not in logs
    for name, value in stack.secrets.items():
        assert value not in logs, f"{name} is in the logs"
    for raw in (PHONE, "１３８００１３８０００", "幺三八零零一三八零零零", "151238", "151 238"):
        assert raw not in logs, f"{raw!r} is in the logs unmasked"
