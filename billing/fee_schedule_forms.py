"""Billing staff's fee schedule form: a service's lines as typed (charges in dollars), read into `LineSpec`s with a
sentence on each field that is wrong. Every field is text so a bad number gets our sentence, not the library's."""
from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectChoice, SelectField, StringField
from wtforms.validators import Length

from billing.fee_schedule import MAX_CHARGE_CENTS, LineSpec
from billing.forms import parse_dollars
from clinic import claim_codes
from clinic.formatting import money
from clinic.forms import PlainText

MAX_LINES = 8
PLACES = [SelectChoice(code, f"{code} {label}") for code, label in claim_codes.PLACES_OF_SERVICE.items()]
DRUG_CODE = "J3490"  # the unclassified drug: the insurer prices it only with the drug's name, NDC and dose


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _upper(value):
    return value.upper() if isinstance(value, str) else value


class FeeLineForm(Form):
    code = StringField("Code (CPT or HCPCS)", filters=[_strip, _upper], validators=[PlainText(), Length(max=5)],
                       description="CPT: five digits, or four and a letter (96365). "
                                   "HCPCS: a letter and four digits (J3490).")
    description = StringField("Description", filters=[_strip], validators=[PlainText(), Length(max=200)])
    modifiers = StringField("Modifiers", filters=[_strip, _upper], validators=[PlainText(), Length(max=20)],
                            description="Up to four, two letters or digits each, separated by spaces (JZ 59).")
    units = StringField("Units", filters=[_strip], default="1", validators=[PlainText(), Length(max=3)])
    charge = StringField("Charge (dollars)", filters=[_strip], validators=[PlainText(), Length(max=20)],
                         description="For all the line's units, like 425.00.")
    place_of_service = SelectField("Place of service", choices=PLACES, default="11")
    min_dose_mg = StringField("Lowest dose (mg)", filters=[_strip], validators=[PlainText(), Length(max=5)],
                              description="Only when the code depends on the dose (G2083: 57).")
    max_dose_mg = StringField("Highest dose (mg)", filters=[_strip], validators=[PlainText(), Length(max=5)],
                              description="Only when the code depends on the dose (G2082: 56).")
    drug_name = StringField("Drug name (J3490)", filters=[_strip], validators=[PlainText(), Length(max=200)])
    ndc = StringField("NDC (J3490)", filters=[_strip], validators=[PlainText(), Length(max=13)],
                      description="With its hyphens, as on the package: 0409-2053-10.")
    dose_unit = StringField("Dose unit (J3490)", filters=[_strip], validators=[PlainText(), Length(max=20)],
                            description="How the dose is counted, like mg.")

    def is_blank(self) -> bool:
        return not (self.code.data or self.charge.data or self.description.data or self.ndc.data)


class FeeScheduleForm(FlaskForm):
    effective_on = StringField("Effective from", filters=[_strip], validators=[PlainText()],
                               description="The first day visits bill at these fees; earlier visits keep theirs.")
    lines = FieldList(FormField(FeeLineForm), min_entries=1, max_entries=MAX_LINES)


def read_effective_on(form: FeeScheduleForm) -> date | None:
    try:
        return date.fromisoformat(form.effective_on.data or "")
    except ValueError:
        form.effective_on.errors = ["Choose the date the new fees take effect (MM/DD/YYYY)."]
        return None


def read_lines(form: FeeScheduleForm) -> list[LineSpec]:
    """The filled lines as specs; a wrong field gets its sentence in `errors` (the caller checks the form)."""
    specs = []
    for entry in form.lines.entries:
        line = entry.form
        if not line.is_blank():
            spec = _read_line(line)
            if spec is not None:
                specs.append(spec)
    if not specs and not any(e.form.errors for e in form.lines.entries):
        form.lines.entries[0].form.code.errors = ["Enter at least one line: a code and its charge."]
    return specs


def has_errors(form: FeeScheduleForm) -> bool:
    return bool(form.effective_on.errors or any(_field_errors(e.form) for e in form.lines.entries))


