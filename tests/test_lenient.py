"""The lenient readers (core/contract/lenient.py): one rule for every reader of what a service answered.

Before they had one home, the copies disagreed on the edges pinned here: the storage chart took NaN and
infinity as numbers, the history outcomes took only lists (not tuples), and the search's and detection's array
readers read the text "1.5" as 1.5 whenever every item of the list could be converted."""
import datetime as dt
import math

import numpy as np
import pytest

from core.charts.storage import step_bars
from core.contract.lenient import (read_float_array, read_number, read_number_field, read_numbers, read_text, read_time,
                                   read_whole)


@pytest.mark.parametrize("value", [None, True, False, "1.5", float("nan"), float("inf"), -float("inf"), 10 ** 400,
                                   [1.0], {"a": 1}])
def test_what_is_not_a_finite_number_reads_as_missing(value):
    assert read_number(value) is None
    assert read_number_field({"Key": value}, "Key", 7.0) == 7.0


def test_numbers_read_as_floats():
    assert read_number(3) == 3.0 and isinstance(read_number(3), float)
    assert read_number(np.float64(2.5)) == 2.5
    assert read_number_field({}, "Missing", 1.25) == 1.25
    assert read_number_field({"Key": 4}, "Key", 1.0) == 4.0


def test_a_list_or_tuple_reads_item_by_item_and_text_is_no_list():
    assert read_numbers([1, None, "2", True, float("inf"), 2.5]) == [1.0, None, None, None, None, 2.5]
    assert read_numbers((1, 2)) == [1.0, 2.0]
    assert read_numbers("12") == [] and read_numbers(None) == [] and read_numbers({"a": 1}) == []


def test_float_array_marks_everything_but_finite_numbers_as_nan():
    for values in (["1.5", 2.0], [True, 2.0], [float("inf"), 2.0], [10 ** 400, 2.0], [[1.0], 2.0], [None, 2.0]):
        out = read_float_array(values)
        assert out.dtype == float and len(out) == 2
        assert math.isnan(out[0]) and out[1] == 2.0, values
    assert read_float_array([1, 2.5]).tolist() == [1.0, 2.5]
    assert read_float_array(np.array([1.0, np.inf])).tolist()[0] == 1.0 and np.isnan(read_float_array(np.array([np.inf])))[0]
    for not_a_list in (None, "123", 5, {"a": 1}):
        assert len(read_float_array(not_a_list)) == 0


def test_storage_chart_reads_a_non_finite_resolution_as_the_default():
    # The chart's own copy once took infinity as a resolution: timedelta(minutes=inf) raised OverflowError.
    bars = step_bars(["2026-01-01T00:00:00", "2026-01-01T01:00:00"], {"Resolution": float("inf")})
    assert bars == {"offset": 0, "width": 3_600_000 * 0.92}


def test_whole_text_and_time_readers():
    assert read_whole(3.0) == 3 and read_whole(-1) is None and read_whole(2.5) is None and read_whole(True) is None
    assert read_text("  ", 10) is None and read_text(None) is None and read_text("abcdef", 3) == "abc"
    assert read_time("2026-01-01T10:00:00Z", aware=True) == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert read_time("2026-01-01T10:00:00+02:00", aware=False) == dt.datetime(2026, 1, 1, 10)
    assert read_time("2026-01-01T10:00:00", aware=True).tzinfo is dt.UTC
    assert read_time("yesterday", aware=True) is None and read_time("", aware=False) is None
