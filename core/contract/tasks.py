"""The tasks of the QNN contract and the checks every request shares, whichever side reads it."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from core.contract import forecast, grid, storage
from core.contract.errors import InputError
from core.contract.fields import get_date, get_text, origin_moment

TASKS = ("forecast", "storage", "grid_switch")
# The model id the local QNN-compatible service answers as, and the dashboard's default model.
LOCAL_MODEL_ID = "local-classical-v1"


def validate_common(fields: Mapping[str, Any]) -> str:
    """Checks shared by every task; returns the task name."""
    task = get_text(fields, "Task", max_length=40)
    if task not in TASKS:
        raise InputError("Task", f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    region_text(fields["Region"] if "Region" in fields else None)
    request_day(task, fields)
    return task


def region_text(region: Any) -> str:
    """A region as a request carries it: checked as sent (control and bidirectional characters anywhere, edges
    included, are refused naming Region), then without its surrounding spaces."""
    return get_text({} if region is None else {"Region": region}, "Region", max_length=80)


def request_day(task: str, fields: Mapping[str, Any]) -> dt.date:
    """The day a request is filed under: its Date; a forecast's or a storage schedule's Date may carry a time of
    day (where it starts)."""
    return origin_moment(fields)[0] if task in ("forecast", "storage") else get_date(fields, "Date")


PARSERS = {"forecast": forecast.parse_request, "storage": storage.parse_request, "grid_switch": grid.parse_request}


def parse_request(fields: Mapping[str, Any]) -> tuple[str, Any]:
    """Every check of the contract, without solving: (task, typed request). Raises InputError naming the key."""
    task = validate_common(fields)
    return task, PARSERS[task](fields)
