"""The day the data runs to: the latest event any canonical table records.

Reports measure periods against it, not against the clock: data exported last week is complete
up to last week, and the month it ends in is partial.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.warehouse.engine import Warehouse


def data_as_of(wh: Warehouse) -> date | None:
    return wh.scalar(
        "SELECT CAST(max(d) AS DATE) FROM (SELECT max(submitted_at) AS d FROM responses UNION ALL "
        "SELECT max(opened_at) FROM tickets UNION ALL SELECT max(received_at) FROM feedback UNION ALL "
        "SELECT max(day) FROM usage UNION ALL SELECT max(start_date) FROM subscriptions UNION ALL "
        "SELECT max(ordered_at) FROM orders)"
    )
