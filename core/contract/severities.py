"""What a QNN service says about anomalies: severities, in rising order (the monitoring endpoints' contract)."""
from __future__ import annotations

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}
