"""patron: the customer command center a Chief Customer Officer runs."""

from patron._version import __version__
from patron.errors import ConfigError, PatronError, SourceError, WarehouseError
from patron.model import TABLES
from patron.project import Project
from patron.warehouse import open_warehouse

__all__ = [
    "TABLES", "ConfigError", "PatronError", "Project", "SourceError", "WarehouseError", "__version__",
    "open_warehouse",
]
