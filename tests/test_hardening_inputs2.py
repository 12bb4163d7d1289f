"""Issue 21, the smaller findings and rows 8-9: hostile input gets a 4xx naming its key, never a 5xx.

Over real HTTP (an in-process uvicorn on the session's database and QNN service) where the finding was made
over HTTP; the CLI as a subprocess.
"""
from __future__ import annotations

import asyncio
import base64
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from core.api.app import create_app
from core.api.problems import PROBLEM_DETAIL_CHARS, PROBLEM_ECHO_CHARS
from core.api.security import BodyLimitMiddleware
from core.usecases.export import export_bytes, neutralise_formula
from core.redaction import redact
from core.usecases.services import Services
from core.contract.codec import decode_request, encode_request
from core.contract.errors import InputError
from core.contract.tasks import validate_common
from core.db.runs import server_versions
from core.inputs.forecast import ForecastHistory
from core.inputs.forecast import forecast_fields as forecast_form_fields
from core.inputs.grid import grid_fields
from core.inputs.storage import storage_fields
from tests.api_server import ThreadedApi
from tests.helpers import forecast_fields

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = hypothesis.settings(max_examples=60, deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(hypothesis.HealthCheck))


@pytest.fixture(scope="module")
def api(services):
    with ThreadedApi(create_app(services)) as server, httpx.Client(base_url=server.base_url, timeout=120) as client:
        yield client


def _region(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def _storage(region: str, **extra) -> dict:
    prices = [40 + 30 * ((h % 24) in range(17, 21)) - 20 * ((h % 24) in range(1, 5)) for h in range(24)]
    return {"region": region, "start_date": "2025-06-08", "prices_per_mwh": prices, "capacity_mwh": 40,
            "power_mw": 10, "efficiency": 0.95, "initial_soc": 0.5, **extra}


def _assert_422(response: httpx.Response, field: str) -> dict:
    assert response.status_code == 422, response.text[:500]
    body = response.json()
    assert body["field"] == field and body["detail"].startswith(f"{field}: "), body
    return body


# -- row 8: a forged cursor ------------------------------------------------------------------------------

def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("stamp", [
    "2025-06-08T12:00:00+23:59",         # Python takes offsets up to ±23:59; PostgreSQL up to ±15:59
    "0001-01-01T00:00:00+14:00",         # in UTC the day before year 1
    "9999-12-31T23:59:59-14:00",         # in UTC year 10000
    "2025-06-08T12:00:00-23:59:59.999999",
])
def test_a_cursor_postgres_cannot_read_is_a_422_naming_cursor(api, stamp):
    _assert_422(api.get("/runs", params={"cursor": _cursor([stamp, str(uuid.uuid4())])}), "cursor")


@pytest.mark.parametrize("value", [
    ["2025-06-08T12:00:00+00:00", 5], ["2025-06-08T12:00:00+00:00", None], [5, str(uuid.uuid4())],
    {"a": 1, "b": 2}, ["2025-06-08T12:00:00+00:00"], "ab",
])
def test_a_cursor_of_other_types_is_a_422_naming_cursor(api, value):
    _assert_422(api.get("/runs", params={"cursor": _cursor(value)}), "cursor")


def test_a_cursor_written_in_another_offset_is_the_same_position(api):
    """The cursor is normalised to UTC: the same instant written at +05:30 pages from the same run."""
    region = _region("Cursor-Offset")
    for capacity in (10, 11, 12):
        assert api.post("/storage-optimize", json=_storage(region, capacity_mwh=capacity)).status_code == 201
    first = api.get("/runs", params={"region": region, "limit": 1}).json()
    stamp, run_id = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    moment = dt.datetime.fromisoformat(stamp)
    assert moment.utcoffset() == dt.timedelta(0), stamp
    shifted = moment.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat()
    pages = [api.get("/runs", params={"region": region, "limit": 1, "cursor": c}).json()["runs"]
             for c in (first["next_cursor"], _cursor([shifted, run_id]))]
    assert pages[0] == pages[1] and len(pages[0]) == 1 and pages[0][0]["run_id"] != first["runs"][0]["run_id"]


_OFFSETS = st.timedeltas(min_value=-dt.timedelta(hours=23, minutes=59, seconds=59),
                         max_value=dt.timedelta(hours=23, minutes=59, seconds=59))
_STAMPS = st.one_of(
    st.builds(lambda moment, offset: moment.replace(tzinfo=dt.timezone(offset)).isoformat(),
              st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)),
              _OFFSETS),
    st.datetimes().map(dt.datetime.isoformat),
    st.text(max_size=40),
)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=6)
_CURSORS = st.one_of(
    st.tuples(_STAMPS, st.one_of(st.uuids().map(str), _JSON)).map(lambda pair: _cursor(list(pair))),
    _JSON.map(_cursor),
    st.binary(max_size=120).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.text(max_size=60),
)


