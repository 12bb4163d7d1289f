import math

import pytest

from core.contract.codec import decode_request, encode_request
from core.contract.errors import InputError


def test_design_example_round_trips():
    code = ("Task=forecast; Region=California; Date=2025-06-07; Resolution=60; Horizon=24; "
            "PastLoads=[200,210,220,230,225,215]")
    fields = decode_request(code)
    assert fields == {"Task": "forecast", "Region": "California", "Date": "2025-06-07", "Resolution": 60,
                      "Horizon": 24, "PastLoads": [200, 210, 220, 230, 225, 215]}
    assert decode_request(encode_request(fields)) == fields


def test_json_object_with_semicolons_inside_strings():
    network = {"vn_kv": 12.66, "slack_bus": "a; b", "buses": [{"id": "a; b"}], "lines": []}
    fields = decode_request(encode_request({"Task": "grid_switch", "Network": network, "LoadScale": 1.2}))
    assert fields["Network"] == network and fields["LoadScale"] == 1.2


def test_text_with_separator_survives_as_json_string():
    fields = decode_request(encode_request({"Region": "North; East", "Note": "  spaced  "}))
    assert fields == {"Region": "North; East", "Note": "  spaced  "}


def test_numbers_and_booleans_are_typed():
    fields = decode_request("A=1; B=-2.5; C=1e3; D=true; E=word with spaces")
    assert fields == {"A": 1, "B": -2.5, "C": 1000.0, "D": True, "E": "word with spaces"}


@pytest.mark.parametrize("code, key", [
    ("", "code"),
    ("garbage", "code"),
    ("A=1; A=2", "A"),
    ("A=", "A"),
    ("A=[1,2", "A"),
    ("A=[1,2] trailing; B=1", "A"),
])
def test_bad_codes_name_the_key(code, key):
    with pytest.raises(InputError) as err:
        decode_request(code)
    assert err.value.key == key


def test_nan_cannot_be_encoded():
    with pytest.raises(InputError):
        encode_request({"A": [1.0, math.nan]})
    with pytest.raises(InputError):
        encode_request({"A": math.inf})
