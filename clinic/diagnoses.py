"""The ICD-10-CM descriptions of the diagnosis codes the clinic uses, kept as data (`data/icd10_descriptions.csv`)
so a superbill's diagnosis table reads "F43.12 Post-traumatic stress disorder, chronic". A code not in the file
is still billed by its code (the insurer needs only the code); add its line to print its description."""
from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "icd10_descriptions.csv"


@cache
def descriptions() -> dict[str, str]:
    with DATA.open(encoding="utf-8", newline="") as rows:
        return {row["code"].strip(): row["description"].strip() for row in csv.DictReader(rows)}


def description(code: str) -> str:
    """The code's description, or "" when the clinic's list does not have it."""
    return descriptions().get(code, "")
