"""Resolving an anomaly: on the QNN service that found it (when it can), then in the `anomalies` table.

The table is the dashboard's record, so a resolution is always stored there; the outcome says honestly
whether the QNN service was told too, and if not, why.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Engine

from core.db.anomalies_and_metrics import get_anomaly, resolve_anomaly
from core.db.rows import StoredAnomaly
from core.qnn.client import QNNClient, QNNError
from core.redaction import redacted_text

RESOLVE_PATH = "/api/v1/monitoring/anomalies/{anomaly_id}/resolve"


@dataclass(frozen=True)
class ResolveOutcome:
    ok: bool
    remote: str        # resolved | unknown_id | not_supported | failed | not_applicable | other_backend | skipped
    message: str       # for the operator
    anomaly: StoredAnomaly | None = None


def resolve_everywhere(engine: Engine, client: QNNClient | None, anomaly_id: str | uuid.UUID, *,
                       current_backend: str, note: str | None = None) -> ResolveOutcome:
    row = get_anomaly(engine, anomaly_id)
    if row is None:
        return ResolveOutcome(False, "skipped", "This anomaly no longer exists (its run may have been deleted).")
    if row["resolved"]:
        return ResolveOutcome(True, "skipped", "Already resolved.", row)

    remote, message = _tell_the_service(row, client, current_backend)
    stored = resolve_anomaly(engine, anomaly_id, note=note)
    if stored is None:  # deleted between the read and the update
        return ResolveOutcome(False, remote, "This anomaly no longer exists (its run may have been deleted).")
    return ResolveOutcome(True, remote, message, stored)


def _tell_the_service(row: StoredAnomaly, client: QNNClient | None, current_backend: str) -> tuple[str, str]:
    if row["source"] != "qnn" or not row.get("external_id"):
        return "not_applicable", "Resolved. (The dashboard found this one itself, so only its table is updated.)"
    if row["backend"] != current_backend or client is None:
        return "other_backend", (f"Resolved in the dashboard. It was reported by {row['backend']}, which is not the "
                                 f"QNN service in use now, so that service was not told.")
    path = RESOLVE_PATH.format(anomaly_id=quote(str(row["external_id"]), safe=""))
    try:
        client.post_json(path)
    except QNNError as exc:
        if exc.status_code == 404:
            return "unknown_id", ("Resolved in the dashboard. The QNN service no longer knows this anomaly (the "
                                  "local service keeps anomalies in memory and forgets them when it restarts).")
        if exc.status_code in (405, 501):
            return "not_supported", ("Resolved in the dashboard. This QNN service does not support resolving "
                                     "anomalies through its API.")
        return "failed", f"Resolved in the dashboard, but the QNN service could not be updated: {redacted_text(exc, 400)}"
    return "resolved", "Resolved on the QNN service and in the dashboard."
