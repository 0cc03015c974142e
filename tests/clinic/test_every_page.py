"""Every page renders for every role: signed in as each role (the administrator with a second factor set up
through the security page, as a person would), visit what its navigation and landing page link to, then what
those pages link to, and every GET route that takes no argument. Nothing answers 5xx, and no link a page
shows is broken. Data-driven from the pages' links and app.url_map, so new pages are covered as they come."""
from __future__ import annotations

from collections import deque
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.factories import (answers, api_token, clear_patient, DEMO_PASSWORD, guest_booking, next_weekday, ROLES,
                             signed_in)

ORIGIN = "http://localhost"
MAX_PAGES = 150  # per role: enough for every page kind of the demo clinic, bounded if lists grow
MAX_DEPTH = 3  # the nav and landing page's links, then the links on those pages, and once more


class Links(HTMLParser):
    """The links of a page: all of them, those inside a <nav>, and the stylesheets and scripts it loads."""

    def __init__(self):
        super().__init__()
        self.all, self.nav, self.assets, self._nav_depth = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav":
            self._nav_depth += 1
        elif tag == "a" and attrs.get("href"):
            self.all.append(attrs["href"])
            if self._nav_depth:
                self.nav.append(attrs["href"])
        elif tag == "link" and attrs.get("rel") == "stylesheet" or tag == "script" and attrs.get("src"):
            self.assets.append(attrs.get("href") or attrs["src"])

    def handle_endtag(self, tag):
        if tag == "nav":
            self._nav_depth -= 1


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def internal(href: str, page: str) -> str | None:
    """The same-origin path (with query) a link points at, or None for other sites, mail, phone and anchors."""
    url = urlsplit(urljoin(ORIGIN + page, href))
    if url.scheme not in ("http", "https") or f"{url.scheme}://{url.netloc}" != ORIGIN or href.startswith("#"):
        return None
    return url.path + (f"?{url.query}" if url.query else "")


@pytest.fixture
def lived_in(demo):
    """The demo clinic with some life in it, so that pages listing records have links to follow: the demo
    patient's intake (a clinician's review list), clearance (treatments to book, by them or the front desk) and
    consultation (their account), and a guest's booking. Returns the day of the bookings, whose staff pages
    are visited too."""
    client = demo.test_client()
    patient = api_token(client, ROLES["patient"])
    assert client.post("/api/v1/intake", json=answers(), headers=patient).status_code == 201
    clear_patient(client, demo_patient_id(demo))
    day = next_weekday(1)
    booked = client.post("/api/v1/appointments", json=guest_booking(day, 10), headers=patient)
    assert booked.status_code == 201, booked.json
    assert client.post("/api/v1/appointments", json=guest_booking(day, 14)).status_code == 201
    start_a_superbill_batch(demo)
    return day


def start_a_superbill_batch(demo) -> None:
    """Last month's superbill batch, started and not yet worked: the superbill desk links to its progress page."""
    from bench.billable import billable_patients
    from clinic.extensions import db
    last_month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    with demo.app_context():
        billable_patients(1, last_month)
        db.session.remove()
    client = demo.test_client()
    started = client.post("/api/v1/superbill-batches", json={"month": last_month.strftime("%Y-%m")},
                          headers=api_token(client, ROLES["billing"]))
    assert started.status_code == 201, started.json


def crawl(client, *starts: str) -> dict[str, int]:
    """Visit the landing page, then breadth-first what pages link to; returns each path's final status."""
    seen: dict[str, int] = {}
    queue = deque([(start, 0, "(start)", i == 0) for i, start in enumerate(starts)])
    while queue and len(seen) < MAX_PAGES:
        path, depth, found_on, in_nav = queue.popleft()
        if path in seen:
            continue
        response = client.get(path, follow_redirects=True)
        seen[path] = response.status_code
        assert response.status_code < 500, f"{path} (linked from {found_on}) answered {response.status_code}"
        assert response.status_code != 404, f"{found_on} links to {path}, which is not found"
        if in_nav:
            assert response.status_code < 400, f"the navigation links to {path}, which answers {response.status_code}"
        if depth < MAX_DEPTH and response.mimetype == "text/html":
            queue.extend(links_to_follow(client, response, path, depth))
    return seen


def links_to_follow(client, response, path: str, depth: int):
    links = parse(response.get_data(as_text=True))
    for asset in links.assets:
        target = internal(asset, path)
        assert target is None or client.get(target).status_code == 200, f"{path} loads {asset}, which is missing"
    for href in links.all:
        target = internal(href, response.request.path)
        if target is not None:
            yield target, depth + 1, path, href in links.nav


def argument_free_get_routes(app) -> list[str]:
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static")


def demo_patient_id(demo) -> int:
    response = demo.test_client().post("/api/v1/tokens", json={"email": ROLES["patient"], "password": DEMO_PASSWORD})
    return response.json["user"]["patient_id"]


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_can_reach_renders_and_no_link_is_broken(demo, lived_in, role):
    client, landing = signed_in(demo, role)
    # and the front desk booking for the (cleared) demo patient: its search and service choice are GET forms,
    # which the crawl does not submit, so their answers are start pages
    patient_id = demo_patient_id(demo)
    busy_days = [f"/staff?day={lived_in.isoformat()}", f"/clinical/today?day={lived_in.isoformat()}",
                 "/staff/book?q=Pat", *(f"/staff/book?patient_id={patient_id}&service={code}"
                                        for code in ("consultation", "iv-ketamine"))]
    seen = crawl(client, internal(landing, "/"), *(busy_days if role != "patient" else []))
    assert len(seen) >= 5, seen  # the nav alone has more
    if role in ("billing", "admin"):
        assert any(path.startswith("/billing/superbill-batches/") for path in seen), seen
    for path in argument_free_get_routes(demo):
        status = client.get(path).status_code
        assert status < 500, f"{role}: {path} answered {status}"


def test_every_argument_free_page_renders_for_a_visitor(demo, client):
    seen = crawl(client, "/")
    assert "/book" in seen and "/login" in seen
    for path in argument_free_get_routes(demo):
        assert client.get(path).status_code < 500, path
