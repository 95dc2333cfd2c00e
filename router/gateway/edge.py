"""The customer edge's decisions, as plain functions: who the client is, what of their request
reaches the assistant, whether their resume token and their page's origin are acceptable.

No I/O here: router/gateway/customer.py calls these with what it read from the request and Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from telecom.mask import strip_controls

CONVERSATION_ID_BYTES = 24  # 192 random bits → 32 URL-safe characters
RESUME_TOKEN_BYTES = 32  # 256 random bits → 43 URL-safe characters
CLIENT_KEY_CHARS = 32  # hex characters of the client's pseudonym (128 bits)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def new_conversation_id() -> str:
    return secrets.token_urlsafe(CONVERSATION_ID_BYTES)


def new_resume_token() -> str:
    return secrets.token_urlsafe(RESUME_TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the gateway stores of a resume token: its SHA-256 (hex). The token has 256 random
    bits, so a fast hash is enough: nobody can search for it."""
    return hashlib.sha256(token.encode()).hexdigest()


_NO_HASH = "0" * 64


def token_matches(stored_hash: str | None, token: str | None) -> bool:
    """Constant-time comparison; the same work whether the conversation exists or not."""
    given = token_hash(token) if token else _NO_HASH
    same = hmac.compare_digest(stored_hash or _NO_HASH, given)
    return same and bool(stored_hash) and bool(token)


# -- the client's address and pseudonym -------------------------------------------------------
def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """'10.0.0.0/8', '127.0.0.1', '::1' → networks (ValueError for anything else)."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]
) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy; then the nearest
    X-Forwarded-For hop that is not a trusted proxy itself (hops further left are the client's
    own claims and are ignored)."""
    address = peer or "unknown"
    if not forwarded_for or not _trusted(address, proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed hop: stop at the last proxy we trust
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address


def client_key(secret: bytes, address: str) -> str:
    """The pseudonymous key of a client address (HMAC-SHA256, truncated): what the assistant and
    the rate limits see instead of the address."""
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()[:CLIENT_KEY_CHARS]


# -- what reaches the assistant ---------------------------------------------------------------
class Login(BaseModel):
    """A signed app login, as the contract shapes it (the assistant checks the signature)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    phone: str = Field(pattern=r"^1[0-9]{10}$")
    ts: StrictInt = Field(ge=0, lt=2**40)
    nonce: str = Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")
    sig: str = Field(pattern=r"^[0-9a-f]{64}$")


def login_of(metadata: Mapping[str, Any]) -> Login | None:
    """The client's `login` when it has the contract's shape; None otherwise (dropped)."""
    raw = metadata.get("login")
    if not isinstance(raw, dict):
        return None
    try:
        return Login.model_validate(raw)
    except ValidationError:
        return None


def assistant_metadata(channel: str, client: str, login: Login | None) -> dict[str, Any]:
    """The only metadata the assistant gets: {"channel", "client", "login"?} — nothing else the
    client sent."""
    metadata: dict[str, Any] = {"channel": channel, "client": client}
    if login is not None:
        metadata["login"] = login.model_dump()
    return metadata


def clean_text(text: str) -> str:
    """Customer text as stored and shown to agents: no control or bidi characters. Not
    HTML-escaped: every page sets text with textContent."""
    return strip_controls(text).strip()


# -- WebSocket origins ------------------------------------------------------------------------
def origin_of(url: str) -> str | None:
    """'https://Shop.example.com:443/x' → 'https://shop.example.com'; None when not an origin."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def own_origins(host: str | None) -> set[str]:
    """The router's own origins as its pages see them: the Host the request came to, over http
    or https (behind a TLS proxy the router itself sees plain http)."""
    if not host:
        return set()
    return {o for scheme in ("http", "https") if (o := origin_of(f"{scheme}://{host}"))}


def origin_allowed(origin: str | None, own: set[str], allowed: Iterable[str]) -> bool:
    """A browser's socket is accepted from the router's own origin (the widget's frame) and the
    listed ones. No Origin header: not a browser (an app), nothing to check — its requests are
    authenticated by the resume token like any other."""
    if origin is None:
        return True
    given = origin_of(origin)
    if given is None:
        return False
    return given in own or given in {origin_of(o) for o in allowed}
