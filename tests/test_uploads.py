"""Every way an uploaded CSV can be wrong gets a message that says what is wrong."""
import datetime as dt

import pytest

from core.contract.errors import InputError
from core.client.export import neutralise_formula, write_csv
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
