"""patron: the customer command center a Chief Customer Officer runs.

The names below load on first use: importing one part of patron (a command, `patron.stats`)
must not import every stage with its libraries.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from patron._version import __version__

if TYPE_CHECKING:
    from patron.errors import ConfigError, PatronError, SourceError, WarehouseError
    from patron.model import TABLES
    from patron.project import Project
    from patron.warehouse import open_warehouse

_WHERE = {
    "ConfigError": "patron.errors", "PatronError": "patron.errors", "SourceError": "patron.errors",
    "WarehouseError": "patron.errors", "TABLES": "patron.model", "Project": "patron.project",
    "open_warehouse": "patron.warehouse",
}

__all__ = [
    "TABLES", "ConfigError", "PatronError", "Project", "SourceError", "WarehouseError", "__version__",
    "open_warehouse",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'patron' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
