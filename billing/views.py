"""Billing pages: payments, refunds and superbills."""
from flask import Blueprint, render_template

from clinic.auth_context import roles_required
from clinic.models import Role

bp = Blueprint("billing", __name__)


@bp.get("/billing")
@roles_required(Role.billing, Role.admin)
def index():
    return render_template("billing/index.html")
