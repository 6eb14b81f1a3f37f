"""Reference data as the pages offer it."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from disburse.extensions import db
from disburse.reference.models import Bank


def bank_choices() -> list[tuple[str, str]]:
    """The choices of a bank field: a first empty one asking to choose, then every bank by code ("VCB · name")."""
    rows = db.session.execute(select(Bank.code, Bank.name).order_by(Bank.code))
    return [("", _("Chọn ngân hàng")), *((code, f"{code} · {name}") for code, name in rows)]
