"""Regions a utility configures in one file (issue 22, item 13): zone, currency, holidays, hemisphere.

The forms offering a configured file's regions in Chromium: test_browser_forecast.py's reload test, whose
server of its own also runs on such a file."""
import datetime as dt

import pytest

from core.contract.regions import DEFAULT_REGIONS_FILE, RegionsFileError, load_regions, time_zone
from core.inputs.holidays import public_holidays
from core.search.description import season_of

RIVERINA = """
[regions.Riverina]
time_zone = "Australia/Sydney"
currency = "AUD"
holidays = { country = "AU", subdivision = "NSW" }
southern_hemisphere = true

[regions."Zone Nord"]
time_zone = "Europe/Paris"
currency = "EUR"
"""


def test_the_demo_regions_are_the_defaults_and_victoria_is_known():
    regions = load_regions(DEFAULT_REGIONS_FILE)
    assert list(regions)[:6] == ["California", "Texas", "New York", "Bavaria", "Ontario", "Queensland"]
    assert time_zone("Victoria") == "Australia/Melbourne"
    assert public_holidays("Victoria", dt.date(2025, 11, 1), dt.date(2025, 11, 30)) == {
        dt.date(2025, 11, 4): "Melbourne Cup Day"}
    assert season_of(dt.date(2025, 1, 15), "Victoria") == "summer"


def test_a_utilitys_file_is_read_in_its_order(tmp_path):
    path = tmp_path / "regions.toml"
    path.write_text(RIVERINA)
    regions = load_regions(path)
    assert list(regions) == ["Riverina", "Zone Nord"]
    assert regions["Riverina"].holiday_subdivision == "NSW" and regions["Zone Nord"].holiday_country is None


@pytest.mark.parametrize(("entry", "named"), [
    ('time_zone = "Mars/Olympus"\ncurrency = "AUD"', "time_zone"),
    ('time_zone = "Australia/Sydney"\ncurrency = "dollars"', "currency"),
    ('time_zone = "Australia/Sydney"\ncurrency = "AUD"\nholidays = { country = "XX" }', "holidays.country"),
    ('time_zone = "Australia/Sydney"\ncurrency = "AUD"\nholidays = { country = "AU", subdivision = "ZZ" }',
     "holidays.subdivision"),
    ('time_zone = "Australia/Sydney"\ncurrency = "AUD"\nzone = "x"', "zone"),
    ('time_zone = "Australia/Sydney"\ncurrency = "AUD"\nsouthern_hemisphere = "yes"', "southern_hemisphere"),
])
def test_a_bad_region_names_the_file_the_region_and_the_key(tmp_path, entry, named):
    path = tmp_path / "regions.toml"
    path.write_text(f"[regions.Riverina]\n{entry}\n")
    with pytest.raises(RegionsFileError) as error:
        load_regions(path)
    assert str(path) in str(error.value) and "'Riverina'" in str(error.value) and f"{named}:" in str(error.value)
