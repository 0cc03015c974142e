"""The screening questions and how answers are read: data and pure rules, shared by the API and the pages."""
from __future__ import annotations

from dataclasses import dataclass

from clinic.errors import ValidationError

@dataclass(frozen=True)
class Question:
    """One screening question. kind: yes_no (true/false), choice, count (0..maximum) or text (optional)."""

    key: str
    text: str
    kind: str
    section: str
    concern: str | None = None  # "exclusion" or "case_by_case" when a "yes" needs a clinician's judgment
    choices: tuple[tuple[str, str], ...] = ()
    maximum: int = 0
    label: str = ""  # a few words for badges; the key's words when empty (keys are API names, some British)

    @property
    def required(self) -> bool:
        return self.kind != "text"

    @property
    def short_label(self) -> str:
        return self.label or self.key.replace("_", " ")


HEALTH, HISTORY, NOW = "Your health", "Treatments you have tried", "How you are feeling now"
SUICIDAL_CHOICES = (
    ("no", "No"),
    ("passive", "Sometimes I wish I were not alive, but I do not think about acting on it"),
    ("active", "Yes, I am having thoughts of ending my life"),
)

# The exclusions and case-by-case conditions come from shared/domain.md ("Clearance").
INTAKE_QUESTIONS: tuple[Question, ...] = (
    Question("uncontrolled_hypertension", "Do you have high blood pressure that is not controlled by treatment?",
             "yes_no", HEALTH, "exclusion"),
    Question("severe_cardiovascular_disease", "Do you have serious heart or blood vessel disease (for example heart "
             "failure, a recent heart attack or stroke, or an aneurysm)?", "yes_no", HEALTH, "exclusion"),
    Question("psychosis_history", "Have you ever had psychosis, schizophrenia, or bipolar disorder with psychotic "
             "features?", "yes_no", HEALTH, "exclusion"),
    Question("active_substance_use_disorder", "Are you currently misusing alcohol or drugs, including ketamine or "
             "other dissociatives?", "yes_no", HEALTH, "exclusion"),
    Question("raised_intracranial_pressure", "Have you been told you have raised pressure inside your skull (for "
             "example after a head injury or from a brain tumor)?", "yes_no", HEALTH, "exclusion"),
    Question("severe_liver_disease", "Do you have serious liver disease, such as cirrhosis?", "yes_no", HEALTH,
             "exclusion"),
    Question("hyperthyroidism", "Do you have an overactive thyroid (hyperthyroidism)?", "yes_no", HEALTH, "exclusion"),
    Question("pregnant_or_breastfeeding", "Are you pregnant, trying to become pregnant, or breastfeeding?",
             "yes_no", HEALTH, "case_by_case"),
    Question("past_substance_abuse", "Have you misused alcohol or drugs in the past?", "yes_no", HEALTH,
             "case_by_case"),
    Question("dissociative_disorder", "Have you been diagnosed with a dissociative disorder?", "yes_no", HEALTH,
             "case_by_case"),
    Question("anaesthetic_reaction", "Have you ever had a bad reaction to an anesthetic, including ketamine?",
             "yes_no", HEALTH, "case_by_case", label="anesthetic reaction"),
    Question("health_details", "Tell us more about any \"yes\" above, other conditions, and the medicines you take "
             "now.", "text", HEALTH),
    Question("psychotherapy_tried", "Have you had psychotherapy for PTSD (for example cognitive processing therapy, "
             "prolonged exposure, EMDR or trauma-focused CBT)?", "yes_no", HISTORY),
    Question("medications_tried", "Have you taken medication for PTSD (for example sertraline, paroxetine or "
             "venlafaxine)?", "yes_no", HISTORY),
    Question("evidence_based_treatments_tried", "How many different evidence-based treatments for PTSD (therapies "
             "and medications) have you tried?", "count", HISTORY, maximum=50),
    Question("treatment_details", "Which treatments did you try, and how did they go?", "text", HISTORY),
    Question("suicidal_thoughts", "Are you having thoughts of suicide or of ending your life now?", "choice", NOW,
             choices=SUICIDAL_CHOICES),
)
QUESTIONS_BY_KEY = {q.key: q for q in INTAKE_QUESTIONS}
TEXT_MAX = 2000

CRISIS_FLAG = "suicidal_thoughts"


def questions_for_review() -> list[Question]:
    """The questions in the order a clinician reads the answers: thoughts of suicide first, as the risk
    that cannot wait; then the form's order."""
    return sorted(INTAKE_QUESTIONS, key=lambda q: q.key != "suicidal_thoughts")


def read_intake_answers(raw: dict) -> dict:
    """Every answer checked against its question; a 422 names each field that is missing or wrong."""
    answers, problems = {}, {}
    for question in INTAKE_QUESTIONS:
        try:
            value = _answer(question, raw.get(question.key))
        except ValueError as problem:
            problems[question.key] = str(problem)
            continue
        if value is not None:
            answers[question.key] = value
    if problems:
        first = next(iter(problems.values()))
        message = first if len(problems) == 1 else f"Please check {len(problems)} answers. {first}"
        raise ValidationError(message, code="invalid", fields=problems)
    return answers


def read_answer(data: dict, key: str):
    """One answer, read as clinic.jsonin reads a field: the value, or a 422 naming the question (the API's
    IntakeAnswers shape checks each answer with it, so the document and the page agree on what is accepted)."""
    try:
        return _answer(QUESTIONS_BY_KEY[key], data.get(key))
    except ValueError as problem:
        raise ValidationError(str(problem), fields={key: str(problem)}) from None


def _answer(question: Question, value):
    if value is None or (isinstance(value, str) and not value.strip()):
        if question.required:
            raise ValueError("Please answer this question.")
        return None
    if question.kind == "yes_no":
        if not isinstance(value, bool):
            raise ValueError("Please answer yes (true) or no (false).")
        return value
    if question.kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= question.maximum:
            raise ValueError(f"Please give a whole number from 0 to {question.maximum}.")
        return value
    if question.kind == "choice":
        return _choice(question, value)
    if not isinstance(value, str) or len(value.strip()) > TEXT_MAX or "\x00" in value:
        raise ValueError(f"Please write at most {TEXT_MAX} characters of plain text.")
    return value.strip()


def _choice(question: Question, value) -> str:
    if question.key == "suicidal_thoughts" and (isinstance(value, bool) or value in ("yes", "no")):
        return "active" if value in (True, "yes") else "no"  # a plain yes to this question means active thoughts
    allowed = [key for key, _label in question.choices]
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Please choose one of: {', '.join(allowed)}.")
    return value


def signals_crisis(answers: dict) -> bool:
    return answers.get("suicidal_thoughts") == "active"


def concerns(answers: dict) -> list[dict]:
    """The answers a clinician must weigh at clearance: exclusions first, then case-by-case conditions."""
    found = [{"question": q.key, "text": q.text, "kind": q.concern, "label": q.short_label}
             for q in INTAKE_QUESTIONS if q.concern and answers.get(q.key) is True]
    return sorted(found, key=lambda c: c["kind"] != "exclusion")


