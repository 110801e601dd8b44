"""The canonical model as data: the contract every stage and outside script relies on."""

from patron.model.tables import LINEAGE, TABLES, Column, Table, table

__all__ = ["LINEAGE", "TABLES", "Column", "Table", "table"]
