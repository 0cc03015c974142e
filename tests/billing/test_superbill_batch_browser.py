"""The month's batch in real Chromium: billing staff start it on /billing/superbills, and the batch page's progress
bar follows the workers through the server's status (no reload); without JavaScript a reload shows the progress;
axe-core finds nothing serious on either page."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from playwright.sync_api import expect

from bench.billable import billable_patients
from billing import superbill_batches as batches
from clinic.extensions import db
from clinic.models import Patient
from tests.browser import BROWSER_MARKS, browser_sign_in

pytestmark = BROWSER_MARKS


def work_in_background(app) -> threading.Thread:
    def worker():
        with app.app_context():
            batches.work(batches.worker_name(), limit=1)
            db.session.remove()
    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    return thread


def test_the_progress_bar_follows_the_workers_and_lists_the_failure(page, browser, live_server, demo):
    with demo.app_context():
        ids = billable_patients(5, date(2026, 10, 1))
        db.session.get(Patient, ids[1]).address = None
        db.session.commit()
        db.session.remove()
    browser_sign_in(page, live_server, "billing@clinic.test")
    page.goto(f"{live_server}/billing/superbills")
    page.get_by_role("textbox", name="Month").fill("2026-10")
    page.get_by_role("button", name="Issue the month's superbills").click()
    page.wait_for_url("**/billing/superbill-batches/*")
    bar = page.locator("#batch-progress")
    assert bar.get_attribute("max") == "5" and bar.get_attribute("value") == "0"
    page.evaluate("window.notReloaded = true")

    worker = work_in_background(demo)
    expect(bar).to_have_attribute("value", "5", timeout=60_000)
    page.locator("[data-batch-status=finished]").wait_for()
    assert page.evaluate("window.notReloaded") is True  # the bar moved by polling, not by a reload
    assert page.locator("[data-count=issued]").inner_text() == "4"
    failed = page.locator("tr[data-item-status=failed]")
    assert failed.count() == 1 and "address is missing" in failed.inner_text()
    assert page.locator("tr[data-item-status=issued]").count() == 4
    assert page.console.errors == []
    worker.join(30)

    without_js = browser.new_context(java_script_enabled=False)
    plain = without_js.new_page()
    browser_sign_in(plain, live_server, "billing@clinic.test")
    plain.goto(page.url)
    assert plain.locator("#batch-progress").get_attribute("value") == "5"
    assert "5 of 5 done" in " ".join(plain.locator("#batch-counts").inner_text().split())
    plain.goto(f"{live_server}/billing/superbills")
    assert plain.locator("tr[data-batch] progress").get_attribute("value") == "5"
    without_js.close()


def test_the_batch_pages_pass_axe(browser, live_server, demo):
    from tests.test_journeys import AXE, audit
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make axe`")
    with demo.app_context():
        billable_patients(2, date(2026, 10, 1))
        db.session.remove()
    context = browser.new_context(bypass_csp=True)  # so axe can be injected
    checked = context.new_page()
    browser_sign_in(checked, live_server, "billing@clinic.test")
    checked.goto(f"{live_server}/billing/superbills")
    checked.get_by_role("textbox", name="Month").fill("2026-10")
    checked.get_by_role("button", name="Issue the month's superbills").click()
    checked.wait_for_url("**/billing/superbill-batches/*")
    assert audit(checked) == []
    checked.goto(f"{live_server}/billing/superbills")
    assert checked.locator("tr[data-batch] progress").count() == 1
    assert audit(checked) == []
    context.close()