def _field_errors(line: FeeLineForm) -> bool:
    return any(field.errors for field in line)


def _read_line(line: FeeLineForm) -> LineSpec | None:
    numbers = {name: _whole(getattr(line, name), label) for name, label in (
        ("units", "The units"), ("min_dose_mg", "The lowest dose"), ("max_dose_mg", "The highest dose"))}
    charge = _charge(line.charge)
    modifiers = tuple(m for m in re.split(r"[\s,]+", line.modifiers.data or "") if m)
    _check_shapes(line, modifiers)
    if _field_errors(line):
        return None
    is_drug = line.code.data == DRUG_CODE
    return LineSpec(code=line.code.data, charge_cents=charge, description=line.description.data or "",
                    units=numbers["units"] or 1, modifiers=modifiers, place_of_service=line.place_of_service.data,
                    min_dose_mg=numbers["min_dose_mg"], max_dose_mg=numbers["max_dose_mg"],
                    drug_name=line.drug_name.data or None if is_drug else None,
                    ndc=line.ndc.data or None if is_drug else None,
                    dose_unit=line.dose_unit.data or None if is_drug else None)


def _whole(field, label: str) -> int | None:
    if not field.data:
        return None
    if not field.data.isdigit():
        field.errors.append(f"{label} must be a whole number, like 1.")
        return None
    return int(field.data)


def _charge(field) -> int | None:
    cents = parse_dollars(field.data) if field.data else None
    if cents is None:
        field.errors.append("Enter the charge in dollars, like 425.00 (0.00 for a line billed at no charge).")
    elif cents > MAX_CHARGE_CENTS:
        field.errors.append(f"A line's charge is at most {money(MAX_CHARGE_CENTS)}.")
    return cents


def _check_shapes(line: FeeLineForm, modifiers: tuple[str, ...]) -> None:
    code = line.code.data or ""
    if not claim_codes.is_procedure_code(code):
        line.code.errors.append("Enter a CPT code (five digits, or four digits and a letter, like 96365) or a HCPCS "
                                "code (a letter and four digits, like J3490).")
    if len(modifiers) > 4:
        line.modifiers.errors.append("A line carries at most four modifiers.")
    elif not all(claim_codes.is_modifier(m) for m in modifiers):
        line.modifiers.errors.append("Each modifier is two letters or digits, like JZ or 59.")
    if line.units.data and line.units.data.isdigit() and not 1 <= int(line.units.data) <= 999:
        line.units.errors.append("The units must be between 1 and 999.")
    low, high = line.min_dose_mg.data, line.max_dose_mg.data
    if low and high and low.isdigit() and high.isdigit() and int(low) > int(high):
        line.max_dose_mg.errors.append("The highest dose must be at least the lowest dose.")
    if code == DRUG_CODE:
        _check_drug(line)


def _check_drug(line: FeeLineForm) -> None:
    if not line.drug_name.data:
        line.drug_name.errors.append("A J3490 line needs the drug's name, like Ketamine HCl 50 mg/mL.")
    if not claim_codes.is_ndc(line.ndc.data or ""):
        line.ndc.errors.append("Enter the drug's 10- or 11-digit NDC with its hyphens (4-4-2, 5-3-2, 5-4-1 or "
                               "5-4-2), like 0409-2053-10.")
    if not line.dose_unit.data:
        line.dose_unit.errors.append("A J3490 line needs the unit its dose is counted in, like mg.")


def line_data(row) -> dict:
    """A stored line as the form's fields (for the next version, prefilled with the one in force)."""
    return {"code": row.code, "description": row.description, "modifiers": " ".join(row.modifiers or ()),
            "units": str(row.units), "charge": f"{row.charge_cents // 100}.{row.charge_cents % 100:02d}",
            "place_of_service": row.place_of_service, "min_dose_mg": _text(row.min_dose_mg),
            "max_dose_mg": _text(row.max_dose_mg), "drug_name": row.drug_name or "", "ndc": row.ndc or "",
            "dose_unit": row.dose_unit or ""}


def _text(value) -> str:
    return "" if value is None else str(value)
