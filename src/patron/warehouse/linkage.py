"""Splink's database API for records that may not live in a warehouse."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from patron.warehouse.engines.base import Engine
from patron.warehouse.engines.duckdb import splink_api


def linkage_api(engine: Engine | None = None, memory_share: float = 0.3,
                threads: int | None = None) -> AbstractContextManager[Any]:
    """`engine`'s Splink backend; without one (records from a frame, not a warehouse), the default
    engine's, in memory (on `threads` threads: one gives the same samples and sums at every run)."""
    return engine.linkage(memory_share) if engine is not None else splink_api(memory_share, threads)
