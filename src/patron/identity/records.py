"""The records to resolve: every (system, customer_ref) with what the warehouse knows about it.

Normalisation happens here, in SQL, once: company names without punctuation or legal suffixes,
web domains without scheme or www, email domains (free-mail ones dropped: they say nothing about
the company), phone digits.
"""

from __future__ import annotations

import pandas as pd

from patron.model import TABLES
from patron.warehouse import Warehouse

LEGAL = r"\b(inc|llc|ltd|gmbh|corp|corporation|co|company|limited|plc|sa|ag|bv)\b"

# tables whose rows name a person's email next to a customer ref
EMAIL_TABLES = {"customers": "email", "contacts": "email", "tickets": "contact_email", "responses": "contact_email"}


def sources_table(wh: Warehouse, systems: dict[str, str]) -> None:
    """A temp table source -> system, so SQL can tell which id namespace a row's ref is in.
    Rows from one-off loads (no configured source) are their own system."""
    wh.engine.temp_table("_patron_systems", {"source": "VARCHAR", "system": "VARCHAR"},
                         {"source": list(systems), "system": list(systems.values())})


def system_of(alias: str) -> str:
    return f"coalesce((SELECT system FROM _patron_systems s WHERE s.source = {alias}.source), {alias}.source)"


def build_records(wh: Warehouse, free_email_domains: list[str]) -> pd.DataFrame:
    """One row per distinct (system, ref) that any table mentions, with its normalised attributes."""
    wh.engine.temp_table("_patron_free_mail", {"domain": "VARCHAR"}, {"domain": list(free_email_domains)})
    refs = " UNION ".join(
        f"SELECT DISTINCT {system_of('t')} AS system, t.customer_ref AS ref FROM {name} t "
        "WHERE t.customer_ref IS NOT NULL"
        for name, table in TABLES.items() if "customer_ref" in table.names
    )
    emails = " UNION ALL ".join(
        f"SELECT {system_of('t')} AS system, t.customer_ref AS ref, lower(t.{col}) AS email FROM {name} t "
        f"WHERE t.customer_ref IS NOT NULL AND t.{col} IS NOT NULL"
        for name, col in EMAIL_TABLES.items()
    )
    return wh.df(
        f"""
        WITH refs AS ({refs}),
        attrs AS (
            SELECT {system_of('c')} AS system, c.customer_ref AS ref,
                   arg_max(c.name, c.loaded_at) AS name,
                   arg_max(c.domain, c.loaded_at) AS domain,
                   arg_max(c.phone, c.loaded_at) AS phone
            FROM customers c GROUP BY ALL
        ),
        mail AS (
            SELECT system, ref, list(DISTINCT email ORDER BY email) AS emails,
                   mode(split_part(email, '@', 2))
                       FILTER (WHERE split_part(email, '@', 2) NOT IN (SELECT domain FROM _patron_free_mail))
                       AS email_domain
            FROM ({emails}) GROUP BY ALL
        )
        SELECT r.system || ':' || r.ref AS unique_id, r.system, r.ref, a.name,
               nullif(regexp_replace(regexp_replace(lower(coalesce(a.name, '')), '{LEGAL}', '', 'g'),
                                     '[^a-z0-9]', '', 'g'), '') AS name_norm,
               coalesce(nullif(split_part(regexp_replace(lower(trim(a.domain)), '^(https?://)?(www\\.)?', ''),
                                          '/', 1), ''), m.email_domain) AS domain,
               nullif(right(regexp_replace(coalesce(a.phone, ''), '[^0-9]', '', 'g'), 10), '') AS phone,
               coalesce(m.emails, []) AS emails
        FROM refs r LEFT JOIN attrs a USING (system, ref) LEFT JOIN mail m USING (system, ref)
        ORDER BY r.system, r.ref
        """
    )
