"""The dependency direction clinic <- clinical <- booking <- billing: clinical never imports booking or billing."""
from __future__ import annotations

import ast
from pathlib import Path

CLINICAL = Path(__file__).resolve().parents[2] / "clinical"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_clinical_imports_neither_booking_nor_billing():
    modules = sorted(CLINICAL.glob("*.py"))
    assert len(modules) >= 8  # the package is there, not an empty folder
    offenders = {p.name: _imported_roots(p) & {"booking", "billing"} for p in modules}
    assert {name: roots for name, roots in offenders.items() if roots} == {}
