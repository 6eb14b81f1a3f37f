"""Named queries on programs."""

from __future__ import annotations

from sqlalchemy import select

from disburse.extensions import db
from disburse.programs.models import Program
from disburse.programs.rules import ProgramRules


class ProgramNotFound(LookupError):
    """No program has this code."""

    def __init__(self, code: str) -> None:
        self.words = (f"Không có chương trình mã {code!r}.", f"There is no program with code {code!r}.")
        super().__init__(" / ".join(self.words))
        self.code = code


def get_program(code: str) -> Program:
    """The program with ``code`` (its tiers load with it); raises :class:`ProgramNotFound`."""
    program = db.session.scalar(select(Program).where(Program.code == code))
    if program is None:
        raise ProgramNotFound(code)
    return program


def get_rules(code: str) -> ProgramRules:
    """The eligibility rules of the program with ``code``, detached from the session."""
    return ProgramRules.from_program(get_program(code))
