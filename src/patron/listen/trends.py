"""Volume, share and sentiment of what customers write, per theme, channel or touchpoint and
period: the series behind the spikes, for any chart or script."""

from __future__ import annotations

from datetime import date

import pandas as pd

from patron.errors import PatronError
from patron.warehouse import Warehouse

BY = {
    "theme": "coalesce(t.name, '(no theme)')",
    "channel": "coalesce(e.channel, '(none)')",
    "touchpoint": "coalesce(e.touchpoint, '(none)')",
}
PERIODS = ("day", "week", "month")


def trends(wh: Warehouse, by: str = "theme", period: str = "day", since: str | None = None) -> pd.DataFrame:
    """One row per group and period: texts, their share of the period's texts, mean sentiment,
    share negative and complaints (sentiment and share negative of the texts the model could read)."""
    if by not in BY:
        raise PatronError(f"--by must be one of {', '.join(BY)}, not {by!r}")
    if period not in PERIODS:
        raise PatronError(f"--period must be one of {', '.join(PERIODS)}, not {period!r}")
    if since is not None:
        try:
            date.fromisoformat(since)
        except ValueError:
            raise PatronError(f"--since: {since!r} is not a date (YYYY-MM-DD)") from None
    where = "e.occurred_at IS NOT NULL" + (" AND e.occurred_at >= CAST(? AS DATE)" if since else "")
    return wh.df(
        f"WITH x AS (SELECT {BY[by]} AS grp, CAST(date_trunc('{period}', e.occurred_at) AS DATE) AS period, "
        "e.sentiment_score, e.sentiment_label, e.complaint FROM enrichment AS e "
        "LEFT JOIN text_themes AS tt ON tt.source_table = e.source_table AND tt.item_id = e.item_id "
        f"LEFT JOIN themes AS t ON t.theme_id = tt.theme_id WHERE {where}) "
        f"SELECT grp AS {by}, period, count(*) AS texts, count(*) / sum(count(*)) OVER (PARTITION BY period) AS share, "
        "avg(sentiment_score) AS sentiment, avg(CAST(sentiment_label = 'negative' AS DOUBLE)) "  # unscored: NULL
        "AS negative_share, count(*) FILTER (complaint) AS complaints FROM x GROUP BY grp, period "
        f"ORDER BY period, texts DESC, grp", [since] if since else None)
