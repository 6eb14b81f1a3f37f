"""The unit's contribution reduction, month by month (read-only; the reductions are booked by the lists build)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.claims.employer_views import current_program, unit_or_404, unit_summary
from disburse.reductions.service import unit_reductions

bp = Blueprint("reductions", __name__, url_prefix="/employers")


@bp.get("/<unit_code>/reductions")
@roles_required(*ROLES)
def unit(unit_code: str) -> ResponseReturnValue:
    program, employer = current_program(), unit_or_404(unit_code)
    months = unit_reductions(program, employer.id)
    return render_template(
        "reductions/unit.html",
        months=months,
        total_vnd=sum(month.amount_vnd for month in months),
        **unit_summary(program, employer),
    )
