"""The one Settings object of the archive's processes: ARCHIVE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from telecom.secrets import check_secret

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = REPO / "var" / "archive" / "archive.sqlite3"


class ArchiveSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARCHIVE_",
        extra="ignore",
        hide_input_in_errors=True,  # a bad value may hold a secret: never echo it
    )

    # SQLAlchemy URL; PostgreSQL as postgresql://… (psycopg 3 is used for it)
    database_url: SecretStr = SecretStr(f"sqlite:///{DEFAULT_DATABASE}")
    # the router's Redis (its streams `events` and `gw:archive`); required by consume/backfill
    redis_url: SecretStr | None = None
    # the router's key prefix (router/keys.py)
    key_prefix: str = "router:"
    # HMAC-SHA256 key of the customers' pseudonyms (customer_ref); no default
    pseudonym_key: SecretStr | None = None
    demo_mode: bool = False
    retention_days: int = Field(default=400, ge=1)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    # the consumer's name in its consumer groups (one name per consumer process)
    consumer_name: str = "archive-1"
    # the longest a read of the streams blocks before the consumer checks again
    block_ms: int = Field(default=2_000, ge=1)
    # pending entries of another consumer idle this long are taken over (a consumer that died)
    claim_idle_ms: int = Field(default=60_000, ge=1)
    # under live traffic a batch is written at most this often (archive/consumer.py pause_s)
    min_batch_interval_ms: int = Field(default=1_000, ge=0, le=60_000)

    def url(self) -> str:
        return self.database_url.get_secret_value()

    def checked_pseudonym_key(self) -> str:
        """The pseudonym key (telecom.secrets' rule); raises InsecureSecret when bad."""
        value = self.pseudonym_key.get_secret_value() if self.pseudonym_key else None
        return check_secret("ARCHIVE_PSEUDONYM_KEY", value, demo_mode=self.demo_mode) or ""
