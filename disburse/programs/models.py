"""Programs: every date, deadline, SLA, rate and amount tier of a 116-style programme is a row, not a constant."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disburse.extensions import TimestampMixin, db

SECTORS = ("enterprise", "public_autonomous", "public_budget", "state_agency", "political_org", "armed_forces")
#: The sectors as people call them: (Vietnamese, English).
SECTOR_LABELS: dict[str, tuple[str, str]] = {
    "enterprise": ("Doanh nghiệp", "Enterprise"),
    "public_autonomous": ("Đơn vị sự nghiệp công lập tự chủ chi thường xuyên", "Self-financing public unit"),
    "public_budget": (
        "Đơn vị sự nghiệp công lập do ngân sách nhà nước bảo đảm chi thường xuyên",
        "Public unit funded by the state budget",
    ),
    "state_agency": ("Cơ quan nhà nước", "State agency"),
    "political_org": ("Tổ chức chính trị, chính trị - xã hội", "Political or socio-political organisation"),
    "armed_forces": ("Đơn vị thuộc lực lượng vũ trang nhân dân", "Unit of the people's armed forces"),
}


class Program(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("stop_window_start <= stop_window_end", name="stop_window_order"),
        CheckConstraint("reduction_months BETWEEN 0 AND 60", name="reduction_months_range"),
        CheckConstraint("normal_rate_bp >= 0 AND reduced_rate_bp >= 0", name="rates_non_negative"),
        CheckConstraint("reduced_rate_bp <= normal_rate_bp", name="reduced_not_above_normal"),
        CheckConstraint(
            "employer_review_wd >= 0 AND payment_after_confirmation_wd >= 0 AND payment_after_adjustment_days >= 0"
            " AND application_payment_wd >= 0",
            name="slas_non_negative",
        ),
        CheckConstraint("max_months >= 0", name="max_months_non_negative"),
        CheckConstraint("max_payment_failures >= 1", name="max_payment_failures_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: Group A: on the UI participant list on this date.
    cutoff_date: Mapped[date]
    #: Group B: contract ended inside [stop_window_start, stop_window_end], both inclusive.
    stop_window_start: Mapped[date]
    stop_window_end: Mapped[date]
    #: Unused months are counted to the end of this month.
    months_counted_to: Mapped[date]
    #: Highest plausible count of unused months; anything above is refused by imports.
    max_months: Mapped[int] = mapped_column(SmallInteger, default=600)
    #: Employer sectors excluded from group A and from the contribution reduction.
    excluded_sectors: Mapped[list[str]] = mapped_column(ARRAY(String(30)))
    #: Form 01 lists must be sent by this date.
    list_deadline: Mapped[date]
    #: The employer returns Form 02 within this many working days of receiving the list.
    employer_review_wd: Mapped[int] = mapped_column(SmallInteger)
    #: Form 03 adjustments by this date.
    adjustment_deadline: Mapped[date]
    #: Pay within this many working days of Form 02.
    payment_after_confirmation_wd: Mapped[int] = mapped_column(SmallInteger)
    #: Pay within this many calendar days of Form 03 (product decision: calendar days).
    payment_after_adjustment_days: Mapped[int] = mapped_column(SmallInteger)
    #: Track A people still unpaid after this date may apply on Form 04.
    track_a_fallback_after: Mapped[date]
    #: Form 04 applications by this date.
    application_deadline: Mapped[date]
    #: Pay a Form 04 application within this many working days of receipt…
    application_payment_wd: Mapped[int] = mapped_column(SmallInteger)
    #: …and no later than this date.
    payment_deadline: Mapped[date]
    #: Filed-on-time, still-unpaid people may be paid until this date (no new applications).
    extension_until: Mapped[date | None]
    #: First contribution month with the reduced rate, and how many months it lasts.
    reduction_start_month: Mapped[date]
    reduction_months: Mapped[int] = mapped_column(SmallInteger)
    #: Employer UI contribution rates in basis points (100 = 1%).
    normal_rate_bp: Mapped[int] = mapped_column(SmallInteger)
    reduced_rate_bp: Mapped[int] = mapped_column(SmallInteger)
    #: After this many failed payments, offer cash at the office.
    max_payment_failures: Mapped[int] = mapped_column(SmallInteger, default=3)

    tiers: Mapped[list[AmountTier]] = relationship(
        back_populates="program", order_by="AmountTier.min_months", cascade="all, delete-orphan"
    )

    @property
    def last_payable_day(self) -> date:
        """The last day the programme may pay anyone: the extension's end when it has one, else the payment
        deadline (verification's ``payment_period_ended`` reads the same two columns)."""
        return self.extension_until or self.payment_deadline

    @property
    def last_reduction_month(self) -> date | None:
        """The first day of the last contribution month with the reduced rate; None when nothing is reduced."""
        if self.reduction_months < 1:
            return None
        months = self.reduction_start_month.month - 1 + self.reduction_months - 1
        return date(self.reduction_start_month.year + months // 12, months % 12 + 1, 1)

    def takes_adjustments(self, today: date) -> bool:
        """Whether Form 03 is still taken on ``today``: until ``adjustment_deadline``, inclusive. After it, no page
        offers Form 03; the district office is the one to contact."""
        return today <= self.adjustment_deadline

    def __repr__(self) -> str:
        return f"<Program {self.code}>"


class AmountTier(db.Model):  # type: ignore[name-defined]
    __tablename__ = "amount_tiers"
    __table_args__ = (
        UniqueConstraint("program_id", "min_months"),
        CheckConstraint("amount_vnd > 0", name="amount_positive"),
        CheckConstraint("min_months >= 0", name="min_months_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    #: A tier covers min_months ≤ m < the next tier's min_months.
    min_months: Mapped[int] = mapped_column(SmallInteger)
    amount_vnd: Mapped[int]

    program: Mapped[Program] = relationship(back_populates="tiers")

    def __repr__(self) -> str:
        return f"<AmountTier {self.min_months}+ {self.amount_vnd}>"
