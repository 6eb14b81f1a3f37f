"""``build_lists``: Form 01 track A claims, their events and rollups, on real PostgreSQL."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from disburse.claims.cli import lists_cli
from disburse.claims.lists import build_lists
from disburse.claims.models import Claim, ClaimEvent
from disburse.jobs.models import Job
from disburse.programs.calendar import add_working_days
from disburse.reductions.models import Reduction
from tests.factories import create_employee, create_employer, create_salary_fund, nq116

LISTED_ON = date(2021, 10, 20)  # a Wednesday, the historical list deadline
EXCLUDED = ("public_budget", "state_agency", "political_org", "armed_forces")
OCT_2021 = date(2021, 10, 1)


def claims_by_employee(db_session) -> dict[int, Claim]:
    return {c.employee_id: c for c in db_session.scalars(select(Claim))}


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def counters(db_session) -> set[tuple]:
    rows = db_session.execute(
        text(
            "SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters "
            "WHERE claims <> 0 OR amount_vnd <> 0"
        )
    )
    return {tuple(r) for r in rows}


def grouped_claims(db_session) -> set[tuple]:
    rows = db_session.execute(
        text(
            "SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims "
            "GROUP BY program_id, district_code, employer_id, state"
        )
    )
    return {tuple(r) for r in rows}


def test_excluded_sectors_get_no_claims_and_no_reductions(db_session):
    people = {}
    for sector in (*EXCLUDED, "public_autonomous", "enterprise"):
        employer = create_employer(sector=sector)
        create_salary_fund(employer, OCT_2021, 100_000_000)
        people[sector] = create_employee(employer_id=employer.id)

    result = build_lists(nq116(), today=LISTED_ON)

    claims = claims_by_employee(db_session)
    assert set(claims) == {people["public_autonomous"].id, people["enterprise"].id}
    assert result.claims_created == 2 and result.employers_listed == 2
    reduced = set(db_session.scalars(select(Reduction.employer_id)))
    assert reduced == {people["public_autonomous"].employer_id, people["enterprise"].employer_id}
    assert result.reductions_created == 2


def test_participating_are_listed_and_stopped_are_not(db_session):
    employer = create_employer(district_code="001")  # Ba Đình
    participating = create_employee(employer_id=employer.id, district_code="017", unused_months=30)
    stopped_in_window = create_employee(employer_id=employer.id, ui_status="stopped", ui_stopped_on=date(2021, 5, 3))
    stopped_no_employer = create_employee(ui_status="stopped", ui_stopped_on=date(2020, 3, 1))

    build_lists(nq116(), today=LISTED_ON)

    claims = claims_by_employee(db_session)
    assert set(claims) == {participating.id}
    assert stopped_in_window.id not in claims and stopped_no_employer.id not in claims
    claim = claims[participating.id]
    assert (claim.track, claim.support_group, claim.state) == ("A", "A", "listed")
    assert claim.employer_id == employer.id
    assert claim.district_code == "001", "a Form 01 claim is worked in its employer's district"
    assert (claim.unused_months, claim.amount_vnd, claim.reasons) == (30, 2_100_000, [])
    assert claim.payment_due_on is None and claim.paid_at is None


@pytest.mark.parametrize(
    ("months", "amount"),
    [
        (1, 1_800_000),
        (11, 1_800_000),
        (12, 2_100_000),
        (59, 2_100_000),
        (60, 2_400_000),
        (83, 2_400_000),
        (84, 2_650_000),
        (107, 2_650_000),
        (108, 2_900_000),
        (131, 2_900_000),
        (132, 3_300_000),
        (600, 3_300_000),
    ],
)
def test_every_tier_amount(db_session, months, amount):
    employee = create_employee(unused_months=months)
    build_lists(nq116(), today=LISTED_ON)
    claim = claims_by_employee(db_session)[employee.id]
    assert (claim.unused_months, claim.amount_vnd, claim.reasons) == (months, amount, [])


def test_zero_months_are_listed_for_review(db_session):
    employee = create_employee(unused_months=0)
    build_lists(nq116(), today=LISTED_ON)
    claim = claims_by_employee(db_session)[employee.id]
    assert claim.state == "listed"
    assert claim.reasons == ["zero_months"]
    assert claim.amount_vnd == 1_800_000


def test_possible_duplicates_carry_the_reason(db_session):
    duplicate = create_employee(possible_duplicate=True)
    duplicate_zero = create_employee(possible_duplicate=True, unused_months=0)
    clean = create_employee()
    build_lists(nq116(), today=LISTED_ON)
    claims = claims_by_employee(db_session)
    assert claims[duplicate.id].reasons == ["possible_duplicate"]
    assert claims[duplicate_zero.id].reasons == ["possible_duplicate", "zero_months"]
    assert claims[clean.id].reasons == []


def test_bank_details_on_file_are_carried_to_the_claim(db_session):
    employee = create_employee(bank_code="VCB", bank_account="0011004455667")
    build_lists(nq116(), today=LISTED_ON)
    claim = claims_by_employee(db_session)[employee.id]
    assert (claim.bank_code, claim.bank_account, claim.payout) == ("VCB", "0011004455667", "bank")


def test_each_claim_has_exactly_one_create_event(db_session):
    employees = [create_employee() for _ in range(5)]
    build_lists(nq116(), today=LISTED_ON, batch=2)
    events = db_session.scalars(select(ClaimEvent)).all()
    claims = claims_by_employee(db_session)
    assert len(claims) == len(employees)
    assert sorted(e.claim_id for e in events) == sorted(c.id for c in claims.values())
    assert {(e.action, e.from_state, e.to_state, e.actor_id) for e in events} == {("create", None, "listed", None)}


def test_re_run_changes_nothing(db_session):
    employer = create_employer()
    for months in (0, 5, 40, 200):
        create_employee(employer_id=employer.id, unused_months=months)
    create_salary_fund(employer, OCT_2021, 80_000_000)
    program = nq116()
    first = build_lists(program, today=LISTED_ON)
    assert first.claims_created == 4 and first.reductions_created == 1
    before = (
        counters(db_session),
        count(db_session, ClaimEvent),
        db_session.execute(text("SELECT xmin::text, * FROM claims ORDER BY id")).all(),
    )

    again = build_lists(program, today=date(2021, 11, 5))

    assert (again.claims_created, again.employers_listed, again.amount_created_vnd) == (0, 0, 0)
    assert (again.reductions_created, again.reductions_updated, again.reductions_removed) == (0, 0, 0)
    assert again.claims_total == first.claims_total == 4
    after = (
        counters(db_session),
        count(db_session, ClaimEvent),
        db_session.execute(text("SELECT xmin::text, * FROM claims ORDER BY id")).all(),
    )
    assert after == before, "claims, counters and events are untouched (not even rewritten)"


def test_a_later_import_adds_only_the_new_people(db_session):
    old_employer = create_employer()
    old = create_employee(employer_id=old_employer.id)
    create_salary_fund(old_employer, OCT_2021, 10_000_000)
    program = nq116()
    build_lists(program, today=LISTED_ON)
    old_claim_id = claims_by_employee(db_session)[old.id].id

    new_employer = create_employer(district_code="005")  # Cầu Giấy
    newcomers = [create_employee(employer_id=new_employer.id, unused_months=m) for m in (3, 70)]
    joined_old_unit = create_employee(employer_id=old_employer.id)
    create_salary_fund(new_employer, OCT_2021, 20_000_000)
    create_salary_fund(new_employer, date(2021, 11, 1), 20_000_000)

    result = build_lists(program, today=date(2021, 11, 2))

    assert result.claims_created == 3
    assert result.amount_created_vnd == 1_800_000 + 2_400_000 + 2_100_000
    assert result.employers_listed == 2
    assert (result.reductions_created, result.reductions_updated) == (2, 0)
    claims = claims_by_employee(db_session)
    assert claims[old.id].id == old_claim_id and claims[old.id].review_due_on == add_working_days(LISTED_ON, 5)
    for person in (*newcomers, joined_old_unit):
        assert claims[person.id].review_due_on == add_working_days(date(2021, 11, 2), 5)
    assert {claims[p.id].district_code for p in newcomers} == {"005"}
    assert count(db_session, ClaimEvent) == 4


def test_claims_that_moved_on_are_not_disturbed(db_session):
    declined, confirmed = create_employee(), create_employee()
    program = nq116()
    build_lists(program, today=LISTED_ON)
    claims = claims_by_employee(db_session)
    for claim, state in ((claims[declined.id], "declined"), (claims[confirmed.id], "employer_confirmed")):
        db_session.execute(text("UPDATE claims SET state = :s WHERE id = :id"), {"s": state, "id": claim.id})
        db_session.add(
            ClaimEvent(
                claim_id=claim.id,
                action="decline" if state == "declined" else "confirm",
                from_state="listed",
                to_state=state,
            )
        )
    db_session.flush()
    db_session.expire_all()
    events_before = count(db_session, ClaimEvent)

    result = build_lists(program, today=date(2021, 11, 20))

    assert result.claims_created == 0
    states = {e: c.state for e, c in claims_by_employee(db_session).items()}
    assert states == {declined.id: "declined", confirmed.id: "employer_confirmed"}
    assert count(db_session, ClaimEvent) == events_before
    assert counters(db_session) == grouped_claims(db_session)


def test_claim_counters_equal_a_group_by_over_claims(db_session):
    for district in ("001", "017"):
        employer = create_employer(district_code=district)
        for months in (0, 11, 12, 90, 140):
            create_employee(employer_id=employer.id, unused_months=months)
    create_employee(employer_id=create_employer(sector="armed_forces").id)

    build_lists(nq116(), today=LISTED_ON, batch=3)

    assert counters(db_session) == grouped_claims(db_session)
    assert sum(row[4] for row in counters(db_session)) == 10


def test_the_bulk_memory_setting_is_put_back(db_session):
    create_employee()
    before = db_session.execute(text("SELECT current_setting('work_mem')")).scalar_one()
    build_lists(nq116(), today=LISTED_ON)
    assert db_session.execute(text("SELECT current_setting('work_mem')")).scalar_one() == before


def test_progress_is_reported_per_range_up_to_the_total(db_session):
    for _ in range(7):
        create_employee()
    calls: list[tuple[int, int | None]] = []
    build_lists(nq116(), today=LISTED_ON, batch=2, progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) > 4
    assert calls[-1][0] == calls[-1][1]


@pytest.mark.parametrize(
    ("listed_on", "due"),
    [
        (date(2021, 10, 20), date(2021, 10, 27)),  # Wed + 5 WD over one weekend
        (date(2021, 10, 22), date(2021, 10, 29)),  # Fri + 5 WD
        (date(2021, 8, 31), date(2021, 9, 9)),  # National Day 2–3 Sep and a weekend skipped
        (date(2021, 2, 9), date(2021, 2, 23)),  # Tết 10–16 Feb 2021 skipped
    ],
)
def test_review_due_on_skips_weekends_and_holidays(db_session, listed_on, due):
    employee = create_employee()
    result = build_lists(nq116(), today=listed_on)
    assert result.review_due_on == due
    assert claims_by_employee(db_session)[employee.id].review_due_on == due


def test_the_programme_clock_dates_the_list(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-20")
    employee = create_employee()
    result = build_lists(nq116())
    assert result.listed_on == LISTED_ON
    assert claims_by_employee(db_session)[employee.id].review_due_on == date(2021, 10, 27)


def test_cli_builds_and_prints_a_bilingual_summary(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-20")
    create_employee(unused_months=24)
    result = app.test_cli_runner().invoke(lists_cli, ["build", "--program", "NQ116"])
    assert result.exit_code == 0, result.output
    assert "Đã lập danh sách thêm 1 người lao động" in result.output
    assert "Listed 1 more employee at 1 unit, support VND 2,100,000" in result.output
    assert "27/10/2021" in result.output and "stopped paying" not in result.output
    assert count(db_session, Claim) == 1
    # The e-mails to the units it queued, as many as the outbox holds (the unit's registry address, if it has one).
    from disburse.notifications.models import Notification

    queued = count(db_session, Notification)
    assert f"Đã xếp {queued} thư báo danh sách cho các đơn vị" in result.output
    assert f"{queued} e-mail{'' if queued == 1 else 's'} to the units queued" in result.output


def test_cli_says_when_e_mails_to_the_units_are_off(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-20")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "off")
    create_employee(unused_months=24)
    result = app.test_cli_runner().invoke(lists_cli, ["build", "--program", "NQ116"])
    assert result.exit_code == 0, result.output
    assert "Thư báo cho đơn vị đang tắt (chưa đặt DISBURSE_SMTP_URL): không xếp thư nào." in result.output
    assert "E-mails to units are off (DISBURSE_SMTP_URL is not set): none queued." in result.output


def test_cli_refuses_a_programme_that_has_stopped_paying_unless_told(app, db_session, monkeypatch):
    """Another shell's default programme, long over: claims made now could never be paid, nor undone. Refused,
    saying how to choose another programme; built with --after-end (a reductions rebuild), still said."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2026-12-05")
    create_employee(unused_months=24)
    result = app.test_cli_runner().invoke(lists_cli, ["build", "--program", "NQ116"])
    assert result.exit_code == 2, result.output
    assert "Programme NQ116 stopped paying on 10/09/2022: no lists were built" in result.output
    assert "--program" in result.output and "--after-end" in result.output
    assert count(db_session, Claim) == 0
    forced = app.test_cli_runner().invoke(lists_cli, ["build", "--program", "NQ116", "--after-end"])
    assert forced.exit_code == 0, forced.output
    assert "programme NQ116 stopped paying on 10/09/2022; the people listed now will not be paid" in forced.output
    assert count(db_session, Claim) == 1


