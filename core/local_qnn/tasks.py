"""Dispatch a decoded request to its engine. The engines are plain modules under core.local_qnn.engines."""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from core.contract.errors import InputError
from core.contract.fields import get_date, get_text

ENGINE_MODULES: dict[str, str] = {
    "forecast": "core.local_qnn.engines.forecast.forecaster",
    "storage": "core.local_qnn.engines.storage.dispatch",
    "grid_switch": "core.local_qnn.engines.grid.reconfiguration",
}


def engine_for(task: str) -> Any:
    module_name = ENGINE_MODULES[task]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # a missing dependency is a bug, not an unsupported task
        raise InputError("Task", f"Task={task} is not supported yet by the local QNN service") from None


def validate_common(fields: Mapping[str, Any]) -> str:
    """Checks shared by every task; returns the task name."""
    task = get_text(fields, "Task", max_length=40)
    if task not in ENGINE_MODULES:
        raise InputError("Task", f"unknown task {task!r}; use one of {', '.join(ENGINE_MODULES)}")
    get_text(fields, "Region", max_length=80)
    get_date(fields, "Date")
    return task


def parse_task(fields: Mapping[str, Any]) -> tuple[str, Any, Any]:
    """Validate everything; returns (task, engine module, parsed request). Raises InputError."""
    task = validate_common(fields)
    engine = engine_for(task)
    return task, engine, engine.parse_request(fields)