@hypothesis.given(cursor=_CURSORS)
@EXAMPLES
def test_any_cursor_is_a_page_or_a_422_naming_cursor(api, cursor):
    response = api.get("/runs", params={"limit": 1, "cursor": cursor})
    assert response.status_code in (200, 422), (cursor, response.status_code, response.text[:300])
    if response.status_code == 422:
        assert response.json()["field"] == "cursor", (cursor, response.text[:300])


# -- row 9: every string round-trips through the code string -----------------------------------------------

_TEXT_KEYS = st.sampled_from(["Region", "Task", "Network", "BatteryBus", "Note_2"])


@hypothesis.given(key=_TEXT_KEYS, value=st.text().filter(lambda t: "\x00" not in t))
@hypothesis.settings(max_examples=400, deadline=None, derandomize=True, database=None)
def test_every_string_reads_back_as_written(key, value):
    fields = {"Task": "storage", key: value, "Date": "2025-06-08"}
    assert decode_request(encode_request(fields)) == fields


@pytest.mark.parametrize("value", ["\\u0041BC", '"Quoted"', '"\\u0041BC"', "12", "-0.5", "1e5", ".5", "true",
                                   "FALSE", "[1]", "{}", " padded ", "a; b", "", "٢٤", "tab\there", "x\r\ny"])
def test_strings_that_look_like_json_numbers_or_booleans_stay_strings(value):
    fields = {"Task": "grid_switch", "Region": value, "Network": value}
    assert decode_request(encode_request(fields)) == fields


def test_a_nul_in_a_string_is_refused_naming_its_key():
    with pytest.raises(InputError) as caught:
        decode_request(encode_request({"Task": "storage", "Network": "a\x00b"}))
    assert caught.value.key == "Network"


@pytest.mark.parametrize("region", ["\\u0041BC", '"Quoted"', "12", "true"])
def test_a_typed_region_is_stored_exactly_as_sent(api, region):
    response = api.post("/storage-optimize", json=_storage(region))
    assert response.status_code == 201, response.text[:500]
    detail = api.get(f"/runs/{response.json()['run_id']}").json()
    assert detail["region"] == region and detail["request"]["fields"]["Region"] == region
    assert decode_request(detail["request"]["code"])["Region"] == region


# -- digits other than 0-9 -----------------------------------------------------------------------------------

ARABIC_INDIC_24, FULLWIDTH_24 = "\u0662\u0664", "\uff12\uff14"


def _forecast_code_with(key: str, raw: str) -> str:
    fields = {k: v for k, v in forecast_fields(region="Digits", days=7).items() if k != key}
    return f"{encode_request(fields)}; {key}={raw}"


def _storage_code_with(key: str, raw: str) -> str:
    typed = _storage("Digits")
    fields = {"Task": "storage", "Region": "Digits", "Date": typed["start_date"], "Prices": typed["prices_per_mwh"],
              "CapacityMWh": 40, "PowerMW": 10, "Efficiency": 0.95, "InitialSoC": 0.5}
    fields.pop(key, None)
    return f"{encode_request(fields)}; {key}={raw}"


@pytest.mark.parametrize("raw", [ARABIC_INDIC_24, FULLWIDTH_24, "2\u0664", "+\uff12\uff14", "\u0662.5", "1e\u0662"])
def test_a_code_string_reads_other_digits_as_text(raw):
    assert decode_request(f"Task=forecast; Horizon={raw}")["Horizon"] == raw


