"""Group commit: one thread writes; requests that arrive while a transaction is being committed
wait and go together into the next one. A commit costs milliseconds whatever its size, so many
small requests share it instead of queueing for one each."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from patron.ingest.intake import IntakeResult, Request, store_requests
from patron.listen.sentiment import Sentiments
from patron.warehouse import Warehouse

MAX_ROWS_PER_COMMIT = 50_000


@dataclass
class _Pending:
    request: Request
    future: Future = field(default_factory=Future)


class GroupWriter:
    def __init__(self, wh: Warehouse, table: str, source: str, after: Callable[[], None] | None = None) -> None:
        self.wh, self.table, self.source, self.after = wh, table, source, after
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
            if self.after:
                self.after()


class BackgroundEnricher:
    """Scores what the writer stored and puts it in the stored themes, shortly after, on a
    connection of its own: an answer never waits for the model, and a quiet service does no work."""

    def __init__(self, wh: Warehouse, every_s: float = 1.0) -> None:
        self.wh, self.every_s = wh.cursor(), every_s
        # the model runs in a process of its own: scoring holds the GIL, and in this process it
        # would stall the event loop that answers requests
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._seen: int | None = None  # loads up to this one are scored (None: look at everything once)
        self._new = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="patron-enricher", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._new.set()

    def close(self) -> None:
        self._stop.set()
        self._new.set()
        self._thread.join()
        self._pool.shutdown()
        self.wh.close()

    def _score(self, texts: list[str]) -> Sentiments:
        from patron.listen.enrich import score

        return self._pool.submit(score, texts).result()

    def _run(self) -> None:
        from patron.listen.enrich import enrich
        from patron.listen.themes import assign_new

        while not self._stop.is_set():
            self._new.wait()
            if self._stop.wait(self.every_s):  # gather a second of arrivals, or stop
                break
            self._new.clear()
            self._pass(enrich, assign_new)
        self._pass(enrich, assign_new)  # what arrived last is scored before the service stops

    def _pass(self, enrich: Callable[..., object], assign_new: Callable[..., object]) -> None:
        # load ids grow in commit order (one writer), so nothing committed later can have a smaller one
        newest = self.wh.scalar("SELECT max(load_id) FROM feedback")
        enrich(self.wh, tables=("feedback",), after_load=self._seen, scorer=self._score)
        assign_new(self.wh, tables=("feedback",), after_load=self._seen)  # trends and spikes see it
        self._seen = newest if newest is not None else self._seen