def test_cli_refuses_an_unknown_program(app, db_session):
    assert count(db_session, Claim) == 0, "nothing leaked from the tests that commit"
    create_employee()
    result = app.test_cli_runner().invoke(lists_cli, ["build", "--program", "NQ999"])
    assert result.exit_code == 2
    assert "NQ999" in result.output and "NQ116" in result.output
    assert count(db_session, Claim) == 0


def test_the_task_builds_and_records_the_job(app, db_session):
    from workers.lists import build_lists_task

    create_employee()
    job = Job(kind="lists.build", params={"program": "NQ116"})
    db_session.add(job)
    db_session.flush()

    build_lists_task.run("NQ116", job.id)

    db_session.expire_all()
    job = db_session.get(Job, job.id)
    assert job.state == "succeeded" and job.finished_at is not None
    assert job.result["claims_created"] == 1
    assert job.done == job.total and job.total > 0
    assert count(db_session, Claim) == 1

    build_lists_task.run("NQ116", job.id)  # redelivery: the job is done, nothing happens
    assert count(db_session, ClaimEvent) == 1


def test_the_task_fails_the_job_for_an_unknown_program(app, db_session):
    from workers.lists import build_lists_task

    job = Job(kind="lists.build", params={"program": "NQ999"})
    db_session.add(job)
    db_session.flush()
    build_lists_task.run("NQ999", job.id)
    db_session.expire_all()
    job = db_session.get(Job, job.id)
    assert job.state == "failed" and "NQ999" in job.error


