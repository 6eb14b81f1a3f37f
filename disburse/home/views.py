"""The home page: what needs the signed-in user today (see :mod:`disburse.home.service`)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.routing import BuildError

from disburse.auth.permissions import public
from disburse.claims.web_forms import FindUnitForm
from disburse.home.service import home_for

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
    # Offices go to a unit's pages by its code (employers have theirs on this page).
    form = FindUnitForm(formdata=None) if user is not None and user.role != "employer" else None
    return render_template("home/index.html", queue_url=_queue_url(), form=form, **content)


@bp.get("/favicon.ico")
@public
def favicon() -> ResponseReturnValue:
    """Browsers ask /favicon.ico whatever the page's <link rel="icon"> says (an old page, a bookmark, a PDF viewer):
    the layout's icon rather than a 404 in every console."""
    return redirect(url_for("static", filename="favicon.svg"))
