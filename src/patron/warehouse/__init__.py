"""The only place that talks to the database engine."""

from patron.warehouse.engine import QueryFailed, Warehouse, WarehouseBusy, open_warehouse, scratch_connection
from patron.warehouse.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "QueryFailed", "Warehouse", "WarehouseBusy", "open_warehouse", "scratch_connection"]
