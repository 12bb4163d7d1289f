"""Every way an uploaded CSV can be wrong gets a message that says what is wrong."""
import datetime as dt

import pytest

from core.contract.errors import InputError
from core.usecases.export import neutralise_formula, write_csv
from core.inputs.forecast import history_from_csv
from core.inputs.uploads import numeric_column, read_csv_upload, timestamp_column

START = dt.date(2025, 3, 10)


def _hourly_csv(days=7, value="{v}", header="timestamp,load_mw"):
    rows = [header]
    first = dt.datetime.combine(START, dt.time()) - dt.timedelta(days=days)
    for i in range(days * 24):
        rows.append(f"{(first + dt.timedelta(hours=i)).isoformat()},{value.format(v=200 + i % 24)}")
    return "\n".join(rows).encode()


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"   \n  ", "empty"),
    (b"timestamp,load\n", "no rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
    (b"x" * (11 * 1024 * 1024), "limit"),
])
def test_unreadable_files(data, words):
    with pytest.raises(InputError) as err:
        read_csv_upload(data)
    assert words in err.value.reason


def test_windows_1252_text_is_read():
    frame = read_csv_upload("zeit;last\n2025-01-01 00:00;1,5\n".encode("cp1252").replace(b"zeit", b"Zeit\xe4"))
    assert list(frame.columns) == ["Zeitä", "last"]


def test_wrong_types_name_the_row():
    frame = read_csv_upload(b"timestamp,load\n2025-01-01 00:00,12\n2025-01-01 01:00,abc\n")
    with pytest.raises(InputError) as err:
        numeric_column(frame, "load", label="History CSV")
    assert "row 3" in err.value.reason and "abc" in err.value.reason
    bad_time = read_csv_upload(b"timestamp,load\nyesterday-ish,12\n")
    with pytest.raises(InputError) as err:
        timestamp_column(bad_time, "timestamp", label="History CSV")
    assert "not a date" in err.value.reason


def test_wrong_columns_are_named():
    frame = read_csv_upload(b"a,b\n1,2\n")
    with pytest.raises(InputError) as err:
        numeric_column(frame, "load", label="History CSV")
    assert "no column 'load'" in err.value.reason


def test_history_csv_round_trip_and_no_numeric_column():
    history = history_from_csv(_hourly_csv(), START, 60)
    assert len(history.loads_mw) == 7 * 24 and history.timestamps[-1].startswith("2025-03-09T23:00")
    with pytest.raises(InputError):
        history_from_csv(_hourly_csv(value="high"), START, 60)


