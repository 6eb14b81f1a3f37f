"""Employer contribution reductions: one row per employer per contribution month."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, SmallInteger, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import db


class Reduction(db.Model):  # type: ignore[name-defined]
    __tablename__ = "reductions"
    __table_args__ = (
        UniqueConstraint("program_id", "employer_id", "month"),
        CheckConstraint("amount_vnd >= 0", name="amount_non_negative"),
        CheckConstraint("ui_salary_fund_vnd >= 0", name="fund_non_negative"),
        CheckConstraint("reduced_rate_bp <= normal_rate_bp", name="reduced_not_above_normal"),
        CheckConstraint("extract(day from month) = 1", name="month_is_first_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    month: Mapped[date]
    ui_salary_fund_vnd: Mapped[int]
    ui_participants: Mapped[int] = mapped_column(Integer)
    normal_rate_bp: Mapped[int] = mapped_column(SmallInteger)
    reduced_rate_bp: Mapped[int] = mapped_column(SmallInteger)
    #: fund × (normal − reduced) / 10,000, rounded half up to whole VND.
    amount_vnd: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    def __repr__(self) -> str:
        return f"<Reduction {self.employer_id} {self.month:%Y-%m} {self.amount_vnd}>"
