"""The canonical model as data: the contract every stage and outside script relies on."""

from patron.model.system import METRIC_TABLES, STAGES, SYSTEM_TABLES, Stage, SystemColumn, SystemTable, writes
from patron.model.tables import (
    EARLIEST,
    LINEAGE,
    MAX_FIELD,
    MAX_MONEY,
    MAX_NUMBER,
    MAX_TEXT,
    NOT_FINITE,
    TABLES,
    TOO_EARLY,
    Column,
    Table,
    table,
    too_far_ahead,
    too_large,
    too_long,
)

__all__ = [
    "EARLIEST", "LINEAGE", "METRIC_TABLES", "MAX_FIELD", "MAX_MONEY", "MAX_NUMBER", "MAX_TEXT", "NOT_FINITE", "STAGES",
    "SYSTEM_TABLES", "TABLES", "TOO_EARLY", "Column", "Stage", "SystemColumn", "SystemTable", "Table", "table",
    "too_far_ahead", "too_large", "too_long", "writes",
]
