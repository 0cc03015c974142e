"""What the clinical API takes and gives (clinic.shapes declarations; clinic.openapi documents them). The intake
answers and the PCL-5 items are data (clinical.intake, clinical.pcl5): the shapes are written from them, so a
question or an item added there is checked and documented at once."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field

from clinic import jsonin, shapes
from clinical.intake import INTAKE_QUESTIONS, TEXT_MAX, Question, read_answer
from clinical.pcl5 import INSTRUMENTS, PCL5_ITEM_MAX, PCL5_ITEMS, PCL5_MAX, read_pcl5_answers

# --- requests -----------------------------------------------------------------------------------------------------

_ANSWER_TYPES: dict[str, type] = {"yes_no": bool, "count": int, "choice": str, "text": str}


def _answer_schema(question: Question) -> dict:
    """What the document says one answer may be; clinical.intake.read_answer is what checks it."""
    if question.kind == "yes_no":
        schema: dict = {"type": "boolean"}
    elif question.kind == "count":
        schema = {"type": "integer", "minimum": 0, "maximum": question.maximum}
    elif question.kind == "choice":
        schema = {"type": "string", "enum": [value for value, _label in question.choices]}
    else:
        schema = {"type": "string", "maxLength": TEXT_MAX}
    return schema if question.required else {**schema, "nullable": True}


def _answer_field(question: Question) -> tuple[Any, Any]:
    """A question as a field: a required one has no default, so leaving it out is named like a wrong answer."""
    reads = shapes.Reads(read_answer, _answer_schema(question))
    kind = _ANSWER_TYPES[question.kind]
    return (Annotated[kind, reads], ...) if question.required else (Annotated[kind | None, reads], None)


class _AnswersBody(shapes.Shape):
    @pydantic.model_validator(mode="before")
    @classmethod
    def _unwrapped(cls, data: Any) -> Any:
        """The answers come as the body itself or wrapped as {"answers": {...}}: the endpoint has always taken both."""
        if isinstance(data, dict) and isinstance(data.get("answers"), dict):
            return data["answers"]
        return data


IntakeAnswers = pydantic.create_model(
    "IntakeAnswers", __base__=_AnswersBody, __module__=__name__,
    __doc__="One answer per screening question (GET /intake/questions); the free-text ones may be left out.",
    **{question.key: _answer_field(question) for question in INTAKE_QUESTIONS})


def _list_or_empty(data: dict, field: str) -> list[str]:
    """A list of text values that may be empty: a refusal names no protocol and may name no diagnosis."""
    return [] if data.get(field) == [] else jsonin.string_list(data, field, required=False)


_LIST_OR_EMPTY = shapes.Reads(_list_or_empty, {"type": "array", "items": {"type": "string"}, "nullable": True})


class ClearanceDecision(shapes.Shape):
    """A clearance (`cleared` true, the default) names its protocols and ICD-10 diagnosis codes; a refusal
    (`cleared: false`) its reason. A REMS enrollment date left out keeps the one on file; null removes it."""
    cleared: Annotated[bool, shapes.boolean(default=True)] = True
    protocols: Annotated[list[str] | None, _LIST_OR_EMPTY] = None
    diagnosis_codes: Annotated[list[str] | None, _LIST_OR_EMPTY] = None
    notes: Annotated[str | None, shapes.text(required=False, max_len=4000, multiline=True)] = None
    reason: Annotated[str | None, shapes.text(required=False, max_len=4000, multiline=True)] = None
    rems_enrollment_date: Annotated[date | None, shapes.day("REMS enrollment date", required=False)] = None


class ClearanceNeeds(shapes.Shape):
    """What a clearance must name, read once a clinician is known to be deciding (not part of the document:
    ClearanceDecision describes the body)."""
    protocols: Annotated[list[str], shapes.string_list()]
    diagnosis_codes: Annotated[list[str], shapes.string_list()]


class RefusalNeeds(shapes.Shape):
    """What a refusal must name (as ClearanceNeeds)."""
    reason: Annotated[str, shapes.text(max_len=4000, multiline=True)]


class ClearanceWithdrawal(shapes.Shape):
    reason: Annotated[str, shapes.text(max_len=4000, multiline=True)]


def _pcl5_answers(data: dict, field: str) -> list[int]:
    return read_pcl5_answers(data.get(field))


_PCL5_ANSWERS = shapes.Reads(_pcl5_answers, {
    "type": "array", "minItems": len(PCL5_ITEMS), "maxItems": len(PCL5_ITEMS),
    "items": {"type": "integer", "minimum": 0, "maximum": PCL5_ITEM_MAX}})
_INSTRUMENT = shapes.Reads(jsonin.text, {"type": "string", "enum": list(INSTRUMENTS), "nullable": True},
                           {"required": False, "max_len": 20})


class OutcomeSubmission(shapes.Shape):
    """A PCL-5, one answer per item in order. A clinician names the patient; a patient's own is theirs."""
    answers: Annotated[list[int], _PCL5_ANSWERS]
    instrument: Annotated[str | None, _INSTRUMENT] = None
    appointment_id: Annotated[int | None, shapes.integer("appointment", minimum=1)] = None
    patient_id: Annotated[int | None, shapes.integer("patient", minimum=1)] = None


