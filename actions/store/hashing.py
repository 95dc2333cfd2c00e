"""Hashes of ID numbers and passwords, with their parameters in the hash string so that costs
can change without invalidating stored values.

ID numbers (full and last six) are hashed with scrypt, a memory-hard KDF, over an HMAC of the
value keyed with a pepper (ASSISTANT_ID_PEPPER) that is not in the database: a copy of the
database alone is not enough to test guesses, and with the pepper each guess still costs
ID_SCRYPT_N × 128 × r bytes of memory (8 MiB) and the time to fill them (docs/benchmarks.md).

    scrypt-pepper$N$r$p$<salt hex>$<hash hex>

Stores made before the pepper hold `pbkdf2_sha256$iterations$salt$hash`; `upgrade_legacy` wraps
such a hash without knowing the ID number (the onion: the old PBKDF2 digest is the scrypt input):

    scrypt-pepper-pbkdf2$N$r$p$<salt hex>$<hash hex>$<iterations>$<pbkdf2 salt hex>

Passwords: plain scrypt (`scrypt$N$r$p$salt$hash`); a temporary password is stored only so.
"""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = [
    "ID_SCRYPT_N",
    "dummy_id_hash",
    "hash_id",
    "hash_password",
    "is_legacy",
    "upgrade_legacy",
    "verify_id",
    "verify_secret",
]

ID_SCRYPT_N = 2**13
ID_SCRYPT_R = 8
_MAXMEM = 2**26  # room for N up to 2**15 at r=8
_PEPPERED = "scrypt-pepper"
_WRAPPED = "scrypt-pepper-pbkdf2"


def _peppered(value: bytes, pepper: str) -> bytes:
    return hmac.new(pepper.encode(), value, hashlib.sha256).digest()


def _scrypt(value: bytes, pepper: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(_peppered(value, pepper), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM)


def _format(prefix: str, n: int, r: int, p: int, salt: bytes, digest: bytes) -> str:
    return f"{prefix}${n}${r}${p}${salt.hex()}${digest.hex()}"


def hash_id(value: str, pepper: str, n: int = ID_SCRYPT_N) -> str:
    """The peppered scrypt hash of an ID number (or its last six), with a fresh salt."""
    salt = os.urandom(16)
    digest = _scrypt(value.encode(), pepper, salt, n, ID_SCRYPT_R, 1)
    return _format(_PEPPERED, n, ID_SCRYPT_R, 1, salt, digest)


def dummy_id_hash(n: int = ID_SCRYPT_N) -> str:
    """A hash nothing matches, with the same cost as real ones (for numbers we do not have)."""
    return _format(_PEPPERED, n, ID_SCRYPT_R, 1, bytes(16), bytes(32))


def is_legacy(stored: str) -> bool:
    """An unpeppered PBKDF2 hash from before ASSISTANT_ID_PEPPER."""
    return stored.startswith("pbkdf2_sha256$")


def upgrade_legacy(stored: str, pepper: str, n: int = ID_SCRYPT_N) -> str:
    """Wrap a legacy PBKDF2 hash in the peppered scrypt; the ID number is not needed."""
    _, iterations, pbkdf2_salt, pbkdf2_hex = stored.split("$")
    salt = os.urandom(16)
    digest = _scrypt(bytes.fromhex(pbkdf2_hex), pepper, salt, n, ID_SCRYPT_R, 1)
    return f"{_format(_WRAPPED, n, ID_SCRYPT_R, 1, salt, digest)}${iterations}${pbkdf2_salt}"


def verify_id(value: str, stored: str | None, pepper: str) -> bool:
    """Constant-time check of an ID number (or last six) against a stored ID hash."""
    if not stored:
        return False
    parts = stored.split("$")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = bytes.fromhex(parts[4]), parts[5]
        if parts[0] == _PEPPERED and len(parts) == 6:
            data = value.encode()
        elif parts[0] == _WRAPPED and len(parts) == 8:
            data = hashlib.pbkdf2_hmac(
                "sha256", value.encode(), bytes.fromhex(parts[7]), int(parts[6])
            )
        else:
            return False
        digest = _scrypt(data, pepper, salt, n, r, p)
    except (ValueError, IndexError):
        return False
    return hmac.compare_digest(digest.hex(), expected)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def verify_secret(value: str, stored: str | None) -> bool:
    """Constant-time check of a password against a stored scrypt hash."""
    if not stored:
        return False
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            digest = hashlib.scrypt(value.encode(), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p)
            return hmac.compare_digest(digest.hex(), parts[5])
    except ValueError:
        return False
    return False
