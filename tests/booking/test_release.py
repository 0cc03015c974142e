"""One way to free a place: every path (cancel, expiry, reschedule) keeps the reservation rows, inactive."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking import services
from booking.models import Appointment, Reservation
from clinic.extensions import db
from tests.factories import at, book, booked, clear_patient, MONDAY, next_weekday, patient_login, staff


def _rows(app, appointment_id: int) -> list[tuple[bool, str]]:
    with app.app_context():
        found = db.session.scalars(select(Reservation).where(Reservation.appointment_id == appointment_id)
                                   .order_by(Reservation.id))
        return [(r.active, r.starts_at.isoformat()) for r in found]


def test_cancelling_keeps_the_reservations_inactive(demo, client, app):
    appointment = booked(client, next_weekday(MONDAY), 11)
    assert [active for active, _ in _rows(app, appointment["id"])] == [True]

    response = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=staff(client))

    assert response.status_code == 200, response.json
    assert [active for active, _ in _rows(app, appointment["id"])] == [False]


def test_an_expired_hold_keeps_its_reservations_inactive(demo, client, app):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    response = book(client, headers, next_weekday(MONDAY + 1), 9)
    assert response.status_code == 201, response.json
    appointment_id = response.json["appointment"]["id"]
    assert [active for active, _ in _rows(app, appointment_id)] == [True, True]  # clinician and chair

    with app.app_context():
        held = db.session.get(Appointment, appointment_id)
        assert services.expire_holds(held.hold_expires_at + timedelta(seconds=1)) == 1
        db.session.commit()
        assert db.session.get(Appointment, appointment_id).status == "cancelled"

    assert [active for active, _ in _rows(app, appointment_id)] == [False, False]


def test_rescheduling_keeps_the_old_reservation_inactive_beside_the_new_one(demo, client, app):
    day = next_weekday(MONDAY)
    appointment = booked(client, day, 11)

    response = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule", json={"start": at(day, 14)},
                           headers=staff(client))

    assert response.status_code == 200, response.json
    assert [active for active, _ in _rows(app, appointment["id"])] == [False, True]


def test_moved_then_cancelled_in_one_transaction_frees_the_new_place_too(demo, client, app):
    """Reservations are written in one INSERT beside the ORM: the appointment still sees its new ones at once."""
    from clinic.models import User
    day = next_weekday(MONDAY)
    appointment = booked(client, day, 11)
    with app.app_context():
        frontdesk = db.session.scalar(select(User).where(User.email == "frontdesk@clinic.test"))
        moving = db.session.get(Appointment, appointment["id"])
        services.reschedule(frontdesk, moving, moving.starts_at + timedelta(hours=3))
        assert [r.active for r in moving.reservations] == [False, True]
        services.cancel(frontdesk, moving, notify=False)
        db.session.commit()
    assert [active for active, _ in _rows(app, appointment["id"])] == [False, False]
