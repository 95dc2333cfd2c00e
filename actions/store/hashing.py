"""Salted hashes for ID numbers (PBKDF2) and passwords (scrypt), with parameters stored in the
hash string so that costs can change without invalidating stored values."""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["DUMMY_HASH", "ID_HASH_ITERATIONS", "hash_password", "hash_secret", "verify_secret"]

ID_HASH_ITERATIONS = 10_000


def hash_secret(value: str, iterations: int = ID_HASH_ITERATIONS) -> str:
    """'pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>' with a fresh random salt."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def verify_secret(value: str, stored: str | None) -> bool:
    """Constant-time check of `value` against a stored pbkdf2 or scrypt hash."""
    if not stored:
        return False
    parts = stored.split("$")
    try:
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            digest = hashlib.pbkdf2_hmac(
                "sha256", value.encode(), bytes.fromhex(parts[2]), int(parts[1])
            )
            return hmac.compare_digest(digest.hex(), parts[3])
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            digest = hashlib.scrypt(value.encode(), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p)
            return hmac.compare_digest(digest.hex(), parts[5])
    except ValueError:
        return False
    return False


DUMMY_HASH = "pbkdf2_sha256$10000$00000000000000000000000000000000$" + "0" * 64
