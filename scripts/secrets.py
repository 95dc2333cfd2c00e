"""Per-install secrets for `make run`: generated once into var/secrets.env (mode 0600).

`ensure_secrets(path)` creates the file with a fresh value (`telecom.secrets.new_secret`) for
each of SECRET_NAMES, adds a fresh value for any name an older file lacks, and never changes a
value already in the file. A value set in the environment wins over the file's. The file holds
`NAME=value` lines; nothing is ever printed from it.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

from telecom.secrets import new_secret

__all__ = ["SECRET_NAMES", "ensure_secrets", "missing_lines", "parse"]

SECRET_NAMES = (
    "ASSISTANT_IDENTITY_SECRET",
    "ASSISTANT_ID_PEPPER",
    "ASSISTANT_ACTIONS_TOKEN",
    "ASSISTANT_RASA_TOKEN",
    "ASSISTANT_TICKETS_TOKEN",  # the action server's ticket service (/v1), for the router
    "ROUTER_ADMIN_TOKEN",
    "ROUTER_SERVICE_TOKEN",
    "ROUTER_PSEUDONYM_SECRET",
    "ROUTER_VOICE_TOKEN",
    "ARCHIVE_PSEUDONYM_KEY",
)
HEADER = "# Per-install secrets written by `make run` (scripts/secrets.py). Keep private.\n"


def parse(text: str) -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments are skipped. The first value wins."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values.setdefault(name.strip(), value.strip())
    return values


def missing_lines(existing: Mapping[str, str]) -> str:
    """Lines with a fresh value for each secret `existing` lacks (empty when none is missing)."""
    return "".join(f"{name}={new_secret()}\n" for name in SECRET_NAMES if not existing.get(name))


def ensure_secrets(
    path: pathlib.Path | str, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every secret of SECRET_NAMES: from `env` (default os.environ) when set there, else from
    the file at `path`, which is created (mode 0600) or completed first."""
    env = os.environ if env is None else env
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: only the first run creates the file, and only with mode 0600
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(HEADER + missing_lines({}))
    except FileExistsError:
        os.chmod(path, 0o600)
        text = path.read_text()
        added = missing_lines(parse(text))
        if added:
            with path.open("a") as handle:  # appended: what is there stays as it is
                handle.write(added if text.endswith("\n") or not text else "\n" + added)
    values = parse(path.read_text())
    return {name: env.get(name) or values[name] for name in SECRET_NAMES}
