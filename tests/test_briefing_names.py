"""An account scored by the churn model but with no golden record (identity never resolved) is
shown by its customer id in the briefing's tables, never as "nan"."""

from __future__ import annotations

import random
import re
from datetime import date

from patron.project import Project
from patron.report import build, render_html

CONFIG = """ingest: {max_reject_share: 1}
sources:
  subs:
    system: billing
    path: subscriptions.csv
    table: subscriptions
    customer_ref: customer
predict:
  churn: {high: 0.05, medium: 0.02}
"""


def _month(d: date, months: int) -> date:
    k = d.year * 12 + d.month - 1 + months
    return date(k // 12, k % 12 + 1, min(d.day, 28))


def test_accounts_without_a_golden_record_show_their_id_not_nan(tmp_path):
    rng = random.Random(3)
    rows = ["subscription_id,customer,plan,mrr,currency,start_date,end_date,term_months"]
    for i in range(150):
        start = _month(date(2023, 1, 1), rng.randint(0, 30)).replace(day=rng.randint(1, 28))
        end = _month(start, rng.randint(3, 40)) if rng.random() < 0.5 else None
        end = None if end and end > date(2026, 11, 30) else end
        rows.append(f"s{i},c{i:04d},p,{rng.choice([100, 250, 500, 1000])},USD,{start},{end or ''},"
                    f"{rng.choice([1, 1, 12])}")
    (tmp_path / "subscriptions.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "patron.yml").write_text(CONFIG)
    with Project.open(tmp_path / "patron.yml", require_config=True) as project:
        project.ingest()
        project.predict.churn()
        b = build(project.warehouse, project.metrics.catalog())
    assert b.at_risk and b.renewals and b.renewals["top"]
    shown = [(r[0], r[1]) for r in b.at_risk] + [(r[0], r[1]) for r in b.renewals["top"]]
    assert all(re.fullmatch(r"c\d{4}", str(name)) and owner == "" for name, owner in shown), shown
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", render_html(b), flags=re.S)
    assert not re.search(r"\bnan\b", re.sub(r"<[^>]+>", " ", page), flags=re.I)
