"""``disburse up --demo``: a small demo seeds a shifted DEMO116 programme, registry data through the importer, the
Form 01 lists a week old, the employers' answers (most units' Form 02, a few declines, the others overdue) and one
user per role who can log in; verification is asked for after the commit; a second run changes nothing.

``seed_demo`` commits as ``disburse up --demo`` does; the ``db_session`` fixture rolls the commits back. The
verification messages go to a Redis database of their own (real Celery messages, no worker takes them), as in
``tests/verification/test_requests.py``. That the demo then pays is ``tests/runtime/test_demo_pays.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disburse.auth.service import get_user_by_email, verify_password
from disburse.background import QueueNames
from disburse.claims.models import Claim, ClaimEvent
from disburse.demo import DEMO_PROGRAM, DEMO_USERS, DemoError, create_demo_program, listing_date, seed_demo
from disburse.notifications.models import Notification
from disburse.programs.calendar import add_working_days, is_working_day, programme_today
from disburse.programs.models import Program
from disburse.registry.models import Employee, Employer, SalaryFund
from disburse.registry.seeding.employers import BIG_UNIT_SIZE
from disburse.verification import service as verification
from disburse.verification.reasons import NOT_CONFIRMED_BY_EMPLOYER
from tests.verification.test_requests import _waiting


def _count(model: type) -> int:
    from disburse.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_small_demo_seeds_programme_data_lists_and_users(db_session: Session, broker) -> None:
    lines = seed_demo(employers=30, employees=3000)

    assert _count(Employer) == 30
    assert _count(Employee) == 3000
    assert 30 <= _count(SalaryFund) <= 30 * 12  # the months up to today's

    nq116 = db_session.scalar(select(Program).where(Program.code == "NQ116"))
    demo = db_session.scalar(select(Program).where(Program.code == DEMO_PROGRAM))
    assert nq116 is not None and demo is not None
    today = programme_today()
    # The calendar moves by whole weeks, so that every date keeps NQ116's weekday; a deadline the weeks put on a
    # holiday ends on the next working day. The list deadline is today or within the week (later only past a
    # holiday); the lists went out a week before today, and their review deadline has just passed.
    weeks = demo.cutoff_date - nq116.cutoff_date
    assert weeks.days % 7 == 0
    for name in ("cutoff_date", "stop_window_start", "stop_window_end"):
        assert getattr(demo, name) - getattr(nq116, name) == weeks, name
    for name in ("list_deadline", "adjustment_deadline", "application_deadline", "payment_deadline"):
        deadline = getattr(demo, name)
        assert is_working_day(deadline), name
        assert deadline == add_working_days(getattr(nq116, name) + weeks - timedelta(days=1), 1), name
    assert 0 <= (demo.list_deadline - today).days < 7 + 9  # 9: Tết's longest break
    review_due = db_session.scalar(select(func.max(Claim.review_due_on)))
    assert review_due is not None and review_due < today
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
    # Its user exists before the lists go out, so it is told of its list as a real unit's user would be.
    told = select(func.count()).where(
        Notification.kind == "form_01_ready",
        Notification.employer_id == employer_user.employer_id,
        Notification.recipient == employer_user.email,
    )
    assert db_session.scalar(told) == 1

    # Idempotent: with data in place, nothing is added and only the log-ins come back.
    again = seed_demo(employers=30, employees=3000)
    assert _count(Employee) == 3000
    assert db_session.scalar(select(func.count()).select_from(Program).where(Program.code == DEMO_PROGRAM)) == 1
    assert all(any(u.email in line for line in again) for u in DEMO_USERS)
    assert not any("Form 01" in line for line in again)
    assert "The DEMO116 demo is already here" in again[0]  # and how to start it again


def test_the_demo_already_there_says_how_to_start_again_where_its_data_is(
    db_session: Session, broker, monkeypatch
) -> None:
    """With DATABASE_URL naming a server, "delete its data folder (instance/)" did nothing: the demo was there again.
    It says to drop that database; with the embedded server, to delete instance/."""
    from disburse import runtime
    from disburse.extensions import db

    seed_demo(employers=5, employees=200)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/their_db")
    monkeypatch.setattr(runtime, "_EMBEDDED", {})
    given = seed_demo(employers=5, employees=200)[0]
    database = db.engine.url.database
    assert f"xoá cơ sở dữ liệu của DATABASE_URL (dropdb {database})" in given and "instance/" not in given, given
    assert f"drop the database DATABASE_URL names (dropdb {database}), or set DATABASE_URL to another" in given
    monkeypatch.setattr(runtime, "_EMBEDDED", {"postgresql+psycopg://postgres@127.0.0.1:5432/their_db": None})
    embedded = seed_demo(employers=5, employees=200)[0]
    assert "xoá thư mục dữ liệu (instance/)" in embedded and "delete its data folder (instance/)" in embedded
    assert "dropdb" not in embedded


def test_a_database_with_other_registry_data_is_not_taken_for_the_demo(db_session: Session) -> None:
    """`disburse seed` (or an import) then `up --demo`: the demo was not seeded and the dashboards asked for a
    DEMO116 that did not exist (404s), with "no demo users" as the only word. Now refused, saying what to do."""
    from tests.factories import create_employer

    create_employer()
    with pytest.raises(DemoError) as refused:
        seed_demo(employers=5, employees=300)
    assert "Run `disburse up` (without --demo)" in str(refused.value) and "DISBURSE_INSTANCE=" in str(refused.value)
    assert db_session.scalar(select(func.count()).select_from(Program).where(Program.code == DEMO_PROGRAM)) == 0


def test_demo_dates_are_shown_the_vietnamese_way(db_session: Session, broker) -> None:
    lines = seed_demo(employers=5, employees=300)
    listed = [line for line in lines if "Form 01" in line]
    assert listed, lines
    vietnamese = listed[0].split(" / ")[0]
    sent, due = (date(int(y), int(m), int(d)) for d, m, y in re.findall(r"\b(\d\d)/(\d\d)/(\d{4})\b", vietnamese))
    assert sent < due < programme_today()  # the lists went out, and the review deadline passed


def _claims_by_state(program_id: int) -> Counter[str]:
    from disburse.extensions import db

    rows = db.session.execute(
        select(Claim.state, func.count()).where(Claim.program_id == program_id).group_by(Claim.state)
    ).all()
    return Counter({state: n for state, n in rows})


def test_demo_employers_answer_and_verification_is_asked_after_the_commit(db_session: Session, broker) -> None:
    """Most units confirm on Form 02 inside their window (bank details as the registry has them, cash without), a
    few people decline, the other units are overdue by the sweeper; every claim moved has its event; the claims
    waiting for verification are exactly those sent to the verification queue after the commit; verified, most
    are approved and the overdue ones wait in a caseworker's queue."""
    lines = seed_demo(employers=30, employees=3000)
    demo = db_session.scalar(select(Program).where(Program.code == DEMO_PROGRAM))
    assert demo is not None
    states = _claims_by_state(demo.id)
    total = sum(states.values())
    assert set(states) == {"employer_confirmed", "employer_overdue", "declined"}, states
    assert states["employer_confirmed"] > 0.8 * total
    assert 0 < states["declined"] < 0.02 * total
    assert states["employer_overdue"] > 0
    assert any("Form 02" in line and f"{states['employer_confirmed']:,} people" in line for line in lines), lines

    # Form 02 dates inside the window; the review deadline behind today for everyone.
    today = programme_today()
    confirmed = db_session.scalars(select(Claim).where(Claim.state == "employer_confirmed")).all()
    assert all(c.confirmed_on is not None and c.review_due_on is not None for c in confirmed)
    assert all(c.confirmed_on <= c.review_due_on < today for c in confirmed)  # type: ignore[operator]
    # Bank details as the registry has them; cash for the people it has none for.
    registry = dict(db_session.execute(select(Employee.id, Employee.bank_account)).all())
    assert all(c.bank_account == registry[c.employee_id] for c in confirmed)
    assert {c.payout for c in confirmed if c.bank_account is None} == {"cash"}
    assert {c.payout for c in confirmed if c.bank_account is not None} == {"bank"}

    # Every move is on record, through the service: confirm and decline events from Form 02, mark_overdue from the
    # sweep; the demo employer user's unit answered under that user's name and is not overdue.
    moves = select(ClaimEvent.action, ClaimEvent.data["form"].astext).where(ClaimEvent.action != "create")
    events = Counter((action, form) for action, form in db_session.execute(moves))
    assert events == {
        ("confirm", "02"): states["employer_confirmed"],
        ("decline", "02"): states["declined"],
        ("mark_overdue", None): states["employer_overdue"],
    }
    employer_user = get_user_by_email("donvi@demo.disburse.vn")
    assert employer_user is not None
    own = select(ClaimEvent.actor_id).join(Claim).where(Claim.employer_id == employer_user.employer_id)
    assert set(db_session.scalars(own.where(ClaimEvent.action == "confirm"))) == {employer_user.id}
    overdue_units = select(Claim.employer_id).where(Claim.state == "employer_overdue")
    assert employer_user.employer_id not in set(db_session.scalars(overdue_units))
    caseworker = get_user_by_email("canbo@demo.disburse.vn")
    assert caseworker is not None
    overdue_districts = select(Claim.district_code).where(Claim.state == "employer_overdue")
    assert caseworker.district_code in set(db_session.scalars(overdue_districts))

    # Verification was asked for after the commit: exactly the claims waiting for it.
    asked = [ids for task, body in _waiting(broker) if task == "verification.verify" for ids in body["claim_ids"]]
    assert len(asked) == len(set(asked))
    waiting = select(Claim.id).where(Claim.state.in_(["employer_confirmed", "employer_overdue"]))
    assert set(asked) == set(db_session.scalars(waiting))
    assert broker.llen(QueueNames.VERIFICATION) > 0

    # What the worker will do with them: most approved, the overdue ones to a caseworker.
    verification.record_identities(ids=asked)
    verification.verify_batch(ids=asked)
    after = _claims_by_state(demo.id)
    assert after["approved"] > 0.7 * total
    assert after["needs_review"] >= states["employer_overdue"]
    review = db_session.scalars(select(Claim.reasons).where(Claim.state == "needs_review")).all()
    assert sum(NOT_CONFIRMED_BY_EMPLOYER in reasons for reasons in review) == states["employer_overdue"]


