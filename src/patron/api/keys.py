"""API keys: shown once when created, only their hash is kept.

The keys are 256 random bits, so a plain SHA-256 is enough: there is no dictionary to guess
from, and a deliberately slow hash (bcrypt, scrypt) would cost every request its time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets

from patron.errors import PatronError
from patron.ingest.intake_log import log_folder
from patron.warehouse import Warehouse

PREFIX = "ptr_"
KEYS_FILE = "keys.json"  # beside the intake log: the active keys' hashes, for a running service


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(wh: Warehouse, name: str) -> str:
    """A new key for `name`; the only time the key itself is seen."""
    name = name.strip()
    if not name:
        raise PatronError("a key needs a name, e.g. `patron keys create web-widget`")
    if not re.fullmatch(r"[\w.@:-]{1,64}", name):  # it is printed, logged and becomes a source name
        raise PatronError(f"{name[:64]!r} is not a key name: use up to 64 letters, digits and . _ - @ :")
    if wh.scalar("SELECT count(*) FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]):
        raise PatronError(f"an active key named {name!r} exists; revoke it first or choose another name")
    key = PREFIX + secrets.token_urlsafe(32)
    wh.execute("INSERT INTO api_keys VALUES (?, ?, ?, now()::TIMESTAMP, NULL)", [name, _hash(key), key[:8]])
    publish(wh)
    return key


def revoke_key(wh: Warehouse, name: str) -> None:
    if not wh.scalar("SELECT count(*) FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]):
        raise PatronError(f"no active key named {name!r}; `patron keys list` shows them")
    wh.execute("UPDATE api_keys SET revoked_at = now()::TIMESTAMP WHERE name = ? AND revoked_at IS NULL", [name])
    publish(wh)


def publish(wh: Warehouse) -> None:
    """Leave the active keys' hashes beside the warehouse, where a running service reads them at
    its next request: a revoked key stops working at once, even while another command holds the
    warehouse (the service cannot read it then)."""
    if wh.path is None:
        return
    folder = log_folder(wh.path)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / f"{KEYS_FILE}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(active_keys(wh), f)
        os.replace(tmp, folder / KEYS_FILE)
    except OSError as e:  # the change is in the warehouse; a running service sees it at its next load
        raise PatronError(f"{folder}: the key change is stored, but a running `patron serve` sees it only "
                          f"at its next load: cannot write {KEYS_FILE} there ({e.strerror})") from None


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
        self._file = log_folder(wh.path) / KEYS_FILE if wh.path is not None else None
        self._stamp = self._changed()

    def replace(self, hashes: dict[str, str]) -> None:
        self._hashes = hashes  # one assignment: a request sees the old ring or the new one

    def _changed(self) -> float | None:
        try:
            return self._file.stat().st_mtime_ns if self._file else None
        except OSError:
            return None

    def _reread(self) -> None:
        """The published keys, if `patron keys` changed them since (a stat per request)."""
        stamp = self._changed()
        if stamp is not None and stamp != self._stamp:
            try:
                self.replace(json.loads(self._file.read_text(encoding="utf-8")))  # type: ignore[union-attr]
                self._stamp = stamp
            except (OSError, ValueError):
                pass  # half-replaced or unreadable: the ring stays as it was until the next look

    def __len__(self) -> int:
        return len(self._hashes)

    def name_of(self, key: str | None) -> str | None:
        self._reread()
        if not key:
            return None
        h = _hash(key)
        for known, name in self._hashes.items():
            if hmac.compare_digest(known, h):
                return name
        return None
