"""Invariants over any mix of good and bad rows: the counts add up, a second load adds nothing."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.ingest import ingest_file
from patron.warehouse import open_warehouse

GOOD = {"survey": ["nps", "NPS", "csat"], "score": ["3", "4", "5"], "submitted_at": ["2024-01-02", "2023-12-31 10:00"]}
BAD = {"survey": ["poll", ""], "score": ["x", "", "99", "4.5"], "submitted_at": ["soon", "", "2999-01-01"]}

row = st.fixed_dictionaries({
    "key": st.sampled_from(["a", "b", "c", "d", "e", "f", ""]),
    **{f: st.tuples(st.booleans(), st.integers(0, 3)) for f in GOOD},
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(row, max_size=25))
def test_counts_add_up_and_reloading_adds_nothing(rows):
    expected, seen = 0, set()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["response_id", "customer_ref", "survey", "score", "submitted_at"])
            for r in rows:
                values, ok = {}, r["key"] != ""
                for field in GOOD:
                    good, i = r[field]
                    pool = GOOD[field] if good else BAD[field]
                    values[field] = pool[i % len(pool)]
                    ok &= good
                w.writerow([r["key"], "A", values["survey"], values["score"], values["submitted_at"]])
                if ok and r["key"] not in seen:  # an independent oracle: first valid row per key wins
                    seen.add(r["key"])
                    expected += 1
        with open_warehouse(Path(tmp) / "w.duckdb") as wh:
            first = ingest_file(wh, path, "responses").files[0]
            assert first.read == len(rows)
            assert first.loaded == expected
            assert first.quarantined == len(rows) - expected
            assert wh.scalar("SELECT count(DISTINCT row_number) FROM quarantine") == len(rows) - expected
            second = ingest_file(wh, path, "responses").files[0]
            assert (second.loaded, second.already_loaded, second.quarantined) == (0, expected, len(rows) - expected)
            assert second.new_in_quarantine == 0
            assert wh.scalar("SELECT count(*) FROM responses") == expected