def test_exports_neutralise_spreadsheet_formulas():
    import io

    assert neutralise_formula("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert neutralise_formula("@SUM(A1)") == "'@SUM(A1)" and neutralise_formula("Texas") == "Texas"
    out = io.StringIO()
    write_csv([{"id": "1", "region": "=HYPERLINK(\"http://x\")", "status": "completed",
                "input_payload": {"code": "+1"}, "result_payload": None}], out)
    assert "'=HYPERLINK" in out.getvalue() and out.getvalue().splitlines()[1].endswith(",'+1")


def _loads_csv(edits=None, days=7, end_early_h=0):
    edits = edits or {}
    rows = ["timestamp,load_mw"]
    first = dt.datetime.combine(START, dt.time()) - dt.timedelta(days=days)
    for i in range(days * 24 - end_early_h):
        rows.append(f"{(first + dt.timedelta(hours=i)).isoformat()},{edits.get(i, f'{110 + i % 24 * 0.5:.1f}')}")
    return "\n".join(rows).encode()


def test_a_kw_value_in_an_mw_column_names_its_row_and_the_fix():
    with pytest.raises(InputError) as err:
        history_from_csv(_loads_csv({100: "105200"}), START, 60)
    assert "row 102" in err.value.reason and "105,200" in err.value.reason and "kW" in err.value.reason
    assert "write 105.2" in err.value.reason.lower()


def test_a_typo_names_its_row_and_value_not_the_column():
    with pytest.raises(InputError) as err:
        history_from_csv(_loads_csv({120: "1O5.2"}), START, 60)
    assert "row 122" in err.value.reason and "'1O5.2' is not a number" in err.value.reason
    assert "no numeric load column" not in err.value.reason


def test_gaps_are_counted_and_located():
    history = history_from_csv(_loads_csv({50: "n/a", 51: "n/a", 52: ""}), START, 60)
    assert history.report["missing_rows"] == ("3 missing values (empty or n/a) at rows 52, 53 and 54 "
                                              "(between 2025-03-05 02:00 and 2025-03-05 04:00)")
    assert sum(v is None for v in history.loads_mw) == 3


def test_a_file_that_ends_early_says_where_and_which_day_works():
    with pytest.raises(InputError) as err:
        history_from_csv(_loads_csv(end_early_h=50), START, 60)
    assert err.value.key == "First forecast day"
    assert "ends at 2025-03-07 21:00" in err.value.reason and "Choose 2025-03-07" in err.value.reason
    with pytest.raises(InputError) as err:
        history_from_csv(_loads_csv(days=1), START, 60)
    assert "covers only 24 h" in err.value.reason


def test_a_price_file_that_ends_early_says_which_days_work():
    from core.inputs.storage import prices_from_csv

    rows = ["timestamp,price"] + [f"2025-06-{d:02d}T{h:02d}:00:00,{50 + h}" for d in (7, 8, 9) for h in range(24)]
    with pytest.raises(InputError) as err:
        prices_from_csv("\n".join(rows).encode(), dt.date(2025, 6, 8), 60, 72)
    assert "ends at 2025-06-10 00:00" in err.value.reason and "72 h horizon" in err.value.reason
    assert "choose the day 2025-06-07" in err.value.reason and "to 48 h" in err.value.reason
    with pytest.raises(InputError) as err:
        prices_from_csv("\n".join(rows).encode(), dt.date(2025, 6, 8), 60, 96)
    assert "the file is shorter than the horizon" in err.value.reason
    with pytest.raises(InputError) as err:
        prices_from_csv("\n".join(rows).encode(), dt.date(2025, 6, 9), 60, 24 + 12)
    assert "choose a day from 2025-06-07 to 2025-06-08" in err.value.reason


@pytest.mark.parametrize("header, scale, unit", [
    ("load_kw", 1000, "kW"), ("demand_kw", 1000, "kW"), ("kw", 1000, "kW"), ("Load (kW)", 1000, "kW"),
    ("mw", 1, None), ("load_mw", 1, None), ("gw", 0.001, "GW"), ("demand_gw", 0.001, "GW"),
])
def test_a_unit_in_the_load_header_is_converted_to_mw_and_said(header, scale, unit):
    rows = ["timestamp," + (f'"{header}"' if " " in header else header)]
    first = dt.datetime.combine(START, dt.time()) - dt.timedelta(days=7)
    for i in range(7 * 24):
        rows.append(f"{(first + dt.timedelta(hours=i)).isoformat()},{(200 + i % 24) * scale:g}")
    history = history_from_csv("\n".join(rows).encode(), START, 60)
    assert history.loads_mw[:3] == pytest.approx([200, 201, 202])
    note = history.report["unit_note"]
    assert (f"is in {unit}" in note and "converted to MW" in note) if unit else note == ""


def test_a_load_beyond_the_contract_is_refused_by_the_form_in_words():
    """Millions under a header that names no unit (a state's demand in kW): the service would refuse PastLoads
    with jargon after storing a failed run; the form refuses it first, in words."""
    with pytest.raises(InputError) as err:
        history_from_csv(_hourly_csv(value="{v}0000", header="timestamp,load"), START, 60)
    assert err.value.key == "History CSV"
    assert "beyond the 1,000,000 MW a forecast accepts" in err.value.reason and "load_kw" in err.value.reason


def test_weather_forecast_rows_with_empty_load_are_not_missing_values():
    """Rows after the history that carry only the weather forecast, as the help text asks: no gap warning; a gap in
    the history still is one."""
    from core.inputs.forecast import upload_preview

    first = dt.datetime.combine(START, dt.time()) - dt.timedelta(days=7)
    rows = ["timestamp,load_mw,temperature_c"]
    for i in range(8 * 24):
        moment = first + dt.timedelta(hours=i)
        load = "" if moment.date() >= START or i == 30 else f"{200 + i % 24}"
        rows.append(f"{moment.isoformat()},{load},{20 + i % 24 / 4}")
    data = "\n".join(rows).encode()
    preview = upload_preview(data)
    assert preview is not None and preview.latest_start == START, "the day after the history"
    assert preview.earliest_start == START - dt.timedelta(days=5)
    history = history_from_csv(data, START, 60, horizon_steps=24)
    assert history.report["missing_rows"].startswith("1 missing value (empty or n/a) at row 32")
    assert len(history.weather["TemperatureC"]) == 7 * 24 + 24


def test_one_column_reader_for_decimal_commas_and_non_finite_cells():
    # Uploads and the forecast history read columns with one reader (core/inputs/uploads.lenient_numbers).
    # The uploads' copy once kept "inf": a measured column then passed it on (or called it "inf× the typical").
    import pandas as pd

    from core.inputs.uploads import lenient_numbers, strict_numbers

    assert lenient_numbers(pd.Series(["1,5", " 2 ", "", "n/a"])).tolist()[:2] == [1.5, 2.0]
    assert lenient_numbers(pd.Series(["1,5", "2.5"])).isna().tolist() == [True, False]  # a point: commas are not decimals
    assert lenient_numbers(pd.Series(["inf", "-inf", "1e400", "3"])).isna().tolist() == [True, True, True, False]
    frame = pd.DataFrame({"load_mw": ["200", "inf", "201"]})
    with pytest.raises(InputError) as err:
        strict_numbers(frame, "load_mw", label="History CSV", unit="MW")
    assert "row 3" in err.value.reason and "'inf' is not a number" in err.value.reason
