"""The engines a warehouse can run on: one interface (base.Engine), DuckDB its first implementation."""

from patron.warehouse.engines.base import Engine, Result, WarehouseBusy

__all__ = ["Engine", "Result", "WarehouseBusy"]
