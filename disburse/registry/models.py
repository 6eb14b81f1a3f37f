"""The registry: employers (units), employees and monthly UI salary funds."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disburse.extensions import TimestampMixin, db
from disburse.programs.models import SECTORS

_SECTOR_LIST = ", ".join(f"'{s}'" for s in SECTORS)


class Employer(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "employers"
    __table_args__ = (
        CheckConstraint(f"sector IN ({_SECTOR_LIST})", name="sector_known"),
        CheckConstraint("unit_code <> ''", name="unit_code_not_blank"),
        # unit_by_code: a code typed in another case.
        Index("ix_employers_unit_code_upper", text("upper(unit_code)")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The unit's code at the social security agency (mã đơn vị); the natural key.
    unit_code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    tax_code: Mapped[str | None] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(30))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    ui_joined_on: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))

    def __repr__(self) -> str:
        return f"<Employer {self.unit_code}>"


def unit_by_code(code: str) -> Employer | None:
    """The unit a person means by ``code``: the one with that code, else the only one whose code differs from it in
    case alone ("dn01000001" typed for DN01000001: the registry import stores codes in capitals, and migration 0040
    put the older ones in capitals but where two differed in case only); None when there is none, or several."""
    employer: Employer | None = db.session.scalar(select(Employer).where(Employer.unit_code == code))
    if employer is None:
        alike = db.session.scalars(
            select(Employer).where(func.upper(Employer.unit_code) == code.upper()).limit(2)
        ).all()
        employer = alike[0] if len(alike) == 1 else None
    return employer


class Employee(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "employees"
    __table_args__ = (
        # Regular-expression-free (same meaning, ~4x cheaper per row written): see migration 0004.
        CheckConstraint("length(si_code) = 10 AND ltrim(si_code, '0123456789') = ''", name="si_code_format"),
        CheckConstraint(
            "length(national_id) IN (9, 12) AND ltrim(national_id, '0123456789') = ''", name="national_id_format"
        ),
        CheckConstraint("gender IN ('male', 'female')", name="gender_known"),
        CheckConstraint("ui_status IN ('participating', 'stopped')", name="ui_status_known"),
        CheckConstraint("ui_status <> 'stopped' OR ui_stopped_on IS NOT NULL", name="stopped_has_date"),
        CheckConstraint("ui_status <> 'participating' OR employer_id IS NOT NULL", name="participating_has_employer"),
        CheckConstraint("unused_months BETWEEN 0 AND 600", name="unused_months_range"),
        CheckConstraint("(bank_code IS NULL) = (bank_account IS NULL)", name="bank_details_complete"),
        CheckConstraint(
            "length(bank_account) BETWEEN 4 AND 30 AND "
            "ltrim(bank_account, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') = ''",
            name="bank_account_format",
        ),
        Index("ix_employees_national_id", "national_id"),
        Index("ix_employees_possible_duplicate", "id", postgresql_where=text("possible_duplicate")),
        # The outreach list's group B people of a district, in id order (migration 0021).
        Index("ix_employees_stopped_district", "district_code", "id", postgresql_where=text("ui_status = 'stopped'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Social insurance number (mã số BHXH), 10 digits: the person's primary key everywhere.
    si_code: Mapped[str] = mapped_column(String(10), unique=True)
    #: CMND (9 digits) or CCCD (12 digits).
    national_id: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(6))
    phone: Mapped[str | None] = mapped_column(String(20))
    #: District of the contact address (the province follows from it).
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    address: Mapped[str | None] = mapped_column(String(500))
    #: Current (participating) or last (stopped) employer.
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    #: UI status on the program's cut-off date.
    ui_status: Mapped[str] = mapped_column(String(13))
    ui_stopped_on: Mapped[date | None]
    #: Months of UI contribution not yet used for a benefit, to the end of the counting month.
    unused_months: Mapped[int] = mapped_column(SmallInteger)
    #: Holds a decision granting a monthly pension (excludes group B).
    pension_decision: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    bank_code: Mapped[str | None] = mapped_column(ForeignKey("banks.code"))
    bank_account: Mapped[str | None] = mapped_column(String(30))
    #: Same national ID under another SI code: a caseworker must look before anyone is paid.
    possible_duplicate: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    employer: Mapped[Employer | None] = relationship()

    def __repr__(self) -> str:
        return f"<Employee {self.si_code}>"


class SalaryFund(db.Model):  # type: ignore[name-defined]
    __tablename__ = "salary_funds"
    __table_args__ = (
        CheckConstraint("ui_salary_fund_vnd >= 0", name="fund_non_negative"),
        # Reductions multiply the fund by basis points in bigint (disburse.reductions.service): below 10^15 fits.
        CheckConstraint("ui_salary_fund_vnd < 1000000000000000", name="fund_in_range"),
        CheckConstraint("ui_participants >= 0", name="participants_non_negative"),
        CheckConstraint("extract(day from month) = 1", name="month_is_first_day"),
    )

    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), primary_key=True)
    #: First day of the contribution month.
    month: Mapped[date] = mapped_column(primary_key=True)
    #: Quỹ tiền lương đóng BHTN of the month, integer VND.
    ui_salary_fund_vnd: Mapped[int]
    ui_participants: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<SalaryFund {self.employer_id} {self.month:%Y-%m}>"