@pytest.mark.parametrize("route, code, key", [
    ("/forecast", _forecast_code_with("Horizon", ARABIC_INDIC_24), "Horizon"),
    ("/forecast", _forecast_code_with("Horizon", FULLWIDTH_24), "Horizon"),
    ("/forecast", _forecast_code_with("Resolution", "\uff16\uff10"), "Resolution"),
    ("/storage-optimize", _storage_code_with("CapacityMWh", "\u0665\u0660"), "CapacityMWh"),
    ("/storage-optimize", _storage_code_with("Efficiency", "\uff10.\uff19"), "Efficiency"),
])
def test_other_digits_in_a_code_string_are_a_422_naming_the_key(api, route, code, key):
    _assert_422(api.post(route, json={"code": code}), key)


def test_other_digits_in_a_typed_body_are_a_422_naming_the_field(api):
    _assert_422(api.post("/storage-optimize", json=_storage("Digits", capacity_mwh="\u0665\u0660")), "capacity_mwh")


def test_a_content_length_of_other_digits_is_not_read_as_a_number():
    """h11 refuses such a header before the app; another server may pass it on (Starlette reads headers as
    latin-1, where '²' is a digit to str.isdigit but not to int)."""
    answered: list[int] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    scope = {"type": "http", "method": "POST", "path": "/forecast",
             "headers": [(b"content-length", "\u00b2".encode("latin-1"))]}
    asyncio.run(BodyLimitMiddleware(app, limit_bytes=10)(scope, receive, send))
    assert answered == [204]


# -- control and bidirectional characters in a region --------------------------------------------------------

CONTROLS = ["\t", "\n", "\r", "\x01", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
            "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
            "\u2069"]
_PLACED = st.tuples(st.sampled_from(CONTROLS), st.sampled_from(["start", "middle", "end"])).map(
    lambda pair: {"start": pair[0] + "North", "middle": "No" + pair[0] + "rth", "end": "North" + pair[0]}[pair[1]])


@hypothesis.given(region=_PLACED, task=st.sampled_from(["forecast", "storage", "grid_switch"]))
@EXAMPLES
def test_the_contract_refuses_a_region_with_a_control_character(region, task):
    with pytest.raises(InputError) as caught:
        validate_common({"Task": task, "Region": region, "Date": "2025-06-08", "Resolution": 60})
    assert caught.value.key == "Region" and "U+" in caught.value.reason


def test_plain_regions_still_pass():
    for region in ("North", "Île-de-France", "東京", "Zürich West 2", "O'Brien's feeder"):
        assert validate_common({"Task": "storage", "Region": region, "Date": "2025-06-08"}) == "storage"


@pytest.mark.parametrize("region", ["North\n", "\tNorth", "No\u202erth", "North\x7f", "\x85North", "No\u2066rth"])
def test_a_typed_region_with_a_control_character_is_a_422_and_not_stored(api, engine, region):
    body = _assert_422(api.post("/storage-optimize", json=_storage(region)), "region")
    assert "U+" in body["detail"]
    with engine.connect() as conn:
        stored = conn.execute(text("select count(*) from optimization_runs where region = :r"), {"r": region})
        assert stored.scalar_one() == 0


def test_a_code_region_with_a_control_character_is_a_422_naming_region(api):
    code = _storage_code_with("Region", json.dumps("No\u202erth"))
    _assert_422(api.post("/storage-optimize", json={"code": code}), "Region")


def test_the_forms_input_builders_refuse_such_a_region_naming_region():
    history = ForecastHistory([f"2025-06-0{1 + h // 24}T{h % 24:02d}:00" for h in range(48)], [10.0] * 48)
    builders = {
        "forecast": lambda: forecast_form_fields("No\u202erth", dt.date(2025, 6, 3), 60, 24, history),
        "storage": lambda: storage_fields("No\u202erth", dt.date(2025, 6, 3), 60, [40.0] * 24, capacity_mwh=4,
                                          power_mw=2, efficiency=0.95, initial_soc=0.5, min_soc=0.1, max_soc=0.9),
        "grid": lambda: grid_fields("No\u202erth", dt.date(2025, 6, 3), "ieee33"),
    }
    for name, build in builders.items():
        with pytest.raises(InputError) as caught:
            build()
        assert caught.value.key == "Region" and "U+202E" in caught.value.reason, name


