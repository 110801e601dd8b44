"""Moves what the API acknowledged from its intake log into the warehouse, a moment later.

Each pass opens the warehouse, runs the pipeline (pipeline.py) with the log (ingest.intake_log)
in place of ingest, so that what arrived is loaded, scored and put in the stored themes, reads
the active keys again (a revoked key stops working at the next pass), and lets the warehouse go:
other commands wait at most one pass, never the service's life. A pass runs when items arrive
(gathering about a second of them) or when another process changed the warehouse; if another
process holds the warehouse, it tries again shortly — the items are safe in the log meanwhile.

The passes run in a process of their own: parsing, loading and scoring hold the GIL, and in the
service's process they would stall the event loop that answers requests.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from patron.api.keys import KeyRing

FINAL_WAIT_S = 30.0  # at shutdown: how long to wait for the warehouse to load what is left
PASS_BYTES = 8 * 2**20  # of the log loaded in one pass (about 40,000 short items): a pass holds the
# warehouse a few seconds at most, then lets other commands in
PASS_STAGES = ("ingest", "enrich", "themes")  # of the pipeline's, each pass (about every second): what
# arrived is loaded, scored and put in the stored themes; identity, spikes and the metric catalog read
# whole tables, so they wait for `patron run`


class IntakeLoader:
    """The service's side: wakes the loading process and hears back from it over a pipe (no
    shared semaphores, which a service stopped by a signal would leave behind)."""

    def __init__(self, db: Path, folder: Path, table: str, source: str, keys: KeyRing,
                 every_s: float = 1.0) -> None:
        self._args = (db, folder, table, source, every_s)
        self._keys = keys
        self._send_lock = threading.Lock()
        self._heard = threading.Condition()
        self._began = self._finished = 0  # passes begun, passes finished
        self._closing = False
        self._start()

    def _start(self) -> None:
        """Start the loading process (again, if it died: the log kept what it had not loaded)."""
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_main, name="patron-intake-loader", daemon=True,
                                 args=(*self._args, child, os.getpid(), self._began))
        self._proc.start()
        child.close()
        self._asked = False  # a wake-up is on its way and the next pass has not begun
        self._listener = threading.Thread(target=self._listen, args=(self._conn,), name="patron-intake-listener",
                                          daemon=True)
        self._listener.start()

    def notify(self) -> None:
        if not self._proc.is_alive() and not self._closing:
            with self._send_lock:
                if not self._proc.is_alive():
                    print("patron serve: the intake loader stopped; starting it again", file=sys.stderr)
                    self._start()
        if not self._asked:  # one message per pass, however many requests arrive
            self._asked = True
            self._send("wake")

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything written to the log before this call is in the warehouse."""
        with self._heard:
            target = self._began + 1  # a pass that begins after this call
        self._send("wake")
        with self._heard:
            return self._heard.wait_for(lambda: self._finished >= target or not self._proc.is_alive(),
                                        timeout) and self._finished >= target

    def close(self) -> None:
        """Load and score what is left (waiting for the warehouse a while if it is busy), then stop."""
        self._closing = True
        self._send("stop")
        self._proc.join(FINAL_WAIT_S + 60)
        self._listener.join(5)
        self._conn.close()

    def _send(self, message: str) -> None:
        # if the loader has gone, the log keeps the items for the next start
        with self._send_lock, contextlib.suppress(OSError):
            self._conn.send(message)

    def _listen(self, conn: Any) -> None:
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                with self._heard:
                    self._heard.notify_all()
                return
            if kind == "keys":
                self._keys.replace(value)
                continue
            with self._heard:
                if kind == "began":
                    self._began, self._asked = value, False
                else:
                    self._finished = value
                self._heard.notify_all()


