"""The PDF benchmarks still run and answer in the shape `python -m bench` collects (tiny sizes here)."""
import shutil

import pytest

from bench import pdf as bench_pdf

pytestmark = pytest.mark.skipif(not shutil.which("wkhtmltopdf"), reason="needs wkhtmltopdf")


def test_the_superbill_benchmarks_report_named_ratios_against_their_targets():
    issue = bench_pdf.superbill_issue_download(rounds=1)
    batch = bench_pdf.superbill_batch(count=3)

    assert issue["name"] == "superbill-issue-download" and issue["target"] == 1.5
    assert "render only" in issue["detail"]
    assert batch["name"] == "superbill-batch-3" and batch["target"] == 0.7
    for result in (issue, batch):
        assert set(result) == {"name", "ratio", "target", "met", "detail"}
        assert result["ratio"] > 0 and result["met"] == (result["ratio"] <= result["target"])
