"""The fee schedule: which lines each service bills, versioned by effective date (data, never code).

A version is every line of one service with one `effective_on`; the version in force on a day is the latest
one that starts on or before it. Changing the schedule adds a version and never touches an older one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from billing.models import FeeScheduleLine
from booking.models import Appointment, AppointmentStatus, Service
from clinic import audit, claim_codes
from clinic.database import utcnow
from clinic.errors import ValidationError
from clinic.extensions import db
from clinic.formatting import numeric_date
from clinic.models import User
from clinic.settings import clinic_zone


MAX_CHARGE_CENTS = 10_000_000  # $100,000.00 a line: far above any visit, below what a typo could store
LATEST_START = timedelta(days=2 * 366)  # a version at most about two years ahead (no later one could follow it)


@dataclass(frozen=True)
class LineSpec:
    """One line as billing staff enter it."""

    code: str
    charge_cents: int
    description: str = ""
    units: int = 1
    modifiers: tuple[str, ...] = ()
    place_of_service: str = "11"
    min_dose_mg: int | None = None
    max_dose_mg: int | None = None
    drug_name: str | None = None
    ndc: str | None = None
    dose_unit: str | None = None


def lines_in_force(service: Service, day: date) -> list[FeeScheduleLine]:
    """The service's lines on `day` (empty: the service is not billed, like the free consultation)."""
    return lines_on_days(service, [day])[day]


def lines_on_days(service: Service, days: list[date]) -> dict[date, list[FeeScheduleLine]]:
    """The service's lines in force on each of `days`, from one read of every version up to the last day (a
    series' estimate prices six dates; a query per date was most of its cost)."""
    rows = db.session.scalars(select(FeeScheduleLine).where(
        FeeScheduleLine.service_id == service.id, FeeScheduleLine.effective_on <= max(days))
        .order_by(FeeScheduleLine.position, FeeScheduleLine.id)).all()
    versions = sorted({row.effective_on for row in rows}, reverse=True)

    def in_force(day: date) -> list[FeeScheduleLine]:
        effective = next((v for v in versions if v <= day), None)
        return [row for row in rows if row.effective_on == effective] if effective is not None else []
    return {day: in_force(day) for day in days}


def lines_for_dose(lines: list[FeeScheduleLine], dose_mg: int | None) -> list[FeeScheduleLine]:
    """Drop lines whose dose bounds exclude the dose given (G2082 up to 56 mg, G2083 above)."""
    def fits(line: FeeScheduleLine) -> bool:
        if dose_mg is None:
            return line.min_dose_mg is None  # no dose recorded: the lowest band
        return (line.min_dose_mg or 0) <= dose_mg <= (line.max_dose_mg if line.max_dose_mg is not None else dose_mg)
    return [line for line in lines if fits(line)]


