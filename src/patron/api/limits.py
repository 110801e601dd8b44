"""Per-key rate limits: a key is public by nature (a widget's page carries it), so one key must not
be able to flood the intake, crowd every theme or drown a real spike. Token buckets, one per key
for requests and one for items: a burst is allowed, a sustained flood is answered 429 with the
seconds to wait."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    rate: float  # tokens a second
    capacity: float
    tokens: float
    stamp: float

    def take(self, n: float, now: float) -> float:
        """Take n tokens: 0 when they were there, else the seconds until they will be."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        return (n - self.tokens) / self.rate


class RateLimits:
    def __init__(self, requests_per_second: float, items_per_minute: float) -> None:
        self.requests_per_second, self.items_per_minute = requests_per_second, items_per_minute
        self._requests: dict[str, _Bucket] = {}
        self._items: dict[str, _Bucket] = {}

    def request(self, key: str) -> int:
        """0, or the whole seconds this key must wait before its next request."""
        rate = self.requests_per_second
        return self._take(self._requests, key, 1, rate, 2 * rate)

    def items(self, key: str, n: int) -> int:
        """0, or the whole seconds this key must wait before it may send `n` more items."""
        rate = self.items_per_minute / 60
        return self._take(self._items, key, n, rate, self.items_per_minute)

    @staticmethod
    def _take(buckets: dict[str, _Bucket], key: str, n: float, rate: float, capacity: float) -> int:
        now = time.monotonic()
        bucket = buckets.setdefault(key, _Bucket(rate, capacity, capacity, now))
        return math.ceil(bucket.take(n, now))
