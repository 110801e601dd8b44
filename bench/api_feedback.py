"""POST /api/feedback on loopback: items per second and p99 latency against a bare FastAPI endpoint.

Both servers run as their own processes under uvicorn on 127.0.0.1. The bare endpoint parses the
JSON body and answers 200: what any FastAPI service pays. patron's validates every item against
the canonical model and writes it (fsynced) to the intake log before answering; its loader
moves the log into the warehouse and scores it a moment later. The load: CLIENTS
concurrent clients, each sending REQUESTS requests, first one item per request (latency), then
BATCH items per request (throughput). Afterwards the warehouse is counted: every item
acknowledged must be stored.

    python bench/api_feedback.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

OUT = Path(__file__).parent / "out"
BARE = """
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
import json
app = FastAPI()
@app.post("/api/feedback")
async def feedback(request: Request):
    body = json.loads(await request.body())
    return JSONResponse({"stored": len(body) if isinstance(body, list) else 1})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            httpx.post(url, content=b"{}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


def load(url: str, key: str, clients: int, requests: int, batch: int, tag: str) -> dict:
    latencies: list[float] = []
    acknowledged = [0]
    lock = threading.Lock()

    def client(c: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as h:
            for r in range(requests):
                items = [{"feedback_id": f"{tag}-{c}-{r}-{i}", "channel": "web", "rating": 1 + i % 5,
                          "text": f"The export to CSV fails again on report {i}", "customer_ref": f"ACC-{c}"}
                         for i in range(batch)]
                t0 = time.perf_counter()
                resp = h.post(url, json=items if batch > 1 else items[0])
                dt = time.perf_counter() - t0
                if resp.status_code != 200:
                    raise SystemExit(f"{url}: {resp.status_code} {resp.text[:200]}")
                with lock:
                    latencies.append(dt)
                    acknowledged[0] += resp.json()["stored"]

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    return {"items": clients * requests * batch, "acknowledged": acknowledged[0], "seconds": seconds,
            "items_per_s": clients * requests * batch / seconds, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=250)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    from patron.api.keys import create_key
    from patron.warehouse import open_warehouse

    folder = Path(tempfile.mkdtemp(prefix="api-", dir=OUT))
    db = folder / "w.duckdb"
    # one key sends everything here, far past the per-key limits a public key gets by default
    (folder / "patron.yml").write_text("api:\n  requests_per_second: 1000000\n  items_per_minute: 1000000000\n")
    with open_warehouse(db) as wh:
        key = create_key(wh, "bench")
    bare_port, patron_port = _port(), _port()
    servers = [
        subprocess.Popen([sys.executable, "-c", BARE, str(bare_port)]),
        subprocess.Popen([sys.executable, "-c", "from patron.cli.main import run; run()", "serve", "--db", str(db),
                          "--config", str(folder / "patron.yml"), "--port", str(patron_port)],
                         stdout=subprocess.DEVNULL),
    ]
    results = {}
    try:
        bare, patron = f"http://127.0.0.1:{bare_port}/api/feedback", f"http://127.0.0.1:{patron_port}/api/feedback"
        _wait(bare)
        _wait(patron)
        for mode, batch in (("single", 1), ("batch", args.batch)):
            requests = args.requests if batch > 1 else args.requests * 4
            for name, url in (("bare", bare), ("patron", patron)):
                results[f"{name}/{mode}"] = load(url, key, args.clients, requests, batch, f"{mode}")
    finally:
        for s in servers:
            s.terminate()
            s.wait()
    with open_warehouse(db) as wh:
        stored = wh.scalar("SELECT count(*) FROM feedback")
        scored = wh.scalar("SELECT count(*) FROM enrichment WHERE source_table = 'feedback'")
    sent = sum(r["items"] for k, r in results.items() if k.startswith("patron"))
    acked = sum(r["acknowledged"] for k, r in results.items() if k.startswith("patron"))
    for k, r in results.items():
        print(f"{k:>14}: {r['items']:>7,} items in {r['seconds']:6.2f} s = {r['items_per_s']:>8,.0f} items/s, "
              f"p50 {r['p50_ms']:6.1f} ms, p99 {r['p99_ms']:6.1f} ms")
    for mode in ("single", "batch"):
        b, p = results[f"bare/{mode}"], results[f"patron/{mode}"]
        print(f"{mode}: patron / bare items/s {p['items_per_s'] / b['items_per_s']:.2f}, "
              f"p99 {p['p99_ms'] / b['p99_ms']:.2f}x")
    print(f"sent {sent:,}, acknowledged {acked:,}, stored {stored:,}: {'nothing lost' if stored == sent else 'LOST'}; "
          f"scored by the background enricher before the service stopped: {scored:,}")
    (OUT / "api_feedback.json").write_text(json.dumps({"args": vars(args), "results": results, "sent": sent,
                                                       "stored": stored}, indent=2))
    if stored != sent:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