def add_version(actor: User | None, service: Service, effective_on: date, specs: list[LineSpec]) -> list[FeeScheduleLine]:
    """A new version of a service's lines from `effective_on`; an existing version is never rewritten."""
    problems = {f"lines[{i}].{k}": v for i, spec in enumerate(specs) for k, v in line_problems(spec).items()}
    if problems:
        raise ValidationError("Some fee schedule lines need fixing.", fields=problems)
    if db.session.scalar(select(FeeScheduleLine.id).where(FeeScheduleLine.service_id == service.id,
                                                           FeeScheduleLine.effective_on >= effective_on).limit(1)):
        message = "A version of this service's fees already starts on or after that date: pick a later date."
        raise ValidationError(message, code="version_exists", fields={"effective_on": message})
    rows = [_row(actor, service, effective_on, position, spec) for position, spec in enumerate(specs)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def change_fees(actor: User, service: Service, effective_on: date, specs: list[LineSpec]) -> list[FeeScheduleLine]:
    """Billing staff's edit: a new version from `effective_on`, audit-logged. It may not start before today nor on
    a day a visit of this service has already begun, so no visit that happened (or superbill that billed it) is
    ever priced by it."""
    problem = effective_date_problem(service, effective_on)
    if problem:
        raise ValidationError(problem, code="effective_date", fields={"effective_on": problem})
    rows = add_version(actor, service, effective_on, specs)
    audit.record("change", "fee_schedule", service.id, user=actor, detail={
        "service": service.code, "effective_on": effective_on.isoformat(), "codes": [r.code for r in rows]})
    return rows


def effective_date_problem(service: Service, effective_on: date) -> str | None:
    zone = clinic_zone()
    today = utcnow().astimezone(zone).date()
    if effective_on < today:
        return (f"Choose {numeric_date(today)} or later: a change never reprices visits that already happened, "
                "so it starts today at the earliest.")
    if effective_on > today + LATEST_START:
        return f"Choose a date before {numeric_date(today + LATEST_START)}: a version starts at most two years ahead."
    started = db.session.scalar(select(func.count(Appointment.id)).where(
        Appointment.service_id == service.id, Appointment.status != AppointmentStatus.cancelled.value,
        Appointment.starts_at >= datetime.combine(effective_on, time(), zone), Appointment.starts_at <= utcnow()))
    if started:
        return (f"A visit on {numeric_date(effective_on)} has already begun at the current fees: "
                "choose the next day or later.")
    return None


def versions(service: Service) -> list[tuple[date, list[FeeScheduleLine]]]:
    """Every version of the service's lines, newest first: (effective_on, its lines in order)."""
    rows = db.session.scalars(select(FeeScheduleLine).where(FeeScheduleLine.service_id == service.id)
                              .order_by(FeeScheduleLine.effective_on.desc(), FeeScheduleLine.position,
                                        FeeScheduleLine.id)).all()
    grouped: dict[date, list[FeeScheduleLine]] = {}
    for row in rows:
        grouped.setdefault(row.effective_on, []).append(row)
    return list(grouped.items())


def _row(actor, service, effective_on, position, spec: LineSpec) -> FeeScheduleLine:
    return FeeScheduleLine(
        service_id=service.id, effective_on=effective_on, position=position, code=spec.code,
        description=spec.description, modifiers=list(spec.modifiers), units=spec.units,
        charge_cents=spec.charge_cents, place_of_service=spec.place_of_service, min_dose_mg=spec.min_dose_mg,
        max_dose_mg=spec.max_dose_mg, drug_name=spec.drug_name, ndc=spec.ndc, dose_unit=spec.dose_unit,
        created_by_id=actor.id if actor else None)


def line_problems(spec: LineSpec) -> dict[str, str]:
    """What is wrong with one line, by field (empty when it is fine)."""
    problems = {}
    if not claim_codes.is_procedure_code(spec.code):
        problems["code"] = "A CPT code has five digits (or four and a letter); a HCPCS code a letter and four digits."
    if len(spec.modifiers) > 4 or not all(claim_codes.is_modifier(m) for m in spec.modifiers):
        problems["modifiers"] = "At most four modifiers of two letters or digits each."
    if not 1 <= spec.units <= 999 or spec.charge_cents < 0:
        problems["units"] = "At least one unit and a charge of zero or more."
    elif spec.charge_cents > MAX_CHARGE_CENTS:
        problems["charge_cents"] = "A line's charge is at most $100,000.00."
    if spec.place_of_service not in claim_codes.PLACES_OF_SERVICE:
        problems["place_of_service"] = "The place of service is 11 (office), 02 or 10 (telehealth)."
    if spec.min_dose_mg is not None and spec.max_dose_mg is not None and spec.min_dose_mg > spec.max_dose_mg:
        problems["max_dose_mg"] = "The highest dose must be at least the lowest dose."
    if spec.code == "J3490" and not (spec.drug_name and spec.ndc and claim_codes.is_ndc(spec.ndc)):
        problems["ndc"] = "A J3490 line needs the drug's name and its NDC (like 0409-2053-10)."
    return problems
