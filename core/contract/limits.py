"""Request and answer size limits, in one place: the UI, the client and the service all read these."""
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

# Hostile-input bounds (issue 12): every number, text and date a request carries is checked against these
# before an engine sees it, so no input can overflow a solver or the JSON answer.
MAX_JSON_DEPTH: int = 8            # a network object is 3 levels deep; nothing legitimate comes near 8
MAX_INTEGER_DIGITS: int = 30       # far beyond any count or MW value; stops 5000-digit integers early
MAX_ABS_PRICE_PER_MWH: float = 1e6  # market price caps are ~1e4/MWh; beyond this the LP loses precision
MAX_ABS_POWER_MW: float = 1e6      # loads, PV, past loads: a TW is not a distribution or balancing value
MIN_EFFICIENCY: float = 0.01       # one-way; below this a battery stores nothing and 1/eta overflows
MIN_DATE_ISO: str = "1900-01-01"   # the calendars (holidays, pandas) and a year of history fit inside
MAX_DATE_ISO: str = "2199-12-31"
# Solver budgets, so an answer (flagged not proven optimal) comes back inside the client's 60 s read timeout
# even after waiting in the service's queue for a free engine slot.
STORAGE_SOLVE_BUDGET_S: int = _env_int("EGLO_STORAGE_SOLVE_BUDGET_S", 30)
SERVICE_PARALLEL_RUNS: int = max(1, _env_int("EGLO_QNN_PARALLEL_RUNS", os.cpu_count() or 1))
SERVICE_QUEUE_S: int = _env_int("EGLO_QNN_QUEUE_S", 5)

# What the client reads of a QNN answer (issue 21): a hostile or broken service must not make it hold, parse or
# store more. The largest answers the local service gives (each request POSTed to core.local_qnn; the body's
# bytes as sent, and its nesting depth over objects and lists):
#   forecast, 7 days at 15 min (672 steps; 28 or 365 days of history)      53.7 kB   depth 5
#   storage dispatch, 7 days at 15 min, with Load and PV                     45.9 kB   depth 4
#   grid switching, ieee69 (the biggest built-in case), hourly, 168 steps    50.1 kB   depth 5
# The limits leave a wide margin for a remote API that says more: 8 MiB is about 150 times the largest answer,
# 32 levels over 6 times the deepest and still far below where Python's recursive JSON decoder gives out (~1000).
MAX_ANSWER_BYTES: int = _env_int("EGLO_MAX_ANSWER_BYTES", 8 * 1024 * 1024)
MAX_ANSWER_DEPTH: int = 32
