"""The day the data runs to: the latest event any canonical table records.

Reports measure periods against it, not against the clock: data exported last week is complete
up to last week, and the month it ends in is partial.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from patron.relations import DATA_LAST_DAY

if TYPE_CHECKING:
    from patron.warehouse.engine import Warehouse


def data_as_of(wh: Warehouse) -> date | None:
    """The data's last day, by the one definition revenue's months end at too (DATA_LAST_DAY)."""
    return wh.scalar(DATA_LAST_DAY)
