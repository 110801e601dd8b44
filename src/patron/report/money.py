"""Which currency the warehouse's money is in, so every amount shown reads in it."""

from __future__ import annotations

from patron.units import DEFAULT_CURRENCY
from patron.warehouse import Warehouse


def data_currency(wh: Warehouse) -> str:
    """The most common currency code of subscriptions and orders (ties: alphabetical), or USD
    when neither names one: a retailer in pounds must not read in dollars."""
    code = wh.scalar(
        "SELECT c FROM (SELECT upper(trim(currency)) AS c FROM subscriptions UNION ALL "
        "SELECT upper(trim(currency)) FROM orders) WHERE c IS NOT NULL AND c <> '' "
        "GROUP BY c ORDER BY count(*) DESC, c LIMIT 1")
    return code or DEFAULT_CURRENCY
