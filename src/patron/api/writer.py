"""Group commit: one thread writes; requests that arrive while a transaction is being committed
wait and go together into the next one. A commit costs milliseconds whatever its size, so many
small requests share it instead of queueing for one each."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from patron.ingest.intake import IntakeResult, Request, store_requests
from patron.warehouse import Warehouse

MAX_ROWS_PER_COMMIT = 50_000


@dataclass
class _Pending:
    request: Request
    future: Future = field(default_factory=Future)


class GroupWriter:
    def __init__(self, wh: Warehouse, table: str, source: str) -> None:
        self.wh, self.table, self.source = wh, table, source
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="patron-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict], origin: str) -> Future[IntakeResult]:
        """The future resolves once the rows are committed (or fails with the reason)."""
        pending = _Pending(Request(rows, origin))
        self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch, rows = [first], len(first.request.rows)
            while rows < MAX_ROWS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
                rows += len(nxt.request.rows)
            try:
                results = store_requests(self.wh, self.table, [p.request for p in batch], self.source)
            except Exception as e:  # every waiting request learns why; nothing was committed
                for p in batch:
                    p.future.set_exception(e)
                continue
            for p, r in zip(batch, results, strict=True):
                p.future.set_result(r)