def test_the_forecast_form_shows_the_region_message(services):
    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=120)
    at.run()
    region = at.selectbox[0]
    # AppTest cannot type a new option; the browser sends the typed text as the widget's value, as this does.
    region.options.append("No\u202erth")
    region.set_value("No\u202erth")
    at.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # the page escapes Markdown
    assert "**Region**" in errors and "U+202E" in errors
    assert "forecast_last" not in at.session_state, "nothing submitted"


# -- formulas on a later line of an exported cell ------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LINES = st.lists(st.one_of(st.sampled_from(["=1+2", "+SUM(A1)", "-2", "@cmd", "\tx", "\r=x", "plain", ""]),
                            st.text(max_size=8)), min_size=1, max_size=5)
_BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\x0b"])


def _exported_cells(run: dict) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(export_bytes([run], "csv").decode("utf-8-sig"), newline="")))
    return dict(zip(rows[0], rows[1], strict=True))


@hypothesis.given(lines=_LINES, brk=_BREAKS)
@hypothesis.settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_no_line_of_an_exported_cell_starts_a_formula(lines, brk):
    """A region stored before control characters were refused, or an error message, may hold line breaks."""
    value = brk.join(lines)
    run = {"id": "1", "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "request_type": "storage",
           "region": value, "status": "failed", "error_message": value, "input_payload": {"code": "Task=storage"},
           "result_payload": None}
    cells = _exported_cells(run)
    for column in ("region", "error_message"):
        cell = cells[column]
        assert not cell.startswith(FORMULA_STARTS), (column, cell)
        assert not any(line.startswith(FORMULA_STARTS) for line in cell.splitlines()), (column, cell)
        # Only quotes are added (besides what redaction takes out: 'Bearer' and a word after it on the next line).
        assert cell.replace("'", "") == redact(value).replace("'", ""), "only quotes are added"


def test_a_single_line_cell_is_unchanged_or_quoted_once():
    assert neutralise_formula("Texas") == "Texas" and neutralise_formula("=1") == "'=1"
    assert neutralise_formula("North\n=HYPERLINK(\"http://x\")") == "North\n'=HYPERLINK(\"http://x\")"
    assert neutralise_formula("a\r\n@b\n-c") == "a\r\n'@b\n'-c"


# -- echoes of the request in a problem ----------------------------------------------------------------------

def _assert_bounded(body: dict) -> None:
    assert len(body.get("instance") or "") <= PROBLEM_ECHO_CHARS, body.get("instance", "")[:300]
    assert len(body.get("field") or "") <= PROBLEM_ECHO_CHARS, body.get("field", "")[:300]
    assert len(body["detail"]) <= PROBLEM_DETAIL_CHARS, body["detail"][:300]


# h11 (uvicorn) answers a request line past 16 KB itself with a bare 400; httpx sends none past 64 KB.
@pytest.mark.parametrize("path", ["/runs/" + "a" * 300, "/runs/" + "a" * 12_000, "/runs/" + "a" * 12_000 + "/similar",
                                  "/nothing/" + "a" * 12_000])
def test_a_404_does_not_echo_a_long_path(api, path):
    response = api.get(path)
    assert response.status_code == 404, response.status_code
    body = response.json()
    _assert_bounded(body)
    assert body["instance"].endswith("\u2026") and body["instance"].startswith(path[:100])


def test_a_422_does_not_echo_a_long_field_name(api):
    typed = api.post("/storage-optimize", json={**_storage("Echo"), "k" * 12_000: 1})
    _assert_bounded(_assert_422(typed, "k" * (PROBLEM_ECHO_CHARS - 1) + "\u2026"))
    key = "K" * 12_000
    twice = api.post("/forecast", json={"code": f"Task=forecast; {key}=1; {key}=2"})
    body = _assert_422(twice, "K" * (PROBLEM_ECHO_CHARS - 1) + "\u2026")
    _assert_bounded(body)
    assert body["detail"].endswith("the key is given twice")


# -- what /health tells a client ----------------------------------------------------------------------------

def _no_path_or_version(response: httpx.Response, data_dir: Path, versions: dict) -> dict:
    assert str(data_dir) not in response.text and "pgdata" not in response.text, response.text
    for version in filter(None, versions.values()):
        assert str(version) not in response.text, (version, response.text)
    body = response.json()
    for check in body["checks"].values():
        assert not {"version", "postgres", "pgvector", "label"} & set(check), check
    return body


