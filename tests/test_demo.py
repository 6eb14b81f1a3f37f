"""``disburse up --demo``: a small demo seeds a shifted DEMO116 programme, registry data through the importer, the
Form 01 lists and one user per role who can log in; a second run changes nothing.

``seed_demo`` commits as ``disburse up --demo`` does; the ``db_session`` fixture rolls the commits back.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disburse.auth.service import get_user_by_email, verify_password
from disburse.demo import DEMO_PROGRAM, DEMO_USERS, seed_demo
from disburse.programs.calendar import add_working_days, programme_today
from disburse.programs.models import Program
from disburse.registry.models import Employee, Employer, SalaryFund
from disburse.registry.seeding.employers import BIG_UNIT_SIZE


def _count(model: type) -> int:
    from disburse.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_small_demo_seeds_programme_data_lists_and_users(db_session: Session) -> None:
    lines = seed_demo(employers=30, employees=3000)

    assert _count(Employer) == 30
    assert _count(Employee) == 3000
    assert 30 <= _count(SalaryFund) <= 30 * 12  # the months up to today's

    nq116 = db_session.scalar(select(Program).where(Program.code == "NQ116"))
    demo = db_session.scalar(select(Program).where(Program.code == DEMO_PROGRAM))
    assert nq116 is not None and demo is not None
    today = programme_today()
    # The lists go out today: the employers' review window is open.
    assert demo.list_deadline == today
    assert today < add_working_days(today, demo.employer_review_wd)
    shift = demo.list_deadline - nq116.list_deadline
    for name in ("cutoff_date", "stop_window_start", "stop_window_end", "adjustment_deadline", "payment_deadline"):
        assert getattr(demo, name) - getattr(nq116, name) == shift, name
    assert demo.reduction_start_month.day == 1
    assert [(t.min_months, t.amount_vnd) for t in demo.tiers] == [(t.min_months, t.amount_vnd) for t in nq116.tiers]
    assert demo.excluded_sectors == nq116.excluded_sectors

    # The seeded data follows the shifted calendar: stops inside the demo's window exist.
    stopped_inside = select(func.count()).where(
        Employee.ui_status == "stopped",
        Employee.ui_stopped_on.between(demo.stop_window_start, demo.stop_window_end),
    )
    assert (db_session.scalar(stopped_inside) or 0) > 0
    first_month = db_session.scalar(select(func.min(SalaryFund.month)))
    last_month = db_session.scalar(select(func.max(SalaryFund.month)))
    assert first_month == demo.reduction_start_month
    assert last_month is not None and last_month <= today

    from disburse.claims.models import Claim

    claims = db_session.scalar(select(func.count()).select_from(Claim).where(Claim.program_id == demo.id))
    assert claims and claims > 2000  # most of the ~2,700 participating employees are listed

    for user in DEMO_USERS:
        found = get_user_by_email(user.email)
        assert found is not None and found.role == user.role
        assert verify_password(found, user.password)
        assert not verify_password(found, user.password + "x")
        assert any(user.email in line and user.password in line for line in lines)
    caseworker = get_user_by_email("canbo@demo.disburse.vn")
    assert caseworker is not None and caseworker.district_code == "017"
    hanoi = get_user_by_email("giamsat.hanoi@demo.disburse.vn")
    assert hanoi is not None and hanoi.province_code == "01"
    national = get_user_by_email("giamsat.quocgia@demo.disburse.vn")
    assert national is not None and national.province_code is None
    employer_user = get_user_by_email("donvi@demo.disburse.vn")
    assert employer_user is not None and employer_user.employer_id is not None
    staff = select(func.count()).where(
        Employee.employer_id == employer_user.employer_id, Employee.ui_status == "participating"
    )
    assert db_session.scalar(staff) == BIG_UNIT_SIZE

    # Idempotent: with data in place, nothing is added and only the log-ins come back.
    again = seed_demo(employers=30, employees=3000)
    assert _count(Employee) == 3000
    assert db_session.scalar(select(func.count()).select_from(Program).where(Program.code == DEMO_PROGRAM)) == 1
    assert all(any(u.email in line for line in again) for u in DEMO_USERS)
    assert not any("Form 01" in line for line in again)


def test_demo_dates_are_shown_the_vietnamese_way(db_session: Session) -> None:
    lines = seed_demo(employers=5, employees=300)
    listed = [line for line in lines if "Form 01" in line]
    assert listed, lines
    due = listed[0].split("trước ngày ")[1].split(" ")[0].rstrip(";.")
    assert date(int(due[6:10]), int(due[3:5]), int(due[0:2])) >= programme_today()
