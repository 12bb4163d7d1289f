"""Request size limits, in one place: the UI, the client and the service all read these."""
from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# 366 days of 15-minute steps: a leap year of quarter-hourly history.
MAX_SERIES_LENGTH: int = _env_int("EGLO_MAX_SERIES_LENGTH", 366 * 96)
# The encoded request; a leap year of 15-minute values with 10 significant digits fits comfortably.
MAX_CODE_BYTES: int = _env_int("EGLO_MAX_CODE_BYTES", 2_000_000)
MAX_UPLOAD_BYTES: int = _env_int("EGLO_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
MAX_NETWORK_BUSES: int = _env_int("EGLO_MAX_NETWORK_BUSES", 1000)
MAX_NETWORK_LINES: int = _env_int("EGLO_MAX_NETWORK_LINES", 1500)
MAX_FORECAST_HORIZON_HOURS: int = 7 * 24
MIN_FORECAST_HISTORY_HOURS: int = 2 * 24
# The forecast engine's history: up to a year (a leap year) of steps.
MAX_FORECAST_HISTORY_DAYS: int = 366
