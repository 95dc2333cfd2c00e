"""A scripted assistant for the gateway tests: answers at once, hands off like the action server."""

from __future__ import annotations

import json
from typing import Any

import httpx

from router.gateway.bot import BotReply
from router.gateway.models import Button


class ScriptedBot:
    """'人工' → POST /v1/handoffs (as actions/handoff.py does); '余额' → a balance with buttons;
    '元数据' → the metadata it got, as JSON (what reached the assistant); anything else is
    echoed. Remembers every call as (conversation id, message, channel, metadata)."""

    def __init__(self, router_url: str, service_token: str) -> None:
        self.router_url = router_url
        self.service_token = service_token
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    async def urgency(self, text: str) -> str | None:
        """Like the assistant's urgency on a few words: 救命 critical, 急 high."""
        if "救命" in text:
            return "critical"
        return "high" if "急" in text else None

    async def parse(self, text: str) -> None:
        """No NLU here: the voice channel then ranks alternatives by speech alone."""
        del text

    async def send(
        self,
        conversation_id: str,
        message: str,
        channel: str,
        metadata: dict[str, Any],
        *,
        message_id: str,
    ) -> list[BotReply]:
        self.calls.append((conversation_id, message, channel, metadata))
        if "人工" in message:
            async with httpx.AsyncClient(base_url=self.router_url) as client:
                response = await client.post(
                    "/v1/handoffs",
                    headers={"Authorization": f"Bearer {self.service_token}"},
                    json={
                        "conversation_id": conversation_id,
                        "channel": channel,
                        "intent": "query_balance",
                        "skills": ["billing"],
                        "customer": {"id": "c-test", "tier": "gold"},
                        "summary": "客户诉求：查询话费余额\n客户：138****8000，金卡客户，已验证",
                        "transcript": [{"role": "customer", "text": "查余额"}],
                    },
                )
                response.raise_for_status()
            return [BotReply("好的，正在为您转接人工客服。")]
        if "元数据" in message:
            return [BotReply(json.dumps(metadata, sort_keys=True))]
        if "余额" in message:
            return [
                BotReply(
                    "您的话费余额为 58.20 元。还需要什么帮助？",
                    [
                        Button(title="查流量", payload="/query_data_usage"),
                        Button(title="转人工", payload="/request_human 人工"),
                    ],
                )
            ]
        return [BotReply(f"您说的是：{message}")]

    async def aclose(self) -> None:
        pass
