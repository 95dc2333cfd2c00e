"""The one rule for secrets, used by every service at start-up.

A secret must be given, at least MIN_BYTES long and not a value published anywhere (the demo
values below are in this repository, so they are public). Outside demo mode a bad secret stops
the service with a one-line reason; in demo mode it is accepted and the caller logs that it is.

`make run` generates per-install secrets into var/secrets.env (scripts/secrets.py), so nobody
needs demo mode to try the product.
"""

from __future__ import annotations

import secrets as _random

__all__ = [
    "KNOWN_DEMO_SECRETS",
    "MIN_BYTES",
    "InsecureSecret",
    "check_secret",
    "new_secret",
    "problem",
]

MIN_BYTES = 32

# Values that have ever been published in this repository's code or docs: never trusted.
KNOWN_DEMO_SECRETS = frozenset(
    {
        "DEMO-ONLY-identity-secret-not-for-production",
        "demo-admin-token",
        "demo-service-token",
        "admin-token",
        "service-token",
        "test-admin-token",
        "test-service-token",
    }
)


class InsecureSecret(ValueError):
    """A secret is missing, too short or public; str() is the one line to print."""


def problem(value: str | None) -> str | None:
    """Why `value` is not acceptable as a secret, or None when it is."""
    if not value:
        return "missing"
    if value in KNOWN_DEMO_SECRETS or value.lower().startswith("demo"):
        return "a published demo value"
    if len(value.encode()) < MIN_BYTES:
        return f"shorter than {MIN_BYTES} bytes"
    return None


def check_secret(name: str, value: str | None, *, demo_mode: bool = False) -> str | None:
    """`value` when it is acceptable; in demo mode also a bad one (the caller logs a warning).

    Raises InsecureSecret naming the variable and the reason otherwise."""
    reason = problem(value)
    if reason is not None and not demo_mode:
        raise InsecureSecret(
            f"{name} is {reason}: set it to {MIN_BYTES}+ random bytes "
            "(`make run` writes one into var/secrets.env), or enable demo mode"
        )
    return value


def new_secret() -> str:
    """A fresh secret: 32 random bytes, URL-safe (43 characters)."""
    return _random.token_urlsafe(MIN_BYTES)
