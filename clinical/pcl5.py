"""The PCL-5 questionnaire and its scoring: data and pure rules. The item count and the maximum score come from
the items themselves."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clinic.errors import ValidationError

if TYPE_CHECKING:
    from clinical.models import OutcomeScore

# The PTSD Checklist for DSM-5 (Weathers et al., National Center for PTSD, 2013), public domain.
PCL5_ITEMS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you were "
    "actually back there reliving it)?",
    "Feeling very upset when something reminded you of the stressful experience?",
    "Having strong physical reactions when something reminded you of the stressful experience (for example, heart "
    "pounding, trouble breathing, sweating)?",
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    "Avoiding external reminders of the stressful experience (for example, people, places, conversations, "
    "activities, objects, or situations)?",
    "Trouble remembering important parts of the stressful experience?",
    "Having strong negative beliefs about yourself, other people, or the world (for example, having thoughts such "
    "as: I am bad, there is something seriously wrong with me, no one can be trusted, the world is completely "
    "dangerous)?",
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving feelings "
    "for people close to you)?",
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    "Being \"superalert\" or watchful or on guard?",
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)
PCL5_SCALE = ((0, "Not at all"), (1, "A little bit"), (2, "Moderately"), (3, "Quite a bit"), (4, "Extremely"))
PCL5_ITEM_MAX = PCL5_SCALE[-1][0]
PCL5_MAX = PCL5_ITEM_MAX * len(PCL5_ITEMS)
INSTRUMENTS = ("pcl5",)
MEANINGFUL_FALL = 10  # a fall of 10 points or more from baseline is clinically meaningful (issue 4)


def read_pcl5_answers(answers) -> list[int]:
    if not isinstance(answers, list) or len(answers) != len(PCL5_ITEMS) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 0 <= a <= PCL5_ITEM_MAX for a in answers):
        message = f"Please answer all {len(PCL5_ITEMS)} questions, each with a number from 0 (not at all) to 4 (extremely)."
        raise ValidationError(message, fields={"answers": message})
    return list(answers)



@dataclass(frozen=True)
class OutcomeSummary:
    scores: list[OutcomeScore]
    baseline: int | None
    latest: int | None

    @property
    def change(self) -> int | None:
        return None if self.baseline is None else self.latest - self.baseline

    @property
    def clinically_meaningful(self) -> bool:
        return self.change is not None and -self.change >= MEANINGFUL_FALL

    def change_at(self, score: OutcomeScore) -> int | None:
        return None if self.baseline is None else score.score - self.baseline


