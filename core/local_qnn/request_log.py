"""In-memory log of recent requests: feeds the monitoring endpoints."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np


class RequestRecordDict(TypedDict):
    time: float
    model_id: str
    task: str | None
    mode: str
    duration_ms: float
    status: str
    error: str | None


class TaskStats(TypedDict):
    requests: int
    completed: int
    rejected: int
    errors: int
    latency_ms: dict[str, float | None]   # p50, p95, p99 of completed requests
    quantum_cost_usd: float


@dataclass(frozen=True)
class RequestRecord:
    time: float
    model_id: str
    task: str | None
    mode: str
    duration_ms: float
    status: str  # "completed" | "rejected" | "error" | "busy" (no free engine slot)
    error: str | None = None

    def as_dict(self) -> RequestRecordDict:
        return {"time": self.time, "model_id": self.model_id, "task": self.task, "mode": self.mode,
                "duration_ms": self.duration_ms, "status": self.status, "error": self.error}


class RequestLog:
    def __init__(self, capacity: int = 5000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self.started_at = time.time()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def for_model(self, model_id: str, limit: int = 100) -> list[RequestRecordDict]:
        with self._lock:
            rows = [r for r in self._records if r.model_id == model_id][-limit:]
        return [r.as_dict() for r in reversed(rows)]

    def metrics(self) -> dict[str, Any]:
        with self._lock:
            rows = list(self._records)
        durations = np.array([r.duration_ms for r in rows if r.status == "completed"], dtype=float)
        pct = (lambda q: round(float(np.percentile(durations, q)), 3) if len(durations) else None)
        by_task: dict[str, int] = {}
        for r in rows:
            by_task[r.task or "unknown"] = by_task.get(r.task or "unknown", 0) + 1
        by_task_stats: dict[str, TaskStats] = {}
        for name in by_task:
            of_task = [r for r in rows if (r.task or "unknown") == name]
            done = np.array([r.duration_ms for r in of_task if r.status == "completed"], dtype=float)
            by_task_stats[name] = {
                "requests": len(of_task),
                "completed": sum(r.status == "completed" for r in of_task),
                "rejected": sum(r.status == "rejected" for r in of_task),
                "errors": sum(r.status == "error" for r in of_task),
                "latency_ms": {q: (round(float(np.percentile(done, v)), 3) if len(done) else None)
                               for q, v in (("p50", 50), ("p95", 95), ("p99", 99))},
                "quantum_cost_usd": 0.0,  # classical solvers on this CPU: no quantum time is billed
            }
        by_mode: dict[str, int] = {}
        for r in rows:
            by_mode[r.mode] = by_mode.get(r.mode, 0) + 1
        return {
            "by_task": by_task_stats,
            "requests_by_mode": by_mode,
            "error_rate": round(sum(r.status == "error" for r in rows) / len(rows), 4) if rows else None,
            "requests_total": len(rows),
            "requests_by_task": by_task,
            "completed": sum(r.status == "completed" for r in rows),
            "rejected": sum(r.status == "rejected" for r in rows),
            "errors": sum(r.status == "error" for r in rows),
            "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99),
                           "mean": round(float(durations.mean()), 3) if len(durations) else None,
                           "max": round(float(durations.max()), 3) if len(durations) else None},
            "device_used": "local-cpu",
            "n_qubits": None,
            "circuit_depth": None,
            "quantum_cost_usd_total": 0.0,
            "uptime_s": round(time.time() - self.started_at, 1),
        }
