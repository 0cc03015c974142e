"""`make bench` keeps working: the whole benchmark runs with tiny sizes (SQLite only, a second or two of timing)
and writes results.json in the shape outside tools read. Its numbers are never asserted."""
import json

import pytest
from sqlalchemy import create_engine, text

from bench import throughput
from bench.__main__ import main
from tests.conftest import BACKEND, PG_URL, _upgrade

NAMES = {"availability-month-consultation", "availability-month-iv", "availability-growth-20", "series-search",
         "booking-throughput-postgresql", "superbill-issue-download", "superbill-batch-4"}


def test_bench_runs_with_tiny_sizes(tmp_path):
    output = tmp_path / "results.json"
    main(["--sqlite-only", "--repeat", "1", "--sizes", "5,20", "--main-size", "20", "--consultations", "4",
          "--treatments", "2", "--series", "1", "--pdf-batch", "4", "--output", str(output)])
    report = json.loads(output.read_text())
    assert set(report) == {"date", "machine", "results"}
    assert {r["name"] for r in report["results"]} == NAMES
    for result in report["results"]:
        assert set(result) == {"name", "ratio", "target", "met", "detail"}
        if result["name"] == "booking-throughput-postgresql":
            assert result["ratio"] is None and result["detail"] == "not measured: skipped by --sqlite-only"
        else:
            assert result["ratio"] > 0 and result["met"] == (result["ratio"] <= result["target"])


@pytest.mark.skipif(BACKEND != "postgresql", reason="the booking throughput is measured on PostgreSQL only")
def test_booking_throughput_runs_on_postgresql_and_counts_double_bookings_and_5xx(database_template):
    try:
        result = throughput.measure(PG_URL, seconds=2, patients=40)  # empties the database and seeds its own clinic
    finally:  # give the rest of the session back the migrated, empty schema it started with
        _restore_the_template_schema()
    assert set(result) == {"name", "ratio", "target", "met", "detail"}
    assert result["name"] == "booking-throughput-postgresql"
    assert result["ratio"] > 0, result["detail"]
    assert "double bookings: 0 (clinician 0, chair 0, patient 0); 5xx: 0;" in result["detail"], result["detail"]
    assert result["met"] == (result["ratio"] >= result["target"])


def test_no_postgresql_gives_a_null_ratio_that_says_why():
    result = throughput.measure(None)
    assert result["ratio"] is None and result["met"] is None
    assert "TEST_DATABASE_URL is not set" in result["detail"]


def _restore_the_template_schema() -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _upgrade(PG_URL)
