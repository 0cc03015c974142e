"""The fee schedule pages: billing staff and administrators see every service's lines and add a version from a
date; a wrong field is named with a sentence (422, never 500); a change never reprices a visit that happened; the
change is audit-logged; other roles get 403, an unknown service 404."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from billing import fee_schedule
from billing.fee_schedule import LineSpec
from billing.models import FeeScheduleLine
from booking.models import Service
from clinic.errors import ValidationError
from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.settings import clinic_zone
from tests.factories import csrf_from, sign_in, signed_in as sign_in_role


def billing_client(app):
    client = app.test_client()
    sign_in(client, "billing@clinic.test")
    return client


def local_today(app) -> date:
    with app.app_context():
        return datetime.now(clinic_zone()).date()


def line_fields(index: int, **values) -> dict:
    defaults = {"code": "", "description": "", "modifiers": "", "units": "1", "charge": "", "place_of_service": "11",
                "min_dose_mg": "", "max_dose_mg": "", "drug_name": "", "ndc": "", "dose_unit": ""}
    return {f"lines-{index}-{key}": value for key, value in {**defaults, **values}.items()}


IV_LINES = {**line_fields(0, code="96365", description="IV infusion, first hour", charge="450.00"),
            **line_fields(1, code="J3490", description="Ketamine", charge="$55", modifiers="jz",
                          drug_name="Ketamine HCl 50 mg/mL", ndc="0409-2053-10", dose_unit="mg")}


@pytest.mark.parametrize("role", ["billing", "admin"])
def test_billing_staff_and_administrators_see_every_service_and_its_versions(demo, role):
    client, _ = sign_in_role(demo, role)
    index = client.get("/billing")
    assert index.status_code == 200 and "/billing/fee-schedule" in index.get_data(as_text=True)
    page = client.get("/billing/fee-schedule")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in ("96365", "J3490", "0409-2053-10", "96372", "G2082", "G2083", "90834", "$425.00", "Not billed"):
        assert expected in text, expected
    service = client.get("/billing/fee-schedule/iv-ketamine").get_data(as_text=True)
    assert 'data-version="2026-01-01"' in service and "(in force)" in service
    assert 'name="lines-0-code"' in service and 'value="96365"' in service and 'name="lines-3-code"' in service
    assert 'value="425.00"' in service and 'value="0409-2053-10"' in service


@pytest.mark.parametrize("email", ["patient@clinic.test", "frontdesk@clinic.test", "dr.rivera@clinic.test"])
def test_other_roles_are_refused(demo, email):
    client = demo.test_client()
    sign_in(client, email)
    assert client.get("/billing/fee-schedule").status_code == 403
    assert client.get("/billing/fee-schedule/iv-ketamine").status_code == 403
    page = client.get("/account" if email.startswith("patient") else "/staff").get_data(as_text=True)
    refused = client.post("/billing/fee-schedule/iv-ketamine",
                          data={"effective_on": "2099-01-01", **IV_LINES, "csrf_token": csrf_from(page)})
    assert refused.status_code == 403
    anonymous = demo.test_client().get("/billing/fee-schedule")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_unknown_service_is_not_found(demo):
    assert billing_client(demo).get("/billing/fee-schedule/no-such-service").status_code == 404


def test_a_new_version_from_a_date_adds_lines_and_keeps_the_old_ones(demo):
    client = billing_client(demo)
    start = local_today(demo) + timedelta(days=30)
    page = client.get("/billing/fee-schedule/iv-ketamine").get_data(as_text=True)
    saved = client.post("/billing/fee-schedule/iv-ketamine", follow_redirects=True,
                        data={"effective_on": start.isoformat(), **IV_LINES, "csrf_token": csrf_from(page)})
    text = saved.get_data(as_text=True)
    assert saved.status_code == 200 and f"from {start:%m/%d/%Y}: 96365, J3490" in text
    assert f'data-version="{start.isoformat()}"' in text and 'data-version="2026-01-01"' in text
    with demo.app_context():
        iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        before = fee_schedule.lines_in_force(iv, start - timedelta(days=1))
        after = fee_schedule.lines_in_force(iv, start)
        assert [(x.code, x.charge_cents) for x in before] == [("96365", 42500), ("J3490", 5000)]
        assert [(x.code, x.charge_cents, x.modifiers, x.ndc) for x in after] == [
            ("96365", 45000, [], None), ("J3490", 5500, ["JZ"], "0409-2053-10")]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "fee_schedule",
                                                           AuditEvent.action == "change"))
        assert event.record_id == iv.id and event.detail["effective_on"] == start.isoformat()
        assert event.user_id is not None


def test_every_wrong_field_is_named_with_a_sentence(demo):
    client = billing_client(demo)
    page = client.get("/billing/fee-schedule/iv-ketamine").get_data(as_text=True)
    bad = {**line_fields(0, code="9636", modifiers="JZ 59 25 XU GA", units="0", charge="lots"),
           **line_fields(1, code="J3490", charge="50.00", ndc="409-2053-1", max_dose_mg="10", min_dose_mg="20"),
           **line_fields(2, code="J349", charge="1.00", units="two")}
    answer = client.post("/billing/fee-schedule/iv-ketamine",
                         data={"effective_on": "next week", **bad, "csrf_token": csrf_from(page)})
    text = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 422
    for sentence in ("Choose the date the new fees take effect", "Enter a CPT code (five digits",
                     "at most four modifiers", "between 1 and 999", "Enter the charge in dollars",
                     "needs the drug's name", "10- or 11-digit NDC", "unit its dose is counted in",
                     "highest dose must be at least", "The units must be a whole number"):
        assert sentence in text, sentence
    for field in ("lines-0-code", "lines-0-modifiers", "lines-1-ndc", "lines-1-drug_name", "lines-2-units"):
        assert re.search(rf'id="{field}-error"', text), field
    with demo.app_context():
        assert db.session.scalar(select(FeeScheduleLine.id).where(FeeScheduleLine.effective_on != date(2026, 1, 1))) is None


def test_a_change_never_reaches_back_to_visits_that_happened(demo):
    client = billing_client(demo)
    page = client.get("/billing/fee-schedule/iv-ketamine").get_data(as_text=True)
    yesterday = local_today(demo) - timedelta(days=1)
    answer = client.post("/billing/fee-schedule/iv-ketamine",
                         data={"effective_on": yesterday.isoformat(), **IV_LINES, "csrf_token": csrf_from(page)})
    assert answer.status_code == 422 and "a change never reprices visits that already happened" in \
        html.unescape(answer.get_data(as_text=True))
    nothing = client.post("/billing/fee-schedule/iv-ketamine", data={
        "effective_on": (yesterday + timedelta(days=9)).isoformat(), **line_fields(0), "csrf_token": csrf_from(page)})
    assert nothing.status_code == 422 and "Enter at least one line" in nothing.get_data(as_text=True)
    with demo.app_context():
        iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        with pytest.raises(ValidationError) as refused:
            fee_schedule.change_fees(None, iv, yesterday, [LineSpec("96365", 1)])
        assert refused.value.code == "effective_date" and "effective_on" in refused.value.fields


@pytest.mark.parametrize("odd", [
    {"lines-99-code": "96365", "lines-99-charge": "1.00"},
    {"lines-0-units": "9" * 40, "lines-0-min_dose_mg": "٣", "lines-0-max_dose_mg": "-1"},
    {"lines-0-charge": "1e9", "lines-0-place_of_service": "99"},
    {"lines-0-code": "９６３６５", "lines-0-modifiers": "ÄB"},
    {"effective_on": "2027-02-30"},
    {"lines-0-charge": "99999999999999999999"}, {"effective_on": "9999-12-31"},
])
def test_odd_input_is_answered_with_a_sentence_never_a_500(demo, odd):
    client = billing_client(demo)
    page = client.get("/billing/fee-schedule/iv-ketamine").get_data(as_text=True)
    start = (local_today(demo) + timedelta(days=40)).isoformat()
    answer = client.post("/billing/fee-schedule/iv-ketamine", data={
        "effective_on": start, **line_fields(0, code="96365", charge="450.00"), **odd, "csrf_token": csrf_from(page)})
    assert answer.status_code in (302, 422), answer.status_code
    if answer.status_code == 422:
        assert 'class="field-error"' in answer.get_data(as_text=True)


def test_control_characters_are_refused_with_a_sentence(demo):
    client = billing_client(demo)
    page = client.get("/billing/fee-schedule/iv-ketamine").get_data(as_text=True)
    start = (local_today(demo) + timedelta(days=40)).isoformat()
    answer = client.post("/billing/fee-schedule/iv-ketamine", data={
        "effective_on": start, **line_fields(0, code="96365", charge="450.00", description="IV\x07"),
        "csrf_token": csrf_from(page)})
    assert answer.status_code == 422 and "not control characters" in answer.get_data(as_text=True)
    assert client.get("/billing/fee-schedule/iv%00ketamine").status_code == 404
    identifiers = client.get("/billing/identifiers").get_data(as_text=True)
    refused = client.post("/billing/identifiers", data={"legal_name": "Clinic\x00", "address": "1 Main St\nSalem",
                                                        "csrf_token": csrf_from(identifiers)})
    assert refused.status_code == 422 and "NUL byte" in refused.get_data(as_text=True)  # refused before any view