def test_health_shows_no_data_folder_and_no_versions(api, services, engine):
    response = api.get("/health")
    assert response.status_code == 200, response.text
    body = _no_path_or_version(response, services.settings.data_dir, server_versions(engine))
    assert body["checks"]["pgvector"] == {"ok": True}
    assert body["checks"]["database"]["ok"] is True and body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["qnn"]["ok"] is True and body["checks"]["embedding_model"]["loaded"] is True


def test_health_says_why_the_database_fails_without_its_folder(services, engine, tmp_path):
    """The embedded server's socket lives in the data folder, so the driver's error names the folder."""
    data_dir = tmp_path / "data folder"  # a space: the path is cut whole, not at the space
    settings = replace(services.settings, data_dir=data_dir)
    unreachable = create_engine(f"postgresql+psycopg2://postgres@/postgres?host={data_dir / 'pgdata'}")
    down = Services(settings=settings, encoder=services.encoder, outbox=services.outbox, _engine=unreachable,
                    _client=services.client())
    try:
        with ThreadedApi(create_app(down)) as server:
            response = httpx.get(f"{server.base_url}/health", timeout=60)
    finally:
        down.stop_background()  # its supervisor would sweep on, for the rest of the session
    assert response.status_code == 503
    body = _no_path_or_version(response, tmp_path, server_versions(engine))
    assert "data folder" not in response.text and "<path>" in body["checks"]["database"]["error"]
    assert body["failing"] == ["database", "pgvector"]
    assert body["checks"]["database"]["error"].startswith("OperationalError"), body
    assert body["checks"]["pgvector"] == {"ok": False}


def test_the_openapi_document_describes_the_health_checks(api):
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    checks = schemas["HealthChecks"]["properties"]
    assert set(checks) == {"qnn", "database", "pgvector", "embedding_model", "outbox"}
    described = json.dumps({name: schemas[name] for name in schemas if name.startswith("Health")})
    assert '"version"' not in described and '"postgres"' not in described and '"label"' not in described


# -- the CLI's arguments --------------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow  # a CLI process per case (each refused by argparse, before the database starts)
@pytest.mark.parametrize("args, option", [
    (["similar", str(uuid.UUID(int=1)), "--k", "99999999999999999999"], "--k"),
    (["similar", str(uuid.UUID(int=1)), "--k", "-1"], "--k"),
    (["similar", str(uuid.UUID(int=1)), "--k", "0"], "--k"),
    (["similar", str(uuid.UUID(int=1)), "--k", "51"], "--k"),
    (["similar", str(uuid.UUID(int=1)), "--k", "\u0665"], "--k"),
    (["seed-demo", "--runs", "-1"], "--runs"),
    (["seed-demo", "--runs", "99999999999999999999"], "--runs"),
    (["seed-demo", "--seed", "-1"], "--seed"),
    (["seed-demo", "--seed", "1" * 5000], "--seed"),
])
def test_cli_int_arguments_out_of_range_are_a_usage_error_naming_the_option(args, option):
    done = _cli(*args)
    assert done.returncode == 2, (done.stdout[-500:], done.stderr[-2000:])
    assert f"argument {option}:" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stdout == ""


@pytest.mark.slow  # CLI processes on the session's database
def test_cli_similar_names_an_unknown_or_malformed_run_id_and_exits_1(services):
    stored = services.submitter().submit_fields({"Task": "storage", "Region": _region("CLI-Similar"),
                                                 "Date": "2025-06-08", "Prices": [40.0, 90.0] * 12,
                                                 "CapacityMWh": 4, "PowerMW": 2, "Efficiency": 0.95,
                                                 "InitialSoC": 0.5})
    assert stored.status == "completed"
    found = _cli("similar", stored.run_id, "--k", "3")
    assert found.returncode == 0, found.stderr[-2000:]
    assert len(json.loads(found.stdout)) <= 3
    for run_id in (str(uuid.uuid4()), "not-a-run-id", "x" * 5000):
        done = _cli("similar", run_id)
        assert done.returncode == 1, (run_id[:40], done.stdout[-500:], done.stderr[-2000:])
        assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr[-2000:]
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "no run with id" in lines[0] and len(lines[0]) < 200, done.stderr[-500:]