def test_a_deadline_the_weeks_move_into_tet_ends_on_the_next_working_day(db_session: Session) -> None:
    """Started on 07/12/2026, the weeks put NQ116's application deadline (Monday 20/12/2021) on Monday 08/02/2027,
    in Tết's break (04–10/02/2027): it ends on Thursday 11/02/2027; the others keep their weekday."""
    demo, shift = create_demo_program(date(2026, 12, 7))
    assert shift % 7 == 0
    assert demo.application_deadline == date(2027, 2, 11)
    assert demo.payment_deadline == date(2021, 12, 31) + timedelta(days=shift) == date(2027, 2, 19)
    assert demo.list_deadline == date(2021, 10, 20) + timedelta(days=shift) == date(2026, 12, 9)


def test_the_lists_go_out_on_a_working_day_whose_review_deadline_has_passed(db_session: Session) -> None:
    """Whatever day the demo starts on (a Saturday gave a Sunday): the lists' day is a working day, its review
    deadline is behind today, and the next working day's would not be."""
    nq116 = db_session.scalar(select(Program).where(Program.code == "NQ116"))
    assert nq116 is not None
    for today in (date(2026, 1, 1) + timedelta(days=n) for n in range(366)):
        sent = listing_date(nq116, today)
        assert is_working_day(sent), today
        assert add_working_days(sent, nq116.employer_review_wd) < today, today
        later = sent + timedelta(days=1)
        while not is_working_day(later):
            later += timedelta(days=1)
        assert add_working_days(later, nq116.employer_review_wd) >= today, today
