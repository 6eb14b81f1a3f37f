"""The home page: what needs the signed-in user today (see :mod:`disburse.home.service`)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.routing import BuildError

from disburse.auth.models import ROLES
from disburse.auth.permissions import public, roles_required
from disburse.auth.scopes import visible_unit
from disburse.home.forms import UnitLookupForm
from disburse.home.service import UNITS_LISTED, find_units, home_for

bp = Blueprint("home", __name__)

#: The caseworker's review queue page, when the app has one.
QUEUE_ENDPOINT = "caseworker.queue"


def _queue_url() -> str | None:
    if QUEUE_ENDPOINT not in current_app.view_functions:
        return None
    try:
        return url_for(QUEUE_ENDPOINT)
    except BuildError:  # it wants arguments we cannot guess: no link rather than a broken page
        return None


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    user = current_user._get_current_object() if current_user.is_authenticated else None
    content = home_for(user, current_app.config["DISBURSE_PROGRAM"])
    # Offices find a unit by its code or its name (employers have theirs on this page).
    form = UnitLookupForm(formdata=None) if user is not None and user.role != "employer" else None
    return render_template("home/index.html", queue_url=_queue_url(), form=form, **content)


@bp.get("/units")
@roles_required(*ROLES)
def units() -> ResponseReturnValue:
    """The home page's unit look-up: a unit's code (in any case) goes straight to its page; anything else lists the
    units within the caller's scope whose code or name contains it (at most :data:`UNITS_LISTED`, with how many
    matched), or says that none does and what to try. A unit outside the scope is found as an unknown one: never."""
    asked = "unit" in request.args
    form = UnitLookupForm(formdata=request.args if asked else None)
    if not asked:
        return render_template("home/units.html", form=form, found=None)
    if not form.validate():
        return render_template("home/units.html", form=form, found=None), 400
    typed = " ".join((form.unit.data or "").split())
    employer = visible_unit(current_user, typed)
    if employer is not None:
        return redirect(url_for("employers.status", unit_code=employer.unit_code))
    found = find_units(current_user, typed)
    return render_template("home/units.html", form=form, found=found, typed=typed, listed=UNITS_LISTED)


@bp.get("/favicon.ico")
@public
def favicon() -> ResponseReturnValue:
    """Browsers ask /favicon.ico whatever the page's <link rel="icon"> says (an old page, a bookmark, a PDF viewer):
    the layout's icon rather than a 404 in every console."""
    return redirect(url_for("static", filename="favicon.svg"))
