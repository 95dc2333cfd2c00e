"""Bearer tokens: admin and service from settings, one per agent (stored as a SHA-256 hash).

An agent token is "<agent_id>.<secret>" so the agent is found without a scan; every comparison
is constant-time. A token whose secret part is shorter than the one issued, or whose agent id is
not a valid agent id, is refused before anything is looked up.

Supervisors (issued by the admin like agents, router/supervisors.py) hold tokens of the same
shape behind the prefix "sv~"; they read the wallboard and the reports, never an agent's API.
Analysts (router/analysts.py) likewise behind "an~": the inbox, annotations and models.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import SecretStr

from router import errors

AGENT_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_AGENT_ID = re.compile(AGENT_ID_PATTERN)
SECRET_BYTES = 32
# token_urlsafe(32) is 43 characters: a shorter secret part was not issued here
MIN_SECRET_CHARS = 43


class Role(StrEnum):
    admin = "admin"
    service = "service"
    agent = "agent"
    supervisor = "supervisor"
    analyst = "analyst"


@dataclass(frozen=True)
class Principal:
    role: Role
    agent_id: str | None = None
    # an agent's: the hash of the token it came with (a live stream checks it still opens it)
    token_hash: str | None = field(default=None, repr=False, compare=False)
    supervisor_id: str | None = None
    analyst_id: str | None = None

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise errors.Forbidden()

    def require_agent(self, agent_id: str, *also: Role) -> None:
        """That agent itself, or one of the roles in `also`."""
        if self.role in also:
            return
        if self.role is not Role.agent or self.agent_id != agent_id:
            raise errors.Forbidden()


def new_agent_token(agent_id: str) -> str:
    return f"{agent_id}.{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(given: str, expected: SecretStr | None) -> bool:
    """`given` is the configured token `expected` (never when none is configured)."""
    return _matches(given, expected)


def _matches(given: str, expected: SecretStr | None) -> bool:
    if expected is None:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def parse_bearer(header: str | None) -> str:
    if not header:
        raise errors.Unauthorized()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized()
    return token.strip()


def static_principal(
    token: str, admin: SecretStr | None, service: SecretStr | None
) -> Principal | None:
    if _matches(token, admin):
        return Principal(Role.admin)
    if _matches(token, service):
        return Principal(Role.service)
    return None


def agent_id_of(token: str) -> str | None:
    """The agent id of a token shaped like one this module issues, else None (not looked up)."""
    agent_id, sep, rest = token.rpartition(".")
    if not sep or len(rest) < MIN_SECRET_CHARS or not _AGENT_ID.match(agent_id):
        return None
    return agent_id


def hash_matches(token_hash: str, stored_hash: str | None) -> bool:
    """`token_hash` (hash_token of the token given) is the stored one."""
    if not stored_hash:
        return False
    return hmac.compare_digest(token_hash.encode(), stored_hash.encode())


# A supervisor token is "sv~<supervisor_id>.<secret>": '~' is in no agent id, so it is never
# taken for an agent's token (agent_id_of refuses it) and is found without a scan.
SUPERVISOR_PREFIX = "sv~"


def new_supervisor_token(supervisor_id: str) -> str:
    return f"{SUPERVISOR_PREFIX}{supervisor_id}.{secrets.token_urlsafe(SECRET_BYTES)}"


def supervisor_id_of(token: str) -> str | None:
    """The supervisor id of a token shaped like a supervisor's, else None (not looked up)."""
    if not token.startswith(SUPERVISOR_PREFIX):
        return None
    return agent_id_of(token[len(SUPERVISOR_PREFIX) :])


# An analyst token is "an~<analyst_id>.<secret>", found and refused the same way.
ANALYST_PREFIX = "an~"


def new_analyst_token(analyst_id: str) -> str:
    return f"{ANALYST_PREFIX}{analyst_id}.{secrets.token_urlsafe(SECRET_BYTES)}"


def analyst_id_of(token: str) -> str | None:
    """The analyst id of a token shaped like an analyst's, else None (not looked up)."""
    if not token.startswith(ANALYST_PREFIX):
        return None
    return agent_id_of(token[len(ANALYST_PREFIX) :])
