"""Every Redis key and channel of the gateway, under the router's prefix + "gw:"."""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "gateway"  # consumer group of the gateway on the router's event stream


@dataclass(frozen=True)
class GatewayKeys:
    router_prefix: str

    @property
    def prefix(self) -> str:
        return self.router_prefix + "gw:"

    def conv(self, conversation_id: str) -> str:
        """hash: resume (SHA-256 of the conversation's resume token), channel, created_ms,
        handoff_id, agent_id, agent_name, awaiting, rating, comment…"""
        return f"{self.prefix}conv:{conversation_id}"

    def log(self, conversation_id: str) -> str:
        """stream: every message of the conversation (field m = JSON), the replay source."""
        return f"{self.prefix}log:{conversation_id}"

    def channel(self, conversation_id: str) -> str:
        """pub/sub channel: live messages and transient events (typing, queue) of a conversation."""
        return f"{self.prefix}live:{conversation_id}"

    def limits(self) -> str:
        """prefix of the rate limits' keys (the `limits` library adds ":LIMITER/<rule>/<id>/…":
        a client's pseudonymous key or a conversation id, never an address)."""
        return f"{self.prefix}limits"

    def conversations(self) -> str:
        """zset: conversation id -> time of its last message (ms); `python -m router purge`
        deletes the conversations whose last message is older than the retention."""
        return f"{self.prefix}conversations"

    def ratings(self) -> str:
        """zset: conversation id -> time of its last satisfaction rating (ms)."""
        return f"{self.prefix}ratings"
