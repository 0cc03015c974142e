"""The clinical path: intake and crisis, clearance with its history, PCL-5 outcomes, integration therapy,
and the clinicians' and patients' pages."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.models import Appointment
from clinical import services as clinical
from clinical.models import Clearance, Intake, OutcomeScore, PatientFlag
from clinic.extensions import db
from clinic.models import AuditEvent
from tests.factories import (a_patient, answers, api_token, at, book, clear_patient, csrf_from, DEMO_PASSWORD,
                             DRIVER, NEW_YORK, next_weekday, past_treatment, patient_login, pcl5, sign_in)

CRISIS_RESOURCES = ["Call or text 988 (Suicide & Crisis Lifeline)", "Call 911 in an emergency"]


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- intake ---------------------------------------------------------------------------------------------------------

def local_today() -> date:
    return datetime.now(NEW_YORK).date()


def test_intake_answers_are_stored_with_the_date(demo, client):
    headers, patient_id = patient_login(client)
    before = local_today()  # the clinic's date before and after the request: it may pass midnight in between
    response = client.post("/api/v1/intake", json=answers(hyperthyroidism=True, past_substance_abuse=True),
                           headers=headers)
    assert response.status_code == 201, response.json
    intake = response.json["intake"]
    assert "crisis" not in response.json and intake["crisis"] is False
    assert intake["patient_id"] == patient_id and intake["answers"]["evidence_based_treatments_tried"] == 3
    assert before <= datetime.fromisoformat(intake["submitted_at"]).astimezone(NEW_YORK).date() <= local_today()
    assert [c["question"] for c in intake["concerns"]] == ["hyperthyroidism", "past_substance_abuse"]
    assert intake["concerns"][0]["kind"] == "exclusion" and intake["concerns"][1]["kind"] == "case_by_case"
    assert count(demo, Intake) == 1


def test_intake_questions_cover_the_contraindications_history_and_suicide(demo, client):
    keys = {q["key"] for q in client.get("/api/v1/intake/questions").json["questions"]}
    assert {"uncontrolled_hypertension", "severe_cardiovascular_disease", "psychosis_history",
            "active_substance_use_disorder", "raised_intracranial_pressure", "severe_liver_disease", "hyperthyroidism",
            "pregnant_or_breastfeeding", "past_substance_abuse", "dissociative_disorder", "anaesthetic_reaction",
            "psychotherapy_tried", "medications_tried", "evidence_based_treatments_tried",
            "suicidal_thoughts"} <= keys


@pytest.mark.parametrize("field, value", [
    ("psychosis_history", None), ("psychosis_history", "yes"), ("evidence_based_treatments_tried", -1),
    ("evidence_based_treatments_tried", 2.5), ("evidence_based_treatments_tried", True),
    ("suicidal_thoughts", "maybe"), ("treatment_details", 12), ("treatment_details", "x" * 2001),
])
def test_every_intake_answer_is_validated_and_the_field_named(demo, client, field, value):
    headers, _ = patient_login(client)
    body = answers(**{field: value})
    if value is None:
        del body[field]
    response = client.post("/api/v1/intake", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert count(demo, Intake) == 0


def test_intake_is_for_patients_only(demo, client):
    assert client.post("/api/v1/intake", json=answers()).status_code == 401
    clinician = api_token(client, "dr.rivera@clinic.test")
    assert client.post("/api/v1/intake", json=answers(), headers=clinician).status_code == 403
    assert client.post("/api/v1/intake", data="[1", content_type="application/json",
                       headers=patient_login(client)[0]).status_code == 400


def test_active_suicidal_thoughts_bring_crisis_resources_and_a_flag_for_staff_today(demo, client):
    headers, patient_id = patient_login(client)
    before = local_today()
    response = client.post("/api/v1/intake", json=answers(suicidal_thoughts="active"), headers=headers)
    assert response.status_code == 201
    assert response.json["crisis"]["resources"] == CRISIS_RESOURCES
    assert response.json["crisis"]["message"]
    assert response.json["intake"]["crisis"] is True
    with demo.app_context():
        flags = db.session.scalars(select(PatientFlag).where(PatientFlag.patient_id == patient_id)).all()
        assert len(flags) == 1 and flags[0].resolved_at is None
        assert before <= flags[0].raised_at.astimezone(NEW_YORK).date() <= local_today()
    clinician = api_token(client, "dr.rivera@clinic.test")
    listed = client.get("/api/v1/flags", headers=clinician).json["flags"]
    assert [f["patient_id"] for f in listed] == [patient_id]
    again = client.post("/api/v1/intake", json=answers(suicidal_thoughts=True), headers=headers)
    assert again.json["crisis"]["resources"] == CRISIS_RESOURCES
    assert count(demo, PatientFlag) == 1  # the open flag is kept, not repeated

    resolved = client.post(f"/api/v1/flags/{listed[0]['id']}/resolve", headers=clinician)
    assert resolved.status_code == 200 and resolved.json["flag"]["resolved_at"]
    assert client.get("/api/v1/flags", headers=clinician).json["flags"] == []
    assert client.post(f"/api/v1/flags/{listed[0]['id']}/resolve", headers=clinician).status_code == 409


def test_passive_thoughts_are_no_crisis_but_shown_to_the_clinician(demo, client):
    headers, _ = patient_login(client)
    response = client.post("/api/v1/intake", json=answers(suicidal_thoughts="passive"), headers=headers)
    assert response.status_code == 201 and "crisis" not in response.json
    assert count(demo, PatientFlag) == 0


def test_intake_page_after_a_crisis_answer_shows_crisis_resources_instead_of_any_form(demo, client):
    sign_in(client, "patient@clinic.test")
    page = client.get("/account/intake")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="suicidal_thoughts"' in html and 'name="psychosis_history"' in html
    form = {key: ("yes" if value is True else "no" if value is False else value) for key, value in
            answers(suicidal_thoughts="active").items()}
    response = client.post("/account/intake", data={**form, "csrf_token": csrf_from(html)}, follow_redirects=True)
    assert response.status_code == 200
    crisis = response.get_data(as_text=True)
    assert "988" in crisis and "911" in crisis and 'href="tel:988"' in crisis
    main = crisis.split('<main', 1)[1].split('</main>', 1)[0]
    assert "<form" not in main and "/book" not in main and "/account/integration" not in main
    assert count(demo, PatientFlag) == 1 and count(demo, Intake) == 1


def test_intake_page_without_csrf_is_refused(demo, client):
    sign_in(client, "patient@clinic.test")
    form = {key: ("yes" if value is True else "no" if value is False else value) for key, value in answers().items()}
    assert client.post("/account/intake", data=form).status_code == 400
    assert count(demo, Intake) == 0


def test_intake_page_stores_answers_and_shows_the_date(demo, client):
    sign_in(client, "patient@clinic.test")
    html = client.get("/account/intake").get_data(as_text=True)
    form = {key: ("yes" if value is True else "no" if value is False else value) for key, value in answers().items()}
    response = client.post("/account/intake", data={**form, "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    again = client.get("/account/intake").get_data(as_text=True)
    assert "We received your answers on" in again
    assert count(demo, Intake) == 1
    incomplete = client.post("/account/intake", data={"csrf_token": csrf_from(again)})
    assert incomplete.status_code == 200 and "Please answer this question." in incomplete.get_data(as_text=True)


# --- clearance ------------------------------------------------------------------------------------------------------

CLEARANCE = {"protocols": ["iv-induction"], "diagnosis_codes": ["F43.12"], "notes": "cleared after evaluation"}


def test_only_clinicians_decide_clearance(demo, client):
    _, patient_id = patient_login(client)
    for email in ("patient@clinic.test", "frontdesk@clinic.test", "billing@clinic.test", "admin@clinic.test"):
        response = client.post(f"/api/v1/patients/{patient_id}/clearance", json=CLEARANCE,
                               headers=api_token(client, email))
        assert response.status_code == 403, email
    assert client.post(f"/api/v1/patients/{patient_id}/clearance", json=CLEARANCE).status_code == 401
    clinician = api_token(client, "dr.chen@clinic.test")
    assert client.post("/api/v1/patients/99999/clearance", json=CLEARANCE, headers=clinician).status_code == 404
    assert count(demo, Clearance) == 0


@pytest.mark.parametrize("body, field", [
    ({**CLEARANCE, "protocols": ["iv-everything"]}, "protocols"),
    ({**CLEARANCE, "protocols": []}, "protocols"),
    ({**CLEARANCE, "protocols": "iv-induction"}, "protocols"),
    ({**CLEARANCE, "diagnosis_codes": ["PTSD"]}, "diagnosis_codes"),
    ({**CLEARANCE, "diagnosis_codes": ["U07.1"]}, "diagnosis_codes"),
    ({**CLEARANCE, "diagnosis_codes": []}, "diagnosis_codes"),
    ({**CLEARANCE, "rems_enrollment_date": "2026-13-01"}, "rems_enrollment_date"),
    ({**CLEARANCE, "rems_enrollment_date": "2099-01-01"}, "rems_enrollment_date"),
    ({"cleared": False}, "reason"),
    ({"cleared": False, "reason": "   "}, "reason"),
    ({**CLEARANCE, "cleared": "no"}, "cleared"),
])
def test_clearance_is_validated(demo, client, body, field):
    _, patient_id = patient_login(client)
    clinician = api_token(client, "dr.rivera@clinic.test")
    response = client.post(f"/api/v1/patients/{patient_id}/clearance", json=body, headers=clinician)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert count(demo, Clearance) == 0


def test_clearance_refusal_withdrawal_and_history(demo, client):
    headers, patient_id = patient_login(client)
    clinician = api_token(client, "dr.rivera@clinic.test")
    url = f"/api/v1/patients/{patient_id}/clearance"

    cleared = client.post(url, json={**CLEARANCE, "diagnosis_codes": ["f43.12", "F43.10"]}, headers=clinician)
    assert cleared.status_code == 201
    assert cleared.json["clearance"]["cleared"] is True
    assert cleared.json["clearance"]["diagnosis_codes"] == ["F43.12", "F43.10"]
    assert book(client, headers, next_weekday(0)).status_code == 201

    refused = client.post(url, json={"cleared": False, "reason": "Uncontrolled hypertension"}, headers=clinician)
    assert refused.status_code == 201 and refused.json["clearance"]["reason"] == "Uncontrolled hypertension"
    blocked = book(client, headers, next_weekday(0) + timedelta(days=2))
    assert blocked.status_code == 403 and blocked.json["error"]["code"] == "clearance_required"
    nothing = client.post(f"{url}/withdraw", json={"reason": "x"}, headers=clinician)
    assert nothing.status_code == 409

    client.post(url, json={**CLEARANCE, "rems_enrollment_date": "2026-02-01"}, headers=clinician)
    missing = client.post(f"{url}/withdraw", json={}, headers=clinician)
    assert missing.status_code == 422 and "reason" in missing.json["error"]["fields"]
    withdrawn = client.post(f"{url}/withdraw", json={"reason": "New cardiac history"}, headers=clinician)
    assert withdrawn.status_code == 200
    assert withdrawn.json["clearance"]["status"] == "withdrawn"
    assert len(withdrawn.json["upcoming_treatment_ids"]) == 1
    blocked = book(client, headers, next_weekday(0) + timedelta(days=2))
    assert blocked.status_code == 403 and blocked.json["error"]["code"] == "clearance_required"

    history = client.get(f"/api/v1/patients/{patient_id}/clearances", headers=clinician).json
    assert [c["status"] for c in history["clearances"]] == ["withdrawn", "superseded", "superseded"]
    assert [c["cleared"] for c in history["clearances"]] == [True, False, True]
    assert history["current"] is None
    own = client.get(f"/api/v1/patients/{patient_id}/clearances", headers=headers)
    assert own.status_code == 200 and len(own.json["clearances"]) == 3
    frontdesk = api_token(client, "frontdesk@clinic.test")
    assert client.get(f"/api/v1/patients/{patient_id}/clearances", headers=frontdesk).status_code == 200
    assert count(demo, AuditEvent, AuditEvent.record_type == "clearance") >= 7  # 4 decisions + withdraw + 2 views


def test_a_new_clearance_keeps_the_rems_date_on_file(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("iv-induction",), rems_enrollment_date="2026-02-01")
    clear_patient(client, patient_id, protocols=("iv-induction", "esketamine"))
    current = client.get(f"/api/v1/patients/{patient_id}/clearances", headers=headers).json["current"]
    assert current["rems_enrollment_date"] == "2026-02-01" and current["protocols"] == ["iv-induction", "esketamine"]
    assert book(client, headers, next_weekday(0), service="esketamine-nasal").status_code == 201


def test_patient_cannot_see_another_patients_clearances(demo, client):
    other_id = a_patient(demo)
    clear_patient(client, other_id)
    headers, _ = patient_login(client)
    assert client.get(f"/api/v1/patients/{other_id}/clearances", headers=headers).status_code == 404
    assert client.get(f"/api/v1/patients/{other_id}/outcomes", headers=headers).status_code == 404
    assert client.get(f"/api/v1/patients/{other_id}/intakes", headers=headers).status_code == 404


def test_clearance_marks_the_intake_reviewed(demo, client):
    headers, patient_id = patient_login(client)
    client.post("/api/v1/intake", json=answers(), headers=headers)
    clear_patient(client, patient_id)
    intakes = client.get(f"/api/v1/patients/{patient_id}/intakes", headers=headers).json["intakes"]
    assert intakes[0]["reviewed_at"] is not None


# --- outcomes -------------------------------------------------------------------------------------------------------


def test_pcl5_is_scored_and_tracked_against_baseline(demo, client):
    headers, patient_id = patient_login(client)
    first = client.post("/api/v1/outcomes", json={"instrument": "pcl5", "answers": pcl5(52)}, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["outcome"]["score"] == 52
    summary = client.get(f"/api/v1/patients/{patient_id}/outcomes", headers=headers).json
    assert summary["baseline"] == 52 and summary["change"] == 0 and summary["clinically_meaningful"] is False

    client.post("/api/v1/outcomes", json={"instrument": "pcl5", "answers": pcl5(45)}, headers=headers)
    summary = client.get(f"/api/v1/patients/{patient_id}/outcomes", headers=headers).json
    assert summary["change"] == -7 and summary["clinically_meaningful"] is False
    client.post("/api/v1/outcomes", json={"answers": pcl5(42)}, headers=headers)
    summary = client.get(f"/api/v1/patients/{patient_id}/outcomes", headers=headers).json
    assert [s["score"] for s in summary["scores"]] == [52, 45, 42]
    assert summary["baseline"] == 52 and summary["change"] == -10 and summary["clinically_meaningful"] is True
    clinician = api_token(client, "dr.chen@clinic.test")
    assert client.get(f"/api/v1/patients/{patient_id}/outcomes", headers=clinician).json["latest"] == 42
    frontdesk = api_token(client, "frontdesk@clinic.test")
    assert client.get(f"/api/v1/patients/{patient_id}/outcomes", headers=frontdesk).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"instrument": "pcl5", "answers": [1] * 19}, "answers"),
    ({"instrument": "pcl5", "answers": [1] * 19 + [5]}, "answers"),
    ({"instrument": "pcl5", "answers": [1] * 19 + [True]}, "answers"),
    ({"instrument": "pcl5", "answers": [1] * 19 + ["2"]}, "answers"),
    ({"instrument": "pcl5"}, "answers"),
    ({"instrument": "phq9", "answers": [1] * 20}, "instrument"),
    ({"instrument": "pcl5", "answers": [1] * 20, "appointment_id": "x"}, "appointment_id"),
    ({"instrument": "pcl5", "answers": [1] * 20, "appointment_id": 999}, "appointment_id"),
])
def test_pcl5_answers_are_validated(demo, client, body, field):
    headers, _ = patient_login(client)
    response = client.post("/api/v1/outcomes", json=body, headers=headers)
    assert response.status_code == 422 and field in response.json["error"]["fields"]
    assert count(demo, OutcomeScore) == 0


def test_pcl5_can_be_tied_to_the_patients_own_treatment_only(demo, client):
    headers, patient_id = patient_login(client)
    mine = past_treatment(demo, patient_id)
    theirs = past_treatment(demo, a_patient(demo), hours_ago=30)
    ok = client.post("/api/v1/outcomes", json={"answers": pcl5(30), "appointment_id": mine}, headers=headers)
    assert ok.status_code == 201 and ok.json["outcome"]["appointment_id"] == mine
    other = client.post("/api/v1/outcomes", json={"answers": pcl5(30), "appointment_id": theirs}, headers=headers)
    assert other.status_code == 422


def test_pcl5_page_on_a_phone_and_the_progress_chart(demo, client):
    sign_in(client, "patient@clinic.test")
    page = client.get("/account/pcl5")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="viewport"' in html
    assert len(re.findall(r'name="item_\d+"', html)) == 20 * 5
    assert "past month" in html and "Not at all" in html and "Extremely" in html
    data = {f"item_{n}": "3" for n in range(1, 21)}
    response = client.post("/account/pcl5", data={**data, "csrf_token": csrf_from(html)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/progress")
    data = {f"item_{n}": "2" for n in range(1, 21)}
    client.post("/account/pcl5", data={**data, "csrf_token": csrf_from(html)})
    progress = client.get("/account/progress").get_data(as_text=True)
    assert "<svg" in progress and "<polyline" in progress and "style=" not in progress.split("<svg", 1)[1]
    assert "<script" not in progress
    assert "60" in progress and "40" in progress and "clinically meaningful" in progress
    missing = client.post("/account/pcl5", data={"item_1": "1", "csrf_token": csrf_from(html)})
    assert missing.status_code == 200 and count(demo, OutcomeScore) == 2


def test_the_pcl5_item_count_and_score_range_come_from_its_definition(demo, client, monkeypatch):
    document = client.get("/api/v1/openapi.json").json
    body = document["paths"]["/outcomes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    items = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]["answers"]
    assert items["minItems"] == items["maxItems"] == len(clinical.PCL5_ITEMS)
    assert items["items"]["maximum"] == clinical.PCL5_ITEM_MAX
    headers, _patient_id = patient_login(client)
    assert client.post("/api/v1/outcomes", json={"answers": pcl5(30)}, headers=headers).status_code == 201
    sign_in(client, "patient@clinic.test")
    progress = client.get("/account/progress").get_data(as_text=True)
    assert f"out of {clinical.PCL5_MAX}." in progress and f"from 0 to {clinical.PCL5_MAX};" in progress
    monkeypatch.setattr(clinical, "PCL5_MAX", 100)  # another instrument's scale: the chart follows it
    progress = client.get("/account/progress").get_data(as_text=True)
    assert "out of 100." in progress and "from 0 to 100;" in progress and "out of 80" not in progress


# --- integration therapy --------------------------------------------------------------------------------------------

def test_integration_slots_fall_24_to_48_hours_after_the_treatment_and_book_in_one_click(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    treatment = book(client, headers, monday).json["appointment"]
    response = client.get(f"/api/v1/appointments/{treatment['id']}/integration-slots", headers=headers)
    assert response.status_code == 200, response.json
    slots = response.json["slots"]
    start, end = datetime.fromisoformat(treatment["start"]), datetime.fromisoformat(treatment["end"])
    assert slots
    for slot in slots:
        begins = datetime.fromisoformat(slot["start"])
        assert end + timedelta(hours=24) <= begins <= start + timedelta(hours=48)
        assert slot["book"]["body"]["service"] == "psychotherapy"

    booked = client.post("/api/v1/appointments", json=slots[0]["book"]["body"], headers=headers)
    assert booked.status_code == 201, booked.json
    again = client.get(f"/api/v1/appointments/{treatment['id']}/integration-slots", headers=headers).json
    assert slots[0]["start"] not in [s["start"] for s in again["slots"]]
    assert [b["id"] for b in again["booked"]] == [booked.json["appointment"]["id"]]


def test_integration_slots_are_private_and_only_after_a_treatment(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    treatment = book(client, headers, next_weekday(0)).json["appointment"]
    other_id = a_patient(demo)
    other = client.post("/api/v1/tokens", json={"email": "second@example.com", "password": DEMO_PASSWORD}).json
    response = client.get(f"/api/v1/appointments/{treatment['id']}/integration-slots",
                          headers={"Authorization": f"Bearer {other['token']}"})
    assert response.status_code == 404 and other_id
    consultation = client.post("/api/v1/appointments", json={"service": "consultation",
                                                             "start": at(next_weekday(1), 10)}, headers=headers)
    assert consultation.status_code == 201, consultation.json
    refused = client.get(f"/api/v1/appointments/{consultation.json['appointment']['id']}/integration-slots",
                         headers=headers)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "not_a_treatment"


def test_integration_page_books_a_session_with_one_click(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    treatment = book(client, headers, next_weekday(1)).json["appointment"]
    sign_in(client, "patient@clinic.test")
    page = client.get(f"/account/integration/{treatment['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    first_start = re.search(r'name="start" value="([^"]+)"', html).group(1)
    response = client.post(f"/account/integration/{treatment['id']}/book",
                           data={"start": first_start, "csrf_token": csrf_from(html)})
    assert response.status_code == 302 and "/appointments/manage/" in response.headers["Location"]
    with demo.app_context():
        row = db.session.scalar(select(Appointment).order_by(Appointment.id.desc()).limit(1))
        assert row.service.code == "psychotherapy" and row.patient_id == patient_id
        assert row.starts_at == datetime.fromisoformat(first_start)
    outside = client.post(f"/account/integration/{treatment['id']}/book",
                          data={"start": treatment["start"], "csrf_token": csrf_from(html)})
    assert outside.status_code == 302 and count(demo, Appointment) == 2


# --- clinician pages ------------------------------------------------------------------------------------------------

def test_clinician_reviews_intakes_flags_first_and_clears_from_the_patient_page(demo, client):
    other_id = a_patient(demo)
    other = client.post("/api/v1/tokens", json={"email": "second@example.com", "password": DEMO_PASSWORD}).json
    client.post("/api/v1/intake", json=answers(psychosis_history=True),
                headers={"Authorization": f"Bearer {other['token']}"})
    headers, patient_id = patient_login(client)
    client.post("/api/v1/intake", json=answers(suicidal_thoughts="active"), headers=headers)

    sign_in(client, "dr.rivera@clinic.test")
    queue = client.get("/clinical/intakes").get_data(as_text=True)
    assert queue.index("Pat Jordan") < queue.index("Sam Second")  # the flagged patient first
    assert "Suicidal thoughts" in queue and "psychosis history" in queue

    page = client.get(f"/clinical/patients/{patient_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Active suicidal thoughts reported" in html
    assert "Yes, I am having thoughts of ending my life" in html
    response = client.post(f"/clinical/patients/{patient_id}/clear", data={
        "protocols": ["iv-induction", "iv-maintenance"], "diagnosis_codes": "F43.12, F43.10",
        "notes": "Seen in person", "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    with demo.app_context():
        clearance = db.session.scalar(select(Clearance).where(Clearance.patient_id == patient_id))
        assert clearance.cleared and clearance.protocols == ["iv-induction", "iv-maintenance"]
        assert clearance.diagnosis_codes == ["F43.12", "F43.10"]
    bad = client.post(f"/clinical/patients/{patient_id}/clear", data={
        "protocols": ["iv-induction"], "diagnosis_codes": "PTSD", "csrf_token": csrf_from(html)},
        follow_redirects=True)
    assert "ICD-10" in bad.get_data(as_text=True) and count(demo, Clearance) == 1
    client.post(f"/clinical/patients/{patient_id}/withdraw",
                data={"withdraw_reason": "Reconsidering", "csrf_token": csrf_from(html)})
    client.post(f"/clinical/patients/{patient_id}/refuse",
                data={"reason": "Needs crisis care first", "csrf_token": csrf_from(html)})
    after = client.get(f"/clinical/patients/{patient_id}").get_data(as_text=True)
    assert "Needs crisis care first" in after and "Reconsidering" in after
    with demo.app_context():
        flag = db.session.scalar(select(PatientFlag))
    client.post(f"/clinical/flags/{flag.id}/resolve", data={"csrf_token": csrf_from(after)})
    assert count(demo, PatientFlag, PatientFlag.resolved_at.is_(None)) == 0


def test_clinical_pages_are_for_clinicians(demo, client):
    sign_in(client, "patient@clinic.test")
    assert client.get("/clinical/intakes").status_code == 403
    assert client.get("/clinical/today").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/account/pcl5").get_data(as_text=True))})
    sign_in(client, "frontdesk@clinic.test")
    assert client.get("/clinical/intakes").status_code == 403
    assert client.get("/clinical/patients/1").status_code == 403
    fresh = client.application.test_client()
    assert fresh.get("/clinical/today").status_code == 302


def test_today_page_shows_chair_driver_and_monitoring_end_and_completes(demo, client):
    _, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id, hours_ago=0)
    sign_in(client, "dr.chen@clinic.test")
    page = client.get("/clinical/today")
    with demo.app_context():  # its own day, which is no longer today when midnight passes meanwhile
        day = db.session.get(Appointment, appointment_id).starts_at.astimezone(NEW_YORK).date()
    sign_in(client, "dr.chen@clinic.test")
    page = client.get(f"/clinical/today?day={day.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with demo.app_context():
        row = db.session.get(Appointment, appointment_id)
        ends = row.ends_at.astimezone(NEW_YORK).strftime("%-I:%M %p")
        chair = row.chair.name
    assert "Pat Jordan" in html and chair in html and DRIVER["name"] in html and DRIVER["phone"] in html
    assert DRIVER["relationship"] in html and ends in html
    token = csrf_from(html)
    refused = client.post(f"/clinical/appointments/{appointment_id}/complete",
                          data={"dose_mg": "40", "csrf_token": token}, follow_redirects=True)
    assert "designated driver" in refused.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Appointment, appointment_id).status == "confirmed"
    done = client.post(f"/clinical/appointments/{appointment_id}/complete",
                       data={"dose_mg": "40", "released_to_driver": "y", "csrf_token": token})
    assert done.status_code == 302
    with demo.app_context():
        row = db.session.get(Appointment, appointment_id)
        assert row.status == "completed" and row.dose_mg == 40 and row.released_to_driver is True


def test_clinician_patient_page_shows_the_pcl5_chart(demo, client):
    headers, patient_id = patient_login(client)
    for total in (50, 38):
        client.post("/api/v1/outcomes", json={"answers": pcl5(total)}, headers=headers)
    sign_in(client, "dr.rivera@clinic.test")
    html = client.get(f"/clinical/patients/{patient_id}").get_data(as_text=True)
    assert "<svg" in html and "<polyline" in html and "Clinically meaningful improvement" in html


def test_every_clinical_route_is_in_the_openapi_document(demo, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/intake", "/intake/questions", "/patients/{id}/intakes", "/patients/{id}/clearance",
                 "/patients/{id}/clearance/withdraw", "/patients/{id}/clearances", "/outcomes",
                 "/patients/{id}/outcomes", "/flags", "/flags/{id}/resolve", "/appointments/{id}/integration-slots"):
        assert path in paths, path