def replication_role(db_session) -> str:
    return db_session.execute(text("SELECT current_setting('session_replication_role')")).scalar_one()


def test_bulk_claims_and_events_skip_only_their_own_fk_triggers_and_the_fks_still_hold(db_session):
    employer = create_employer()
    for months in (3, 30, 130):
        create_employee(employer_id=employer.id, unused_months=months)

    result = build_lists(nq116(), today=LISTED_ON, batch=2)

    # The test role is a superuser: claims and events took the set-based path; the rollup trigger still fired.
    assert result.set_based_references is True
    assert replication_role(db_session) == "origin"
    assert counters(db_session) == grouped_claims(db_session)
    assert sum(row[4] for row in counters(db_session)) == 3
    events = db_session.scalars(select(ClaimEvent)).all()
    assert sorted(e.claim_id for e in events) == sorted(c.id for c in claims_by_employee(db_session).values())
    # An ordinary insert afterwards is still checked by the foreign keys, row by row.
    missing = db_session.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM claims")).scalar_one()
    for values in (f"{missing}, NULL", f"{events[0].claim_id}, -1"):
        with pytest.raises(IntegrityError, match="fk_claim_events_"), db_session.begin_nested():
            db_session.execute(
                text(
                    "INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state) "
                    f"VALUES ({values}, 'create', NULL, 'listed')"
                )
            )
    program = nq116()
    with pytest.raises(IntegrityError, match="fk_claims_employee_id"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group, "
                "unused_months, amount_vnd, state, reasons) "
                f"VALUES ({program.id}, -1, {employer.id}, '{employer.district_code}', 'A', 'A', 3, 1800000, "
                "'listed', '{}')"
            )
        )


