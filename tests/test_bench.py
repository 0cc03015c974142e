"""`make bench` keeps working: the whole benchmark runs with tiny sizes (SQLite only, a second or two of timing)
and writes results.json in the shape outside tools read. Its numbers are never asserted."""
import json

from bench.__main__ import main

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
            assert result["ratio"] is None and "issue" in result["detail"]
        else:
            assert result["ratio"] > 0 and result["met"] == (result["ratio"] <= result["target"])
