"""The only place that talks to the database engine."""

from patron.warehouse.engine import QueryFailed, Warehouse, WarehouseBusy, open_spark_warehouse, open_warehouse
from patron.warehouse.engines.base import FILE_ROW, Engine
from patron.warehouse.linkage import linkage_api
from patron.warehouse.schema import SCHEMA_VERSION

__all__ = ["FILE_ROW", "SCHEMA_VERSION", "Engine", "QueryFailed", "Warehouse", "WarehouseBusy", "linkage_api",
           "open_spark_warehouse", "open_warehouse"]
