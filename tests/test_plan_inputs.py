"""Plan form inputs: history CSV with and without a temperature column, uploaded network JSON."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from core.contract.errors import InputError
from core.inputs.plan import csv_history, currency_of, demo_feeder_history, network_from_upload

DAY = dt.date(2025, 7, 15)


def _csv(days: int = 14, with_temperature: bool = True, cover_day: bool = True) -> bytes:
    hours = days * 24 + (24 if cover_day else 0)
    stamps = pd.date_range(pd.Timestamp(DAY) - pd.Timedelta(days=days), periods=hours, freq="h")
    load = 8 + np.sin(np.arange(hours) / 24 * 2 * np.pi)
    frame = pd.DataFrame({"timestamp": stamps, "load_mw": load})
    if cover_day:
        frame.loc[frame["timestamp"] >= pd.Timestamp(DAY), "load_mw"] = None  # the day itself: weather only
    if with_temperature:
        frame["temperature_c"] = 20 + 5 * np.cos(np.arange(hours) / 24 * 2 * np.pi)
    return frame.to_csv(index=False).encode()


def test_history_with_temperature_covers_history_and_day():
    history, temperature, note = csv_history(_csv(), DAY)
    assert len(history.loads_mw) == 14 * 24
    assert temperature is not None and len(temperature) == 14 * 24 + 24
    assert temperature[0] == pytest.approx(25.0) and "temperature_c" in note


def test_temperature_left_out_when_the_day_is_not_covered():
    history, temperature, note = csv_history(_csv(cover_day=False), DAY)
    assert temperature is None and "load alone" in note and len(history.loads_mw) == 14 * 24


def test_history_without_temperature():
    _, temperature, note = csv_history(_csv(with_temperature=False), DAY)
    assert temperature is None and "no temperature column" in note


def test_demo_feeder_is_about_ten_mw():
    peak = max(demo_feeder_history("Texas", DAY, 28).loads_mw)
    assert 9.0 < peak < 12.5
    assert currency_of("Bavaria") == "EUR" and currency_of("Atlantis") == "USD"


def test_network_upload():
    net = {"vn_kv": 12.66, "slack_bus": "S", "buses": [{"id": "S"}, {"id": "B", "p_kw": 100}],
           "lines": [{"id": "L", "from_bus": "S", "to_bus": "B", "r_ohm": 0.1, "x_ohm": 0.1}]}
    assert network_from_upload(json.dumps(net).encode()) == net
    for bad in (b"", b"{not json", b"[1, 2]", json.dumps({"buses": []}).encode()):
        with pytest.raises(InputError) as err:
            network_from_upload(bad)
        assert err.value.key == "Network JSON"
