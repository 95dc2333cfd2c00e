"""Gateway settings: ROUTER_* environment variables, built at start-up (never at import)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore")

    # Rasa server; the gateway posts to {rasa_url}/webhooks/rest/webhook
    rasa_url: str = "http://127.0.0.1:5005"
    bot_timeout_s: float = Field(default=30.0, gt=0)
    # longest customer or agent message, in characters
    max_text_chars: int = Field(default=2000, ge=1, le=8000)
    # messages kept per conversation, and replayed at most on a resume
    history_maxlen: int = Field(default=1000, ge=10)
    replay_limit: int = Field(default=200, ge=1)
    # conversations (history, rating) expire this long after their last message
    retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    # how often a waiting customer's queue position is re-checked
    queue_refresh_s: float = Field(default=1.0, gt=0)
    # connections of the gateway's own Redis pool (a burst beyond it waits, up to 10 s)
    redis_max_connections: int = Field(default=512, ge=8)
    # long-poll wait
    poll_timeout_s: float = Field(default=25.0, gt=0, le=120)
