"""POST /api/feedback against arbitrary bodies: never a 500, never more stored than acknowledged."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.api.app import create_app
from patron.api.keys import create_key
from patron.model import TABLES
from patron.warehouse import open_warehouse

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                          max_size=4), max_leaves=12)
FIELDS = [c.name for c in TABLES["feedback"].columns if c.name != "customer_id"]
ITEMS = st.fixed_dictionaries({"text": st.text(min_size=1, max_size=80), "channel": st.sampled_from(
    ["web", "social", "review", "field", "email", "call", "fax", ""])},
    optional={f: SCALARS | st.datetimes().map(lambda d: d.isoformat()) for f in FIELDS if f not in ("text",
                                                                                                      "channel")})
BODIES = ITEMS | st.lists(ITEMS | JSON, max_size=5) | JSON


def test_no_body_gets_a_500_and_nothing_unacknowledged_is_stored(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        key = create_key(wh, "fuzz")
    acknowledged: set[str] = set()
    with TestClient(create_app(db, requests_per_second=1e6, items_per_minute=10**9)) as client:

        @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(BODIES)
        def post(body):
            r = client.post("/api/feedback", content=json.dumps(body).encode(),
                            headers={"X-API-Key": key, "Content-Type": "application/json"})
            assert r.status_code in (200, 413, 422), (r.status_code, r.text[:300])
            acknowledged.update(r.json().get("ids", []))

        post()
        assert client.app.state.loader.flush()
    with open_warehouse(db) as wh:
        stored = {r[0] for r in wh.rows("SELECT feedback_id FROM feedback")}
    assert acknowledged and stored == acknowledged  # some bodies were good, and only those were stored
