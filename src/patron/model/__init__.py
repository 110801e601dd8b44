"""The canonical model as data: the contract every stage and outside script relies on."""

from patron.model.tables import EARLIEST, LINEAGE, TABLES, TOO_EARLY, Column, Table, table, too_far_ahead

__all__ = ["EARLIEST", "LINEAGE", "TABLES", "TOO_EARLY", "Column", "Table", "table", "too_far_ahead"]
