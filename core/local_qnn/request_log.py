"""In-memory log of recent requests: feeds the monitoring endpoints."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RequestRecord:
    time: float
    model_id: str
    task: str | None
    mode: str
    duration_ms: float
    status: str  # "completed" | "rejected" | "error"
    error: str | None = None


class RequestLog:
    def __init__(self, capacity: int = 5000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self.started_at = time.time()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def for_model(self, model_id: str, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = [r for r in self._records if r.model_id == model_id][-limit:]
        return [asdict(r) for r in reversed(rows)]

    def metrics(self) -> dict[str, Any]:
        with self._lock:
            rows = list(self._records)
        durations = np.array([r.duration_ms for r in rows if r.status == "completed"], dtype=float)
        pct = (lambda q: round(float(np.percentile(durations, q)), 3) if len(durations) else None)
        by_task: dict[str, int] = {}
        for r in rows:
            by_task[r.task or "unknown"] = by_task.get(r.task or "unknown", 0) + 1
        return {
            "requests_total": len(rows),
            "requests_by_task": by_task,
            "completed": sum(r.status == "completed" for r in rows),
            "rejected": sum(r.status == "rejected" for r in rows),
            "errors": sum(r.status == "error" for r in rows),
            "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99)},
            "device_used": "local-cpu",
            "n_qubits": None,
            "quantum_cost_usd_total": 0.0,
            "uptime_s": round(time.time() - self.started_at, 1),
        }
