"""The gateway's part of the router's one Settings object (router/settings.py): `settings.gateway`,
read from ROUTER_GATEWAY__<FIELD> (e.g. ROUTER_GATEWAY__RASA_URL), built with it at start-up.

Its secrets (ROUTER_RASA_TOKEN, ROUTER_PSEUDONYM_SECRET) and the retention of conversation text
(ROUTER_RETENTION_S) are the router's settings: every secret is checked in one place, and one
retention applies to a conversation's messages and its handoff alike.
"""

from __future__ import annotations

from limits import parse_many
from pydantic import BaseModel, Field, field_validator

from router.gateway.edge import Network, origin_of, parse_networks
from router.gateway.instances import parse_urls
from router.models import Skill


class GatewaySettings(BaseModel):
    # the customer gateway and the pages (router/gateway, router/web); off: routing API only
    enabled: bool = True
    # the assistant's Rasa instances: one URL or a comma-separated list; the gateway posts to
    # {instance}/webhooks/gateway/webhook, each conversation to its own instance while that one
    # answers (router/gateway/instances.py)
    rasa_url: str = "http://127.0.0.1:5005"
    # one attempt of a turn on one instance; keep it above Rasa's lock lifetime
    # (TICKET_LOCK_LIFETIME, 15 s) plus a turn: a turn retried on another instance may wait for
    # the lock a killed instance held
    bot_timeout_s: float = Field(default=30.0, gt=0)
    # an instance that failed an attempt (no answer, a timeout, a 5xx) is skipped this long, then
    # one request probes it
    bot_cooldown_s: float = Field(default=5.0, gt=0)
    # longest customer or agent message, in characters
    max_text_chars: int = Field(default=2000, ge=1, le=8000)
    # messages kept per conversation, and replayed at most on a resume
    history_maxlen: int = Field(default=1000, ge=10)
    # entries kept in the archive's feed (gw:archive) for a consumer that is behind or down;
    # past it `python -m archive backfill` re-reads the logs still in Redis
    archive_maxlen: int = Field(default=1_000_000, ge=1000)
    replay_limit: int = Field(default=200, ge=1)
    # how often a waiting customer's queue position is re-checked
    queue_refresh_s: float = Field(default=1.0, gt=0)
    # connections of the gateway's own Redis pool (blocking reads, pub/sub, its own hashes; a
    # burst beyond it waits, up to ROUTER_REDIS_TIMEOUT_S); the router's pool is sized apart
    redis_max_connections: int = Field(default=512, ge=8)
    # long-poll wait
    poll_timeout_s: float = Field(default=25.0, gt=0, le=120)
    # the skill of a handoff the gateway makes itself when the assistant is down (the
    # assistant's own default skill, actions/handoff.py DEFAULT_SKILL)
    fallback_skill: Skill = "billing"

    # -- the customer edge (router/gateway/edge.py, router/gateway/customer.py) ----------------
    # proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client;
    # empty: the TCP peer is the client
    trusted_proxies: str = ""
    # origins (comma-separated) whose pages may open /v1/chat/ws besides the router's own; the
    # widget's frame is served by the router, so embedding it needs none of these
    chat_allowed_origins: str = ""
    # origins (comma-separated) whose pages may embed the widget's frame (/widget/frame);
    # empty: only the router's own pages (the demo)
    widget_embed_origins: str = ""
    # rate limits (the `limits` library's notation, e.g. "30/minute;500/hour"), on the shared Redis
    rate_conversations: str = "60/minute"  # new conversations per client address
    rate_messages: str = "300/minute"  # customer messages per client address
    rate_conversation_messages: str = "30/minute"  # customer messages per conversation
    # concurrent long-polls, SSE streams and sockets per client address, in this process
    max_streams_per_client: int = Field(default=32, ge=1)
    # concurrent long-polls in this process, whoever holds them: each holds a connection of the
    # gateway's Redis pool while it waits, so they stay well below redis_max_connections
    max_long_polls: int = Field(default=256, ge=1)
    # largest customer request body (a message with its metadata), bytes
    customer_max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    # a socket that has not sent its resume frame within this is closed
    resume_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator(
        "rate_conversations", "rate_messages", "rate_conversation_messages", mode="after"
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_many(value)  # ValueError on a bad rate: refuse to start
        return value

    @field_validator("rasa_url", mode="after")
    @classmethod
    def _rasa_urls(cls, value: str) -> str:
        parse_urls(value)  # ValueError on a bad URL: refuse to start
        return value

    @field_validator("chat_allowed_origins", "widget_embed_origins", mode="after")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            if origin_of(origin) is None:
                raise ValueError("not an origin (scheme://host[:port])")
        return value

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value.split(","))
        return value

    def proxies(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies.split(","))

    def allowed_origins(self) -> list[str]:
        return _origins(self.chat_allowed_origins)

    def embed_origins(self) -> list[str]:
        return _origins(self.widget_embed_origins)


def _origins(value: str) -> list[str]:
    return [origin for o in value.split(",") if (origin := origin_of(o)) is not None]
