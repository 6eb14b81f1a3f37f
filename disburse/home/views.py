"""The landing page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from disburse.auth.permissions import public
from disburse.extensions import db
from disburse.programs.models import Program
from disburse.reports.service import program_progress

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    programs = db.session.scalars(select(Program).order_by(Program.id)).all()
    progress = {program.id: program_progress(program.id) for program in programs}
    return render_template("home/index.html", programs=programs, progress=progress)
