"""The landing page and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from disburse.auth.permissions import public
from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimState
from disburse.extensions import db
from disburse.programs.models import Program
from disburse.reports.models import ClaimCounter
from disburse.web import bp


def _national_progress(program_id: int) -> dict[str, int | float | None]:
    """Completion from the rollup table (a few thousand rows at most), never from claims."""
    rows = db.session.execute(
        select(ClaimCounter.state, func.sum(ClaimCounter.claims), func.sum(ClaimCounter.amount_vnd))
        .where(ClaimCounter.program_id == program_id)
        .group_by(ClaimCounter.state)
    ).all()
    by_state = {state: (int(n or 0), int(amount or 0)) for state, n, amount in rows}
    listed = sum(n for n, _ in by_state.values())
    eligible = sum(n for state, (n, _) in by_state.items() if state not in NOT_IN_ELIGIBLE_GROUP)
    paid, paid_amount = by_state.get(ClaimState.PAID, (0, 0))
    return {
        "claims": listed,
        "eligible": eligible,
        "paid": paid,
        "paid_amount_vnd": paid_amount,
        "percent_paid": (100.0 * paid / eligible) if eligible else None,
    }


@bp.get("/")
@public
def home() -> ResponseReturnValue:
    programs = db.session.scalars(select(Program).order_by(Program.id)).all()
    progress = {program.id: _national_progress(program.id) for program in programs}
    return render_template("web/home.html", programs=programs, progress=progress)


@bp.get("/language/<locale>")
@public
def set_language(locale: str) -> ResponseReturnValue:
    if locale in ("vi", "en"):
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    target = request.args.get("next", "")
    # Only ever redirect to a path on this site.
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        target = url_for("web.home")
    return redirect(target)