def _main(db: Path, folder: Path, table: str, source: str, every_s: float, conn: Any, parent: int,
          passes: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which then stops this
    _Passes(db, folder, table, source, conn, passes).run(every_s, parent)


class _Passes:
    def __init__(self, db: Path, folder: Path, table: str, source: str, conn: Any, passes: int = 0) -> None:
        self.db, self.folder, self.table, self.source, self.conn = db, folder, table, source, conn
        self.seen: int | None = None  # loads up to this one are scored and themed (None: not yet known)
        self.stamp = self._changed_at()
        self.began = self.finished = passes  # counted on from an earlier loader's
        self.stop = False
        self.more = False  # the last pass stopped at its budget with more of the log to load

    def run(self, every_s: float, parent: int) -> None:
        # what an earlier run acknowledged and did not load (a crash, a kill)
        retry = not self.once(wait_s=0.0) or self.more
        while not self.stop and os.getppid() == parent:  # a killed service leaves no loader behind
            woken = self._messages(every_s)
            if self.stop:
                break
            if woken or retry:
                self._messages(every_s, gather=True)  # gather a second of arrivals
            elif self._changed_at() == self.stamp:
                continue  # nothing arrived and nobody touched the warehouse (a key revoked, say)
            # busy or failed (the log keeps the items), or a backlog left: again after a pause in
            # which other commands get their turn
            retry = not self.once(wait_s=0.0) or self.more
        while self.once(wait_s=FINAL_WAIT_S) and self.more:  # the rest, before the service stops
            pass

    def _messages(self, wait_s: float, gather: bool = False) -> bool:
        """Read what the service sent within `wait_s` (all of it, when gathering); True if woken."""
        woken, deadline = False, time.monotonic() + wait_s
        while not self.stop:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not self.conn.poll(left):
                    return woken
                message = self.conn.recv()
            except (EOFError, OSError):
                self.stop = True  # the service is gone
                return woken
            self.stop = message == "stop"
            woken = woken or message == "wake"
            if woken and not gather:
                return True
        return woken

    def once(self, wait_s: float) -> bool:
        from patron.warehouse import WarehouseBusy, open_warehouse

        self.began += 1
        self._tell("began", self.began)
        try:
            with open_warehouse(self.db, wait_s=wait_s) as wh:
                self._load(wh)
        except WarehouseBusy:
            return False
        except Exception as e:  # noqa: BLE001 (the service goes on; the log keeps the items)
            print(f"patron serve: loading the intake log failed, will retry: {e}", file=sys.stderr)
            return False
        self.stamp = self._changed_at()
        if not self.more:  # a flush waits for a pass that left nothing behind
            self.finished = self.began
            self._tell("finished", self.finished)
        return True

    def _tell(self, kind: str, value: Any) -> None:
        try:
            self.conn.send((kind, value))
        except OSError:
            self.stop = True

    def _load(self, wh: Any) -> None:
        from patron.api.keys import active_keys
        from patron.ingest.intake_log import has_unloaded, load_log
        from patron.pipeline import Intake, run
        from patron.project import Project

        if self.seen is None:
            # what was in the warehouse before this service started is not its to score or theme:
            # texts a refit left without a theme stay so until the next `patron listen themes`
            self.seen = wh.scalar(f"SELECT coalesce(max(load_id), 0) FROM {self.table}")
        intake = Intake(lambda w: load_log(w, self.folder, self.table, self.source, max_bytes=PASS_BYTES),
                        tables=(self.table,), after_load=self.seen)
        ran = run(Project(None, self.db, warehouse=wh), PASS_STAGES, intake=intake)  # scored, themed: trends see it
        if ran.intake:
            # load ids grow in commit order, so nothing committed later can have a smaller one
            newest = wh.scalar(f"SELECT max(load_id) FROM {self.table}")
            self.seen = newest if newest is not None else self.seen
        self.more = has_unloaded(wh, self.folder, self.table)  # a backlog goes a pass at a time
        self._tell("keys", active_keys(wh))

    def _changed_at(self) -> tuple[float, ...]:
        """When the warehouse file (or its write-ahead log) last changed."""
        return tuple(p.stat().st_mtime if p.exists() else 0.0
                     for p in (self.db, self.db.with_name(self.db.name + ".wal")))