# --- answers ------------------------------------------------------------------------------------------------------

class AnswerChoice(shapes.Answer):
    value: str
    label: str


class IntakeQuestion(shapes.Answer):
    key: str
    text: str
    kind: Literal["yes_no", "count", "choice", "text"]
    section: str
    required: bool
    maximum: int | None
    choices: list[AnswerChoice] | None


class IntakeQuestions(shapes.Answer):
    """questions"""
    questions: list[IntakeQuestion]


class Concern(shapes.Answer):
    """An answer a clinician must weigh at clearance."""
    question: str
    text: str
    kind: Literal["exclusion", "case_by_case"]
    label: str


class Intake(shapes.Answer):
    id: int
    patient_id: int
    submitted_at: datetime
    answers: dict[str, bool | int | str]
    crisis: bool
    concerns: list[Concern]
    reviewed_at: datetime | None


class CrisisHelp(shapes.Answer):
    """What a patient with active suicidal thoughts is told, true to whether a clinician can call today."""
    message: str
    resources: list[str]
    clinician_calls_today: bool


class IntakeSubmitted(shapes.Answer):
    """intake, and crisis when raised"""
    intake: Intake
    crisis: CrisisHelp | None = None


class Intakes(shapes.Answer):
    """intakes"""
    intakes: list[Intake]


class Clearance(shapes.Answer):
    id: int
    patient_id: int
    cleared: bool
    protocols: list[str]
    diagnosis_codes: list[str]
    notes: str | None
    reason: str | None
    rems_enrollment_date: date | None
    decided_at: datetime
    decided_by_id: int
    clinician_id: int | None
    status: Literal["current", "withdrawn", "superseded"]
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


class ClearanceDecided(shapes.Answer):
    """clearance"""
    clearance: Clearance


class ClearanceWithdrawn(shapes.Answer):
    """clearance and upcoming treatment ids"""
    clearance: Clearance
    upcoming_treatment_ids: list[int]


class Clearances(shapes.Answer):
    """clearances"""
    clearances: list[Clearance]
    current: Clearance | None


_SCORE = Field(ge=0, le=PCL5_MAX)


class Outcome(shapes.Answer):
    id: int
    patient_id: int
    instrument: str
    score: Annotated[int, _SCORE]
    max_score: int
    taken_at: datetime
    appointment_id: int | None
    answers: list[int]
    change: int | None = None  # in a patient's list only: the score minus the baseline


class OutcomeRecorded(shapes.Answer):
    """outcome with its score"""
    outcome: Outcome
    score: Annotated[int, _SCORE]


class Outcomes(shapes.Answer):
    """scores"""
    patient_id: int
    instrument: str
    max_score: int
    scores: list[Outcome]
    baseline: int | None
    latest: int | None
    change: int | None
    clinically_meaningful: bool
    meaningful_fall: int


class Flag(shapes.Answer):
    id: int
    patient_id: int
    kind: str
    raised_at: datetime
    resolved_at: datetime | None


class Flags(shapes.Answer):
    """flags"""
    flags: list[Flag]


class FlagResolved(shapes.Answer):
    """flag"""
    flag: Flag
