"""Settings of the assistant side, read once from the environment at start-up.

`load_settings(env)` builds them; nothing is read at import time, so tests pass their own env.
The action server builds them before it serves anything (`actions.flows.common.start`), so bad
secrets stop it at start, not on the first customer turn.

Secrets (no defaults; each must pass `telecom.secrets.check_secret`: given, 32+ bytes, not a
published demo value; `make run` generates them into var/secrets.env):

    ASSISTANT_IDENTITY_SECRET  HMAC key of signed app logins (actions/identity.py)
    ASSISTANT_ID_PEPPER        pepper of the ID-number hashes; changing it makes every stored
                               ID hash unverifiable, so it must stay the same for a store
    ASSISTANT_DEMO_MODE        "true": accept bad secrets with one warning line (demos only)

Other settings:

    ASSISTANT_DB_PATH          SQLite file, default var/subscribers.sqlite3
    ASSISTANT_ROUTER_URL       router base URL; unset means no human agents are reachable
    ASSISTANT_SERVICE_TOKEN    bearer token for the router
    ASSISTANT_CLOCK_OFFSET_FILE  demos and tests only (refused unless ASSISTANT_DEMO_MODE is
                               true): a file holding seconds (a float) added to the real time,
                               read on every `actions.flows.common.now()`; missing or empty = 0

The ticket service (/v1/ on the action server, actions/service_loop/) checks its own token,
ASSISTANT_TICKETS_TOKEN, in actions/server.py like ASSISTANT_ACTIONS_TOKEN.

Verification limits (failed ID checks; a number's own lock, 5 failures in a row → 30 minutes,
is fixed in actions/verification.py):

    ASSISTANT_VERIFY_CONVERSATION_FAILURES   5   failures per conversation, across numbers …
    ASSISTANT_VERIFY_CONVERSATION_MINUTES    30  … within this many minutes
    ASSISTANT_VERIFY_CLIENT_FAILURES         20  failures per client (the gateway's pseudonymous
    ASSISTANT_VERIFY_CLIENT_MINUTES          60  `client` key of the address) within this window
                                                 (windows: 1 to 1440 minutes)

Retention in days (`python -m actions.store purge` deletes what is older; run it daily):

    ASSISTANT_RETAIN_VERIFICATION_DAYS  30    verification attempts (at least 1: the lock
                                              decisions read the last 24 hours)
    ASSISTANT_RETAIN_LOGIN_NONCE_DAYS   1     used login nonces, counted from their expiry
    ASSISTANT_RETAIN_CONSENT_DAYS       1095  consent records (3 years, proof of consent)
    ASSISTANT_RETAIN_TICKET_DAYS        730   complaints, fault reports, callbacks (2 years)
    ASSISTANT_RETAIN_SMS_DAYS           180   the SMS outbox
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from actions.verification import Limits
from telecom.secrets import check_secret, problem

__all__ = ["REPO_ROOT", "Retention", "Settings", "SettingsError", "load_settings"]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = "var/subscribers.sqlite3"
DAY_MINUTES = 24 * 60  # verification windows end within the 24 hours of attempts kept at least
SECRETS = ("ASSISTANT_IDENTITY_SECRET", "ASSISTANT_ID_PEPPER")


class SettingsError(ValueError):
    """A setting that is not a valid value; str() is the one line to print."""


@dataclass(frozen=True)
class Retention:
    """How long each kind of record is kept."""

    verification: timedelta = timedelta(days=30)
    login_nonces: timedelta = timedelta(days=1)  # after the login's expiry
    consents: timedelta = timedelta(days=1095)
    tickets: timedelta = timedelta(days=730)
    sms: timedelta = timedelta(days=180)


@dataclass(frozen=True)
class Settings:
    repo_root: Path
    db_path: Path
    identity_secret: str = field(repr=False)
    id_pepper: str = field(repr=False)
    router_url: str | None = None
    service_token: str | None = field(default=None, repr=False)
    demo_mode: bool = False
    clock_offset_file: Path | None = None
    limits: Limits = field(default_factory=Limits)
    retention: Retention = field(default_factory=Retention)

    @property
    def catalog_root(self) -> Path:
        """Where catalog/*.yml live (the repository root)."""
        return self.repo_root


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _int(
    env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        limits = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise SettingsError(f"{name} must be {limits}, not {value}")
    return value


def _path(root: Path, value: str) -> Path:
    """`value` as a path; a relative one is relative to the repo root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def load_settings(
    env: Mapping[str, str] | None = None, *, repo_root: Path | None = None
) -> Settings:
    """Settings from `env` (default os.environ). Relative paths are relative to the repo root.

    Raises telecom.secrets.InsecureSecret for a missing, short or published secret (unless
    ASSISTANT_DEMO_MODE is true: then one warning line is logged) and SettingsError for a bad
    number; both say in one line what to fix.
    """
    env = os.environ if env is None else env
    root = (repo_root or REPO_ROOT).resolve()
    db_path = _path(root, env.get("ASSISTANT_DB_PATH") or DEFAULT_DB_PATH)
    demo_mode = _flag(env.get("ASSISTANT_DEMO_MODE"))
    secrets = {name: check_secret(name, env.get(name), demo_mode=demo_mode) for name in SECRETS}
    bad = [name for name, value in secrets.items() if problem(value)]
    if bad:
        log.warning(
            "settings.demo_mode insecure secrets accepted: %s (never use with real subscribers)",
            ", ".join(f"{name} is {problem(secrets[name])}" for name in bad),
        )
    clock_file = (env.get("ASSISTANT_CLOCK_OFFSET_FILE") or "").strip()
    if clock_file and not demo_mode:
        raise SettingsError(
            "ASSISTANT_CLOCK_OFFSET_FILE moves the service's clock: demos and tests only "
            "(set ASSISTANT_DEMO_MODE=true, or unset it)"
        )
    days, minutes = timedelta(days=1), timedelta(minutes=1)
    return Settings(
        repo_root=root,
        db_path=db_path,
        identity_secret=secrets["ASSISTANT_IDENTITY_SECRET"] or "",
        id_pepper=secrets["ASSISTANT_ID_PEPPER"] or "",
        router_url=(env.get("ASSISTANT_ROUTER_URL") or "").rstrip("/") or None,
        service_token=env.get("ASSISTANT_SERVICE_TOKEN") or None,
        demo_mode=demo_mode,
        clock_offset_file=_path(root, clock_file) if clock_file else None,
        limits=Limits(
            conversation_failures=_int(env, "ASSISTANT_VERIFY_CONVERSATION_FAILURES", 5, 1),
            conversation_window=minutes
            * _int(env, "ASSISTANT_VERIFY_CONVERSATION_MINUTES", 30, 1, DAY_MINUTES),
            client_failures=_int(env, "ASSISTANT_VERIFY_CLIENT_FAILURES", 20, 1),
            client_window=minutes
            * _int(env, "ASSISTANT_VERIFY_CLIENT_MINUTES", 60, 1, DAY_MINUTES),
        ),
        retention=Retention(
            verification=_int(env, "ASSISTANT_RETAIN_VERIFICATION_DAYS", 30, 1) * days,
            login_nonces=_int(env, "ASSISTANT_RETAIN_LOGIN_NONCE_DAYS", 1, 0) * days,
            consents=_int(env, "ASSISTANT_RETAIN_CONSENT_DAYS", 1095, 1) * days,
            tickets=_int(env, "ASSISTANT_RETAIN_TICKET_DAYS", 730, 1) * days,
            sms=_int(env, "ASSISTANT_RETAIN_SMS_DAYS", 180, 1) * days,
        ),
    )
