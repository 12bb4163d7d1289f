"""Anomaly monitoring in the local QNN service: detection on every forecast request, an in-memory store,
and the two QNN monitoring endpoints for anomalies (list, resolve).

The store lives in the service process, like the request log: a restarted service has forgotten its
anomalies (the dashboard keeps its own copy in the `anomalies` table and resolves there too).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from core.contract.anomaly_detection import SEVERITIES, SEVERITY_RANK, AnomalyDict, detect_in_request

log = logging.getLogger(__name__)

ANOMALIES_PATH = "/api/v1/monitoring/anomalies/"


class ServiceAnomaly(AnomalyDict):
    """An anomaly as this service answers it: the detection's fields, its id and what it was found in."""
    id: str
    type: str                    # = anomaly_type, the name other QNN services use
    model_id: str
    prediction_id: str | None
    task: str
    region: str
    resolved: bool
    resolved_at: str | None      # ISO 8601, UTC


class AnomalyStore:
    """Thread-safe, bounded: beyond `capacity` the oldest anomalies are forgotten, resolved ones first."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._items: OrderedDict[str, ServiceAnomaly] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def add_many(self, anomalies: list[ServiceAnomaly]) -> None:
        with self._lock:
            for anomaly in anomalies:
                self._items[anomaly["id"]] = anomaly.copy()
            overflow = len(self._items) - self._capacity
            if overflow > 0:
                resolved = [k for k, v in self._items.items() if v["resolved"]][:overflow]
                for key in resolved:
                    del self._items[key]
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)

    def get(self, anomaly_id: str) -> ServiceAnomaly | None:
        with self._lock:
            item = self._items.get(anomaly_id)
            return item.copy() if item else None

    def resolve(self, anomaly_id: str) -> ServiceAnomaly | None:
        """Marks it resolved once; a second call returns the same record unchanged."""
        with self._lock:
            item = self._items.get(anomaly_id)
            if item is None:
                return None
            if not item["resolved"]:
                item["resolved"] = True
                item["resolved_at"] = dt.datetime.now(dt.UTC).isoformat()
            return item.copy()

    def list(self, *, resolved: bool | None = None, severities: set[str] | None = None,
             model_id: str | None = None, prediction_id: str | None = None, limit: int = 500) -> list[ServiceAnomaly]:
        """Open first, then by severity (worst first), then newest first."""
        with self._lock:
            items = [v.copy() for v in self._items.values()]
        if resolved is not None:
            items = [a for a in items if a["resolved"] == resolved]
        if severities:
            items = [a for a in items if a["severity"] in severities]
        if model_id:
            items = [a for a in items if a.get("model_id") == model_id]
        if prediction_id:
            items = [a for a in items if a.get("prediction_id") == prediction_id]
        items.sort(key=lambda a: a["detected_at"], reverse=True)
        items.sort(key=lambda a: (a["resolved"], -SEVERITY_RANK.get(a["severity"], 0)))
        return items[:limit]

    def counts(self) -> dict[str, int]:
        with self._lock:
            values = list(self._items.values())
        return {"total": len(values), "open": sum(not a["resolved"] for a in values)}


def detect_for_request(task: str | None, fields: Mapping[str, Any], result: Mapping[str, Any] | None,
                       model_id: str, *, prediction_id: str | None = None,
                       store: AnomalyStore | None = None) -> list[ServiceAnomaly]:
    """Anomalies in a forecast request's history (and actuals, if sent), as JSON-ready dicts with ids.

    Never raises: a detection bug must not fail a forecast that was computed.
    """
    if task != "forecast":
        return []
    try:
        found = detect_in_request(dict(fields), dict(result) if result else None)
    except Exception:
        log.exception("anomaly detection failed")
        return []
    anomalies: list[ServiceAnomaly] = []
    for anomaly in found:
        anomalies.append({
            **anomaly.as_dict(),
            "id": str(uuid.uuid4()),
            "type": anomaly.anomaly_type,
            "model_id": model_id,
            "prediction_id": prediction_id,
            "task": task,
            "region": str(fields.get("Region", "")),
            "resolved": False,
            "resolved_at": None,
        })
    if store is not None and anomalies:
        store.add_many(anomalies)
    return anomalies


def _parse_bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(value)


def create_monitoring_router(store: AnomalyStore) -> APIRouter:
    router = APIRouter(tags=["monitoring"])

    @router.get(ANOMALIES_PATH, response_model=None)
    @router.get(ANOMALIES_PATH.rstrip("/"), response_model=None, include_in_schema=False)
    def list_anomalies(resolved: str | None = Query(None, max_length=10),
                       severity: str | None = Query(None, max_length=60, description="comma-separated"),
                       model_id: str | None = Query(None, max_length=200),
                       prediction_id: str | None = Query(None, max_length=200),
                       limit: int = Query(500, ge=1, le=5000)) -> dict[str, Any] | JSONResponse:
        try:
            resolved_flag = _parse_bool(resolved)
        except ValueError:
            return JSONResponse(status_code=422, content={
                "error": "invalid_request", "key": "resolved", "reason": "must be true or false"})
        wanted = {s.strip().lower() for s in severity.split(",") if s.strip()} if severity else None
        if wanted and not wanted <= set(SEVERITIES):
            return JSONResponse(status_code=422, content={
                "error": "invalid_request", "key": "severity",
                "reason": f"must be among {', '.join(SEVERITIES)}; got {', '.join(sorted(wanted - set(SEVERITIES)))}"})
        items = store.list(resolved=resolved_flag, severities=wanted, model_id=model_id,
                           prediction_id=prediction_id, limit=limit)
        return {"anomalies": items, "count": len(items), **store.counts()}

    @router.post(ANOMALIES_PATH.rstrip("/") + "/{anomaly_id}/resolve", response_model=None)
    def resolve_anomaly(anomaly_id: str) -> ServiceAnomaly | JSONResponse:
        item = store.resolve(anomaly_id)
        if item is None:
            return JSONResponse(status_code=404, content={
                "error": "not_found", "key": "anomaly_id",
                "reason": f"no anomaly with id {anomaly_id[:80]!r} (the local service keeps anomalies in memory: "
                          f"a restart forgets them)"})
        return item

    return router
