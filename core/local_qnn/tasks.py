"""Dispatch a decoded request to its engine: each engine module has `parse_request(fields)` and `run(request)`."""
from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from core.contract.tasks import parse_request
from core.local_qnn.engines.forecast import forecaster
from core.local_qnn.engines.grid import reconfiguration
from core.local_qnn.engines.storage import dispatch

ENGINES: dict[str, ModuleType] = {"forecast": forecaster, "storage": dispatch, "grid_switch": reconfiguration}


def parse_task(fields: Mapping[str, Any]) -> tuple[str, ModuleType, Any]:
    """Validate everything; returns (task, engine module, parsed request). Raises InputError."""
    task, request = parse_request(fields)
    return task, ENGINES[task], request
