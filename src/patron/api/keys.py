"""API keys: shown once when created, only their hash is kept.

The keys are 256 random bits, so a plain SHA-256 is enough: there is no dictionary to guess
from, and a deliberately slow hash (bcrypt, scrypt) would cost every request its time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from patron.errors import PatronError
from patron.warehouse import Warehouse

PREFIX = "ptr_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(wh: Warehouse, name: str) -> str:
    """A new key for `name`; the only time the key itself is seen."""
    name = name.strip()
    if not name:
        raise PatronError("a key needs a name, e.g. `patron keys create web-widget`")
    if wh.scalar("SELECT count(*) FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]):
        raise PatronError(f"an active key named {name!r} exists; revoke it first or choose another name")
    key = PREFIX + secrets.token_urlsafe(32)
    wh.execute("INSERT INTO api_keys VALUES (?, ?, ?, now()::TIMESTAMP, NULL)", [name, _hash(key), key[:8]])
    return key


def revoke_key(wh: Warehouse, name: str) -> None:
    if not wh.scalar("SELECT count(*) FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]):
        raise PatronError(f"no active key named {name!r}; `patron keys list` shows them")
    wh.execute("UPDATE api_keys SET revoked_at = now()::TIMESTAMP WHERE name = ? AND revoked_at IS NULL", [name])


def list_keys(wh: Warehouse) -> list[dict]:
    return [{"name": n, "prefix": p, "created_at": str(c)[:19], "revoked_at": None if r is None else str(r)[:19]}
            for n, p, c, r in wh.rows("SELECT name, prefix, created_at, revoked_at FROM api_keys ORDER BY created_at")]


def active_keys(wh: Warehouse) -> dict[str, str]:
    """Hash -> name of every key not revoked."""
    return dict(wh.rows("SELECT key_hash, name FROM api_keys WHERE revoked_at IS NULL"))


class KeyRing:
    """The active keys' hashes, read when the service starts and again each time it loads its
    intake into the warehouse, so a key created or revoked while it runs counts within seconds."""

    def __init__(self, wh: Warehouse) -> None:
        self._hashes = active_keys(wh)

    def replace(self, hashes: dict[str, str]) -> None:
        self._hashes = hashes  # one assignment: a request sees the old ring or the new one

    def __len__(self) -> int:
        return len(self._hashes)

    def name_of(self, key: str | None) -> str | None:
        if not key:
            return None
        h = _hash(key)
        for known, name in self._hashes.items():
            if hmac.compare_digest(known, h):
                return name
        return None
