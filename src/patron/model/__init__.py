"""The canonical model as data: the contract every stage and outside script relies on."""

from patron.model.system import STAGES, SYSTEM_TABLES, Stage, SystemColumn, SystemTable, writes
from patron.model.tables import EARLIEST, LINEAGE, TABLES, TOO_EARLY, Column, Table, table, too_far_ahead

__all__ = [
    "EARLIEST", "LINEAGE", "STAGES", "SYSTEM_TABLES", "TABLES", "TOO_EARLY", "Column", "Stage", "SystemColumn",
    "SystemTable", "Table", "table", "too_far_ahead", "writes",
]
