"""The one Settings object of a router process: ROUTER_* environment variables (REDIS_URL also
accepted); the gateway's part nested in it as `settings.gateway` (ROUTER_GATEWAY__<FIELD>)."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from archive.settings import DEFAULT_DATABASE
from router.gateway.settings import GatewaySettings
from router.models import Urgency
from telecom.secrets import check_secret, new_secret, problem
from telecom.urgency import ANSWER_TARGET_S

log = logging.getLogger(__name__)

# The secrets every router process checks at start-up (telecom/secrets.py's rule); the gateway's
# only when the gateway is mounted.
ROUTING_SECRETS = ("admin_token", "service_token")
GATEWAY_SECRETS = ("rasa_token", "pseudonym_secret")
# the voice gateway's (router/gateway/voice): optional, checked only when set; without
# voice_token the voice routes answer 404 (the voice channel is off)
VOICE_SECRETS = ("voice_token", "voice_jambonz_secret")
# the ticket service's (router/tickets): checked when ROUTER_TICKETS_URL is set
TICKETS_SECRETS = ("tickets_token",)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ROUTER_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,  # a bad value may hold a secret: never echo it
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    log_level: str = "info"
    # secrets: none has a default; check_secrets() refuses missing, short or published ones
    admin_token: SecretStr | None = None
    service_token: SecretStr | None = None
    # the gateway's Rasa channel and Rasa's --auth-token (= the assistant's ASSISTANT_RASA_TOKEN)
    rasa_token: SecretStr | None = None
    # HMAC key of the pseudonymous `client` key the gateway makes of a client address
    pseudonym_secret: SecretStr | None = None
    # the voice gateway's bearer token (ROUTER_VOICE_TOKEN; Jambonz: the HTTP basic password);
    # unset: the voice channel is off
    voice_token: SecretStr | None = None
    # Jambonz's webhook signing secret (ROUTER_VOICE_JAMBONZ_SECRET): when set, every Jambonz
    # hook must carry a valid Jambonz-Signature too
    voice_jambonz_secret: SecretStr | None = None
    # /metrics without the admin token also with this one (a Prometheus scraper's); optional
    metrics_token: SecretStr | None = None
    # true: bad secrets are accepted with one warning line instead of refusing to start
    demo_mode: bool = False
    # /docs and /openapi.json for anyone (else 404; /openapi.json still for the admin token)
    public_docs: bool = False
    # /metrics for anyone (else the admin or the metrics token)
    public_metrics: bool = False
    # Without it an embedded redis-server is started with its data and AOF in data_dir.
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("redis_url", "ROUTER_REDIS_URL", "REDIS_URL")
    )
    data_dir: Path = Path("var/router")
    key_prefix: str = "router:"

    offer_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_timeout_s: float = Field(default=30.0, gt=0)
    sla_critical_s: float = Field(default=ANSWER_TARGET_S["critical"], gt=0)
    sla_high_s: float = Field(default=ANSWER_TARGET_S["high"], gt=0)
    sla_normal_s: float = Field(default=ANSWER_TARGET_S["normal"], gt=0)
    sla_low_s: float = Field(default=ANSWER_TARGET_S["low"], gt=0)
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
    # conversation text expires this long after its last use: the gateway's conversations (log,
    # rating) after their last message, handoffs (summary, transcript) after they end
    retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    events_maxlen: int = Field(default=1_000_000, ge=1000)
    agent_events_maxlen: int = Field(default=1000, ge=10)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # connections of the router's Redis pool (the engine's scripts, agents' event streams); the
    # gateway's own pool is gateway.redis_max_connections
    redis_max_connections: int = Field(default=1024, ge=8)
    # every Redis call: connecting, and waiting for a reply (a hung Redis is a 503 after this);
    # blocking reads (agent events, long polls) block at most redis_block_s() per call
    redis_connect_timeout_s: float = Field(default=2.0, gt=0)
    redis_timeout_s: float = Field(default=5.0, ge=1)
    # who read which conversation or customer record (router/audit.py), kept this long
    audit_retention_s: int = Field(default=180 * 24 * 3600, ge=3600)
    # the estimated wait per queue position (router/wait.py) before any handle time of the
    # handoff's skill is measured, or while no available agent holds its skills (the prior)
    estimate_s_per_position: float = Field(default=30.0, ge=0)
    # handle time of a skill: the mean of its first completions, then an exponentially weighted
    # average over about this many; one completion counts at most handle_time_cap_s
    handle_time_window: int = Field(default=20, ge=1, le=10_000)
    handle_time_cap_s: float = Field(default=3600.0, gt=0)
    # the archive the supervisor pages read (SQLAlchemy URL; the archive's own default, a
    # PostgreSQL URL may carry a password): opened once per process, read only
    archive_url: SecretStr = SecretStr(f"sqlite:///{DEFAULT_DATABASE}")
    # where the analysts' accepted annotations are exported, a Rasa NLU file per batch
    # (POST /v1/annotations/export; reviewed and committed like any training data); unset: the
    # project's nlu_data/annotated (archive/annotation_export.py)
    annotations_dir: Path | None = None
    # the wallboard's push: at most one snapshot per this interval, and one at least this often
    wallboard_min_interval_s: float = Field(default=1.0, gt=0)
    wallboard_refresh_s: float = Field(default=5.0, gt=0)
    # the ticket service of the action server (router/tickets; docs/contracts.md "K"): its base
    # URL (e.g. http://127.0.0.1:5055); unset: the ticket routes answer 503 tickets_unavailable
    # and no watcher runs
    tickets_url: str | None = None
    # its bearer token (= the assistant's ASSISTANT_TICKETS_TOKEN), checked when tickets_url is set
    tickets_token: SecretStr | None = None
    # the base of the links the router hands out (the follow-up page in an SMS or a message);
    # unset: http://<host>:<port>
    public_url: str | None = None
    # the ticket watcher's period (router/tickets/watcher.py); 0: no background watcher (an
    # admin's POST /v1/tickets/watch still runs a tick)
    ticket_watch_s: float = Field(default=30.0, ge=0)
    # a ticket notice goes into the customer's conversation while it is open: not ended, and the
    # customer is connected now or wrote within this long; otherwise by SMS
    ticket_open_idle_s: float = Field(default=1800.0, ge=0)
    # the model registry (telecom.registry; router/analysis/models.py): its folder, relative to
    # the project unless absolute; promoting loads its models into every assistant instance
    model_registry: Path = Path("models/registry")
    # one instance's PUT /model: loading a model takes a while, the instance answers after
    model_load_timeout_s: float = Field(default=600.0, gt=0)
    # the retraining the analysts start (python -m scripts.retrain in the assistant's
    # environment): its Python, relative to the project unless absolute, and a Rasa config of
    # its own (--config; e.g. a small fast one in tests; unset: config.yml)
    retrain_python: Path = Path(".venv-bot/bin/python")
    retrain_config: Path | None = None
    # the project whose training inputs (nlu_data, bot, config.yml, scripts) a retraining reads
    # and runs in; unset: this router's own (tests point it at a copy)
    retrain_project: Path | None = None
    # the customer gateway: ROUTER_GATEWAY__ENABLED, ROUTER_GATEWAY__RASA_URL, …
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)

    def public_base(self) -> str:
        """The base URL of links the router hands out, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def redis_block_ms(self, wanted_ms: int) -> int:
        """A blocking read's BLOCK, short enough to be answered within the read timeout."""
        return max(1, min(wanted_ms, round(self.redis_timeout_s * 1000) - 500))

    def check_secrets(self, gateway: bool) -> list[str]:
        """The names of the secrets accepted only because of demo mode ([] when all are good).

        Raises telecom.secrets.InsecureSecret (its str() is the one line to print) otherwise."""
        names = ROUTING_SECRETS + (GATEWAY_SECRETS if gateway else ())
        names += tuple(n for n in VOICE_SECRETS if gateway and getattr(self, n) is not None)
        names += TICKETS_SECRETS if gateway and self.tickets_url else ()
        weak = []
        for name in names:
            secret: SecretStr | None = getattr(self, name)
            value = secret.get_secret_value() if secret is not None else None
            env = f"ROUTER_{name.upper()}"
            check_secret(env, value, demo_mode=self.demo_mode)
            if problem(value) is not None:
                weak.append(env)
        return weak

    def pseudonym_key(self) -> bytes:
        """The HMAC key of the gateway's client pseudonyms (ROUTER_PSEUDONYM_SECRET), refused
        when missing or weak unless in demo mode; then a missing one is a random one of this
        process, with a warning (the `client` keys then differ between processes and restarts)."""
        secret = self.pseudonym_secret
        given = secret.get_secret_value() if secret is not None else None
        checked = check_secret("ROUTER_PSEUDONYM_SECRET", given, demo_mode=self.demo_mode)
        if checked and problem(checked) is None:
            return checked.encode()
        log.warning("gateway.pseudonym_secret.demo reason=%s", problem(checked))
        return (checked or new_secret()).encode()

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
            "history_maxlen": self.gateway.history_maxlen,
            "archive_maxlen": self.gateway.archive_maxlen,
        }
