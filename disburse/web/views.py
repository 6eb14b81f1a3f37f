"""The landing page and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from disburse.auth.permissions import public
from disburse.extensions import db
from disburse.programs.models import Program
from disburse.reports.service import program_progress
from disburse.web import bp


@bp.get("/")
@public
def home() -> ResponseReturnValue:
    programs = db.session.scalars(select(Program).order_by(Program.id)).all()
    progress = {program.id: program_progress(program.id) for program in programs}
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
