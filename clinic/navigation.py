"""What the layout links to, as each package registers it: core never names another package's pages.

A package adds its links when its blueprint is registered (`add(bp, Link(...))`); the layout asks
`links(place)` for the ones the signed-in person may follow, in order. Places: `main` (the site
navigation) and `admin` (the clinic settings page's links to other packages' settings).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app
from flask_login import current_user

EXTENSION = "clinic.navigation"
EVERYONE = None


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str
    order: int
    roles: frozenset[str] | None = EVERYONE  # None: everyone, signed in or not
    place: str = "main"
    description: str = ""  # admin links: a sentence under the heading
    action: str = ""  # admin links: the button's words
    landing_for: frozenset[str] = frozenset()  # roles that land here after signing in

    def shown_to(self, role: str | None) -> bool:
        return self.roles is EVERYONE or (role is not None and role in self.roles)


def add(blueprint: Blueprint, *new_links: Link) -> None:
    """Register links with the app when `blueprint` is registered (once per app)."""
    def _record(state) -> None:
        state.app.extensions.setdefault(EXTENSION, []).extend(new_links)
    blueprint.record_once(_record)


def roles(*names) -> frozenset[str]:
    return frozenset(getattr(name, "value", name) for name in names)


def links(place: str = "main") -> list[Link]:
    role = current_user.role if current_user.is_authenticated else None
    registered = current_app.extensions.get(EXTENSION, [])
    return sorted((link for link in registered if link.place == place and link.shown_to(role)), key=lambda l: l.order)


def landing_endpoint(role: str) -> str:
    """Where someone with `role` lands after signing in: the link a package marked as that role's landing page."""
    marked = [link for link in current_app.extensions.get(EXTENSION, []) if role in link.landing_for]
    return min(marked, key=lambda l: l.order).endpoint if marked else home_endpoint()


def home_endpoint() -> str:
    """Where the clinic's name in the header leads: the first link everyone sees, else the sign-in page."""
    public = [link for link in current_app.extensions.get(EXTENSION, []) if link.place == "main" and link.roles is EVERYONE]
    return min(public, key=lambda l: l.order).endpoint if public else "auth.login"
