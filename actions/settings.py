"""Settings of the assistant side, read once from the environment at start-up.

`load_settings(env)` builds them; nothing is read at import time, so tests pass their own env.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEMO_IDENTITY_SECRET", "REPO_ROOT", "Settings", "load_settings"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = "var/subscribers.sqlite3"
# Printed by `make run` as what it is: a demo value, never to be used with real subscribers.
DEMO_IDENTITY_SECRET = "DEMO-ONLY-identity-secret-not-for-production"


@dataclass(frozen=True)
class Settings:
    repo_root: Path
    db_path: Path
    identity_secret: str = field(repr=False)
    router_url: str | None = None
    service_token: str | None = field(default=None, repr=False)

    @property
    def identity_secret_is_demo(self) -> bool:
        return self.identity_secret == DEMO_IDENTITY_SECRET

    @property
    def catalog_root(self) -> Path:
        """Where catalog/*.yml live (the repository root)."""
        return self.repo_root


def load_settings(
    env: Mapping[str, str] | None = None, *, repo_root: Path | None = None
) -> Settings:
    """Settings from `env` (default os.environ). Relative paths are relative to the repo root.

    ASSISTANT_DB_PATH          SQLite file, default var/subscribers.sqlite3
    ASSISTANT_IDENTITY_SECRET  HMAC key for signed app logins, default DEMO_IDENTITY_SECRET
    ASSISTANT_ROUTER_URL       router base URL; unset means no human agents are reachable
    ASSISTANT_SERVICE_TOKEN    bearer token for the router
    """
    env = os.environ if env is None else env
    root = (repo_root or REPO_ROOT).resolve()
    db_path = Path(env.get("ASSISTANT_DB_PATH") or DEFAULT_DB_PATH).expanduser()
    if not db_path.is_absolute():
        db_path = root / db_path
    return Settings(
        repo_root=root,
        db_path=db_path,
        identity_secret=env.get("ASSISTANT_IDENTITY_SECRET") or DEMO_IDENTITY_SECRET,
        router_url=(env.get("ASSISTANT_ROUTER_URL") or "").rstrip("/") or None,
        service_token=env.get("ASSISTANT_SERVICE_TOKEN") or None,
    )
