"""Leases on the runs and plans this process computes: renewed every third of the lease, by one thread.

Guarantees: while a run id is in `runs` (a plan id in `plans`) and the database answers, its heartbeat_at is
never older than a third of `lease_s` plus one database round trip. A process that stops (kill -9, a crash,
a host lost) stops renewing; after `lease_s` any retry with the run's Idempotency-Key may take it over
(core/db/runs.take_over_run). A database that does not answer only delays renewals: the next one catches up.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from core.db.plans import renew_plan_leases
from core.db.runs import renew_leases

log = logging.getLogger(__name__)


@dataclass
class Leases:
    engine_provider: Callable[[], Engine]
    lease_s: float = 15.0
    runs: set[str] = field(default_factory=set)
    plans: set[str] = field(default_factory=set)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.lease_s)

    def start(self) -> None:
        """Idempotent: the renewing thread runs from the first call until `stop`."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._renew_forever, daemon=True, name="leases")
                self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def renew(self) -> None:
        runs, plans = set(self.runs), set(self.plans)
        if not runs and not plans:
            return
        try:
            engine = self.engine_provider()
            renew_leases(engine, runs)
            renew_plan_leases(engine, plans)
        except Exception as exc:  # the database is down: the next renewal catches up
            log.warning("lease renewal skipped: %s", type(exc).__name__)

    def _renew_forever(self) -> None:
        while not self._stopping.wait(self.lease_s / 3):
            self.renew()