def test_rollups_and_history_guards_fire_under_the_replica_role_too(db_session):
    """The bulk writers' replica role skips ordinary triggers: these are ENABLE ALWAYS (migration 0005)."""
    create_employee(unused_months=30)
    build_lists(nq116(), today=LISTED_ON)
    db_session.execute(text("SET LOCAL session_replication_role = replica"))
    try:
        with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
            db_session.execute(text("UPDATE claim_events SET action = 'edited'"))
        db_session.execute(text("UPDATE claims SET state = 'employer_confirmed'"))
        assert counters(db_session) == grouped_claims(db_session)
    finally:
        db_session.execute(text("SET LOCAL session_replication_role = origin"))


def test_events_through_the_triggers_are_the_same(db_session):
    for months in (0, 12, 50):
        create_employee(unused_months=months)

    result = build_lists(nq116(), today=LISTED_ON, batch=2, skip_fk_triggers=False)

    assert result.set_based_references is False
    assert result.claims_created == 3
    events = db_session.scalars(select(ClaimEvent)).all()
    assert sorted(e.claim_id for e in events) == sorted(c.id for c in claims_by_employee(db_session).values())
    assert counters(db_session) == grouped_claims(db_session)


def test_a_role_that_may_not_set_the_replication_role_gets_checked_events(db_session):
    for months in (7, 70):
        create_employee(unused_months=months)
    program = nq116()
    role = f"disburse_plain_{secrets.token_hex(4)}"  # created and dropped with the test's transaction
    db_session.execute(text(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER"))
    db_session.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
    db_session.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    db_session.execute(text(f"SET LOCAL ROLE {role}"))
    try:
        result = build_lists(program, today=LISTED_ON)
        assert result.set_based_references is False
        assert result.claims_created == 2
        assert count(db_session, ClaimEvent) == 2
        assert counters(db_session) == grouped_claims(db_session)
    finally:
        db_session.execute(text("RESET ROLE"))
