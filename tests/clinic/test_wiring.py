"""Explicit wiring: core names the other packages only in the app factory's list of blueprints; the navigation
each role sees comes from what the packages register; nothing attaches routes by being imported."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.factories import signed_in

CLINIC = Path(__file__).resolve().parents[2] / "clinic"
PACKAGES = {"booking", "clinical", "billing"}


def _imports_of_packages(tree: ast.AST) -> list[ast.AST]:
    found = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        if any(name.split(".")[0] in PACKAGES for name in names):
            found.append(node)
    return found


def test_core_imports_other_packages_only_in_the_list_of_blueprints():
    modules = sorted(CLINIC.glob("*.py"))
    assert len(modules) > 10
    outside = {p.name: len(_imports_of_packages(ast.parse(p.read_text()))) for p in modules if p.name != "__init__.py"}
    assert {name: count for name, count in outside.items() if count} == {}
    factory = ast.parse((CLINIC / "__init__.py").read_text())
    registering = next(n for n in factory.body if isinstance(n, ast.FunctionDef) and n.name == "_register_blueprints")
    inside = _imports_of_packages(registering)
    assert len(inside) >= 3 and len(_imports_of_packages(factory)) == len(inside)


def test_every_route_belongs_to_a_registered_blueprint_of_its_package(app):
    owners = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert {"booking_api", "clinical_api", "billing_api", "superbill_api", "superbills"} <= owners
    for endpoint, view in app.view_functions.items():
        if "." in endpoint and not endpoint.endswith(".static"):
            package = view.__module__.split(".")[0]
            blueprint = app.blueprints[endpoint.split(".")[0]]
            assert blueprint.import_name.split(".")[0] == package, endpoint


def _nav_labels(client, path: str = "/") -> list[str]:
    html = client.get(path).get_data(as_text=True)
    assert '<nav class="site-nav"' in html, "the page has a navigation"
    start, end = html.index('<nav class="site-nav"'), html.index("</nav>")
    return [label for label in ("Home", "Book a free consultation", "My account", "Book a treatment", "Intake",
                                "Progress", "Today", "Treatments today", "Intakes", "Billing", "Clinic settings",
                                "Security", "Sign in") if f">{label}</a>" in html[start:end]]


@pytest.mark.parametrize("role, expected", [
    ("patient", ["Home", "Book a free consultation", "My account", "Book a treatment", "Intake", "Progress", "Security"]),
    ("clinician", ["Home", "Book a free consultation", "Today", "Treatments today", "Intakes", "Security"]),
    ("frontdesk", ["Home", "Book a free consultation", "Today", "Security"]),
    ("billing", ["Home", "Book a free consultation", "Today", "Billing", "Security"]),
    ("admin", ["Home", "Book a free consultation", "Today", "Treatments today", "Intakes", "Billing",
               "Clinic settings", "Security"]),
])
def test_navigation_per_role_comes_from_the_packages(demo, role, expected):
    client, _ = signed_in(demo, role)
    assert _nav_labels(client) == expected


def test_visitors_see_the_public_links_and_sign_in(demo):
    assert _nav_labels(demo.test_client()) == ["Home", "Book a free consultation", "Sign in"]


def test_the_admin_page_links_to_closures_that_booking_registered(demo):
    client, _ = signed_in(demo, "admin")
    html = client.get("/admin/").get_data(as_text=True)
    assert "Closures and holidays" in html and 'href="/admin/closures/"' in html


OTHER_BLUEPRINTS = ("booking", "booking_api", "treatments", "care", "closures", "front_desk", "clinical",
                    "clinical_api", "billing", "billing_api", "superbills", "superbill_api")
CORE_TEMPLATES = ["base.html", "error.html", "_forms.html", "admin/index.html", *(f"auth/{p.name}" for p in
                  (CLINIC.parent / "templates" / "auth").glob("*.html"))]


def test_core_names_no_endpoint_of_another_package():
    texts = {p.name: p.read_text() for p in CLINIC.glob("*.py")}
    texts |= {name: (CLINIC.parent / "templates" / name).read_text() for name in CORE_TEMPLATES}
    assert len(texts) > 15
    named = {name: [bp for bp in OTHER_BLUEPRINTS if f'"{bp}.' in text or f"'{bp}." in text] for name, text in texts.items()}
    assert {name: found for name, found in named.items() if found} == {}


@pytest.mark.parametrize("role, landing", [("patient", "/account"), ("clinician", "/staff"), ("frontdesk", "/staff"),
                                           ("billing", "/billing")])
def test_each_role_lands_where_its_package_says(demo, role, landing):
    _, location = signed_in(demo, role)
    assert location == landing
