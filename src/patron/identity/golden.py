"""The golden record: one row per master customer, each field chosen by a survivorship rule."""

from __future__ import annotations

from patron.config import ProjectConfig
from patron.warehouse import Warehouse

FIELDS = ("name", "domain", "segment", "region", "industry", "plan", "owner", "created_at", "email", "phone")
DEFAULT_RULE = {"created_at": "earliest"}

# Ties are broken the same way on every engine (a source's rows all share a load time): the most
# trusted source, then the latest load, then the first source and ref in order. The keys are
# fixed-width text, so one comparison orders them everywhere.
_RECENT = ("lpad(CAST(dense_rank() OVER (PARTITION BY customer_id ORDER BY loaded_at DESC NULLS LAST) AS VARCHAR), "
           "10, '0') || '|' || source || '|' || coalesce(customer_ref, '')")
_TRUSTED = f"lpad(CAST(_trust AS VARCHAR), 7, '0') || {_RECENT}"

RULES = {
    "most_trusted": "arg_min({f}, _trusted) FILTER (WHERE {f} IS NOT NULL)",
    "most_recent": "arg_min({f}, _recent) FILTER (WHERE {f} IS NOT NULL)",
    "most_frequent": "mode({f})",
    "earliest": "min({f})",
}


def build_golden(wh: Warehouse, cfg: ProjectConfig) -> int:
    """Rewrite customer_golden from the resolved customers table; returns its row count."""
    order = cfg.identity.trusted_sources or list(cfg.sources)
    wh.engine.temp_table("_patron_trust", {"source": "VARCHAR", "rank": "INTEGER"},
                         {"source": list(order), "rank": list(range(len(order)))})
    picks = ", ".join(
        RULES[cfg.identity.survivorship.get(f, DEFAULT_RULE.get(f, "most_trusted"))].format(f=f) + f" AS {f}"
        for f in FIELDS
    )
    wh.execute("DELETE FROM customer_golden")
    wh.execute(
        f"INSERT INTO customer_golden SELECT customer_id, {picks}, count(*) AS records, "
        "list(DISTINCT source ORDER BY source) AS sources, now()::TIMESTAMP "
        f"FROM (SELECT *, {_TRUSTED} AS _trusted, {_RECENT} AS _recent FROM (SELECT c.*, "
        "coalesce(t.rank, 1000000) AS _trust FROM customers c LEFT JOIN _patron_trust t USING (source) "
        "WHERE c.customer_id IS NOT NULL) AS ranked) AS keyed GROUP BY customer_id"
    )
    return wh.scalar("SELECT count(*) FROM customer_golden")
