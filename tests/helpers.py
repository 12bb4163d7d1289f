"""Small builders shared by tests."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from core.contract.codec import encode_request
from core.demo.profiles import demo_load_history


def forecast_fields(region: str = "California", start: dt.date = dt.date(2025, 6, 7), days: int = 21,
                    resolution: int = 60, horizon: int = 24) -> dict[str, Any]:
    _, loads = demo_load_history(region, start, days=days, resolution_min=resolution)
    return {"Task": "forecast", "Region": region, "Date": start.isoformat(), "Resolution": resolution,
            "Horizon": horizon, "PastLoads": loads}


def forecast_code(**kwargs: Any) -> str:
    return encode_request(forecast_fields(**kwargs))


def plotly_figures(at: Any) -> list[dict[str, Any]]:
    """The Plotly figures an AppTest run drew (AppTest has no accessor: the element's spec is JSON)."""
    import json

    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def db_now(engine: Any) -> dt.datetime:
    """The database's clock: rows a test writes by hand are stamped as the app would stamp them (the test
    process may run on another clock, see `pytest --clock`)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("select now()")).scalar_one()


def weekly_load(n_steps: int, first: dt.datetime, per_day: int = 24, level: float = 100.0) -> np.ndarray:
    """Noise-free load on a wall-clock grid from `first`: a morning and an evening hump, lower at weekends."""
    step = dt.timedelta(minutes=1440 // per_day)
    stamps = [first + step * i for i in range(n_steps)]
    hour = np.array([s.hour + s.minute / 60 for s in stamps])
    weekend = np.array([s.weekday() >= 5 for s in stamps])
    daily = 20 * np.exp(-((hour - 8) / 2.5) ** 2) + 30 * np.exp(-((hour - 19) / 3) ** 2)
    return level + daily * np.where(weekend, 0.6, 1.0) - np.where(weekend, 10, 0)
