"""The one Settings object: ROUTER_* environment variables (REDIS_URL also accepted)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from router.models import Urgency


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    log_level: str = "info"
    admin_token: SecretStr | None = None
    service_token: SecretStr | None = None
    # Without it an embedded redis-server is started with its data and AOF in data_dir.
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("redis_url", "ROUTER_REDIS_URL", "REDIS_URL")
    )
    data_dir: Path = Path("var/router")
    key_prefix: str = "router:"

    offer_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_timeout_s: float = Field(default=30.0, gt=0)
    sla_critical_s: float = Field(default=30.0, gt=0)
    sla_high_s: float = Field(default=60.0, gt=0)
    sla_normal_s: float = Field(default=120.0, gt=0)
    sla_low_s: float = Field(default=300.0, gt=0)
    # after this many missed offers in a row the agent is set away (0 = never)
    max_missed_offers: int = Field(default=3, ge=0)
    # a returning customer is offered first to their last agent within this window (0 = off)
    sticky_grace_s: float = Field(default=900.0, ge=0)
    # minimum level required in every skill of a handoff when it arrives
    default_min_level: int = Field(default=1, ge=1, le=5)
    # each time this wait passes, the required level drops by one (0 = never widen)
    widen_after_s: float = Field(default=60.0, ge=0)
    # after this wait any language is accepted (0 = never)
    widen_language_after_s: float = Field(default=0.0, ge=0)
    # an agent who rejected or missed a handoff is not offered it again for this long
    reoffer_delay_s: float = Field(default=10.0, ge=0)
    # candidates a script examines per index or queue (bounds every decision)
    scan_limit: int = Field(default=64, ge=1, le=1000)
    tick_s: float = Field(default=0.25, gt=0)
    tick_batch: int = Field(default=200, ge=1)
    # every sweep_every_s each process offers the heads of every queue again (a safety net)
    sweep_per_queue: int = Field(default=2, ge=0)
    sweep_every_s: float = Field(default=1.0, gt=0)
    retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    events_maxlen: int = Field(default=1_000_000, ge=1000)
    agent_events_maxlen: int = Field(default=1000, ge=10)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    redis_max_connections: int = Field(default=1024, ge=8)
    # the customer gateway and the pages (router/gateway, router/web); off: routing API only
    gateway: bool = True
    # the estimated wait per queue position (router/wait.py) before any handle time of the
    # handoff's skill is measured, or while no available agent holds its skills (the prior)
    estimate_s_per_position: float = Field(default=30.0, ge=0)
    # handle time of a skill: the mean of its first completions, then an exponentially weighted
    # average over about this many; one completion counts at most handle_time_cap_s
    handle_time_window: int = Field(default=20, ge=1, le=10_000)
    handle_time_cap_s: float = Field(default=3600.0, gt=0)

    def sla_s(self, urgency: Urgency) -> float:
        return {
            Urgency.critical: self.sla_critical_s,
            Urgency.high: self.sla_high_s,
            Urgency.normal: self.sla_normal_s,
            Urgency.low: self.sla_low_s,
        }[urgency]

    def engine_config(self) -> dict[str, int]:
        """What the Lua scripts need, in milliseconds."""
        return {
            "offer_ms": round(self.offer_timeout_s * 1000),
            "hb_ms": round(self.heartbeat_timeout_s * 1000),
            "max_misses": self.max_missed_offers,
            "sticky_ms": round(self.sticky_grace_s * 1000),
            "widen_ms": round(self.widen_after_s * 1000),
            "widen_lang_ms": round(self.widen_language_after_s * 1000),
            "retry_ms": round(self.reoffer_delay_s * 1000),
            "scan": self.scan_limit,
            "sweep": self.sweep_per_queue,
            "retention_s": self.retention_s,
            "events_maxlen": self.events_maxlen,
            "agent_events_maxlen": self.agent_events_maxlen,
            "handle_window": self.handle_time_window,
            "handle_cap_ms": round(self.handle_time_cap_s * 1000),
        }
