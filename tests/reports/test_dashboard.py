"""The dashboards' figures (disburse.reports.dashboard) equal a direct count over claims and payments, at every
level, after a seeded random run of single and bulk transitions through the claims service (in payment split into
the bank's and the offices' cash lists too); the repair sweeper reports and fixes drift made on purpose; snapshots,
targets, ageing, failures, throughput and backlog."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from disburse.claims import service
from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimAction, ClaimState, allowed_actions
from disburse.payments import service as payments
from disburse.programs.calendar import working_days_between
from disburse.reports import backlog as backlog_figures
from disburse.reports import dashboard, rollups
from disburse.reports.models import CompletionSnapshot
from disburse.reports.service import Area, area_progress, district_count, program_progress
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_employee,
    create_employer,
    create_payment,
    create_program,
    create_user,
)

S, A = ClaimState, ClaimAction
# Two districts of Hà Nội (01) and one of Hồ Chí Minh City (79).
DISTRICTS = {"017": "01", "001": "01", "760": "79"}
START_STATES = [S.LISTED, S.EMPLOYER_CONFIRMED, S.VERIFYING, S.NEEDS_REVIEW, S.APPROVED, S.PAID, S.APPLIED]


@pytest.fixture
def run(db_session):
    """A program after a seeded random run: claims of six units and of applicants without a unit, a fifth of them
    paid in cash at the office, moved by single transitions (by a caseworker) and by bulk ones (the system); some
    switched to cash while in review or awaiting details, as the cash offer does; and three people on their office's
    cash list, as a cash batch leaves them."""
    rng = random.Random(116)
    program = create_program()
    caseworker = create_user("caseworker")
    units = [create_employer(district_code=code) for code in DISTRICTS for _ in range(2)]
    claims = []
    for i in range(70):
        unit = units[i % len(units)]
        state = rng.choice(START_STATES)
        cash = {"payout": "cash", "bank_code": None, "bank_account": None} if i % 5 == 0 else {}
        if state is S.APPLIED and i % 3 == 0:  # an applicant without a unit on file
            employee = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 1), employer_id=None)
            employee.district_code = unit.district_code
            claims.append(create_claim(state, program=program, employee=employee, employer_id=None, track="B", **cash))
        else:
            employee = create_employee(employer_id=unit.id, district_code=unit.district_code)
            claims.append(create_claim(state, program=program, employee=employee, **cash))
    ids = [c.id for c in claims]
    for step in range(200):
        if step % 25 == 0:  # a bulk transition over a random half: the guarded statement moves those it may
            action = rng.choice([A.START_VERIFICATION, A.APPROVE, A.QUEUE_PAYMENT, A.PAYMENT_SUCCEEDED, A.DECLINE])
            service.transition_many(action, ids=rng.sample(ids, len(ids) // 2), program_id=program.id)
            continue
        claim = service.get_claim(rng.choice(ids))
        assert claim is not None
        actions = allowed_actions(claim.state)
        if not actions:
            continue
        action = rng.choice(actions)
        reason = "Không đủ điều kiện" if action is A.REJECT else None
        service.transition(claim.id, action, caseworker, reason=reason)
    # Payment attempts through the payments' transition path: failed with several codes, returned, paid, sent.
    for i, claim_id in enumerate(rng.sample(ids, 16)):
        claim = service.get_claim(claim_id)
        if i % 4 == 3:
            create_payment(claim, rng.choice(["paid", "returned", "sent", "cancelled"]))
            continue
        payment = create_payment(claim, "sent")
        payments.transition(payment, "fail", reason=rng.choice(["rjct.bank.timeout", "AC04", "rjct.payee_fa.closed"]))
    # Switched to cash in one statement, their state unchanged (the payout alone moves between the rollups' columns).
    db_session.execute(
        text(
            """UPDATE claims SET payout = 'cash', bank_code = NULL, bank_account = NULL
               WHERE id = ANY(:ids) AND payout = 'bank' AND state IN ('needs_review', 'awaiting_payment_details')"""
        ),
        {"ids": ids[::2]},
    )
    for unit in units[::2]:  # one per district, on its office's cash list (with any approved cash claim of the run)
        create_cash_payment(
            program=program, employee=create_employee(employer_id=unit.id, district_code=unit.district_code)
        )
    return program


Key = tuple[str, str | None, int | None]


def _keys(district: str, province: str, employer: int | None) -> tuple[Key, ...]:
    return (
        ("district", district, None),
        ("province", province, None),
        ("country", None, None),
        ("employer", district, employer),
    )


def _direct(program_id: int, db_session) -> dict[Key, dict[str, tuple[int, int, int, int]]]:
    """(claims, amount, claims paid in cash, their amount) per state for every district (key ('district', code,
    None)), province ('province', code, None), employer ('employer', district, employer id) and the country
    ('country', None, None), by GROUP BY."""
    rows = db_session.execute(
        text(
            """SELECT c.district_code, d.province_code, c.employer_id, c.state, count(*), sum(c.amount_vnd),
                      count(*) FILTER (WHERE c.payout = 'cash'),
                      coalesce(sum(c.amount_vnd) FILTER (WHERE c.payout = 'cash'), 0)
               FROM claims c JOIN districts d ON d.code = c.district_code WHERE c.program_id = :p
               GROUP BY 1, 2, 3, 4"""
        ),
        {"p": program_id},
    ).all()
    out: dict[Key, dict[str, tuple[int, int, int, int]]] = defaultdict(dict)
    for district, province, employer, state, n, amount, cash, cash_amount in rows:
        for key in _keys(district, province, employer):
            old = out[key].get(state, (0, 0, 0, 0))
            out[key][state] = (old[0] + int(n), old[1] + int(amount), old[2] + int(cash), old[3] + int(cash_amount))
    return out


def _expected(by_state: dict[str, tuple[int, int, int, int]]) -> tuple[int, ...]:
    def n(state: ClaimState) -> int:
        return by_state.get(state.value, (0, 0, 0, 0))[0]

    eligible = sum(c[0] for state, c in by_state.items() if state not in NOT_IN_ELIGIBLE_GROUP)
    return (
        eligible,
        n(S.PAID),
        by_state.get(S.PAID.value, (0, 0, 0, 0))[1],
        n(S.NEEDS_REVIEW),
        n(S.REJECTED),
        n(S.DECLINED),
        n(S.AWAITING_PAYMENT_DETAILS),
        sum(c[0] for c in by_state.values()),
        # Where the eligible not yet paid are: in all, approved, in payment (and its VND; of them in cash at the
        # office, and its VND), failed, being checked.
        eligible - n(S.PAID),
        n(S.APPROVED),
        *by_state.get(S.PAYMENT_PENDING.value, (0, 0, 0, 0)),
        n(S.PAYMENT_FAILED),
        sum(n(s) for s in (S.LISTED, S.EMPLOYER_CONFIRMED, S.EMPLOYER_OVERDUE, S.APPLIED, S.VERIFYING)),
    )


def _got(figures: dict) -> tuple[int, ...]:
    return (
        figures["eligible"],
        figures["paid"],
        figures["paid_amount_vnd"],
        figures["needs_review"],
        figures["rejected"],
        figures["declined"],
        figures["awaiting_details"],
        figures["claims"],
        figures["unpaid"],
        figures["approved"],
        figures["payment_pending"],
        figures["payment_pending_amount_vnd"],
        figures["payment_pending_cash"],
        figures["payment_pending_cash_amount_vnd"],
        figures["payment_failed"],
        figures["checking"],
    )


def test_the_figures_equal_a_direct_count_at_every_level_after_a_random_run(db_session, run):
    direct = _direct(run.id, db_session)
    assert rollups.drift(run.id) == []
    # The run moved claims into many states, in every district, money on its way too.
    assert len(direct[("country", None, None)]) >= 6
    country_figures = dashboard.figures(run.id, Area())
    assert country_figures["payment_pending"] > 0
    assert sum(country_figures[group] for group in dashboard.UNPAID_GROUPS) == country_figures["unpaid"] > 0
    assert dashboard.figures(run.id, Area()) == dashboard.figures_of(direct[("country", None, None)])
    provinces = {row["code"]: row for row in dashboard.children(run.id, Area())}
    assert set(provinces) == {"01", "79"}
    for province, row in provinces.items():
        expected = _expected(direct[("province", province, None)])
        assert _got(row) == expected
        assert _got(dashboard.figures(run.id, Area(province))) == expected
        assert row["name"]  # the province's name for the table
        districts = {r["code"]: r for r in dashboard.children(run.id, Area(province))}
        assert set(districts) == {code for code, p in DISTRICTS.items() if p == province}
        for district, drow in districts.items():
            expected = _expected(direct[("district", district, None)])
            assert _got(drow) == expected
            area = Area(province, district)
            assert _got(dashboard.figures(run.id, area)) == expected
            employers = dashboard.children(run.id, area)
            assert {(r["employer_id"]) for r in employers} == {
                key[2] for key in direct if key[0] == "employer" and key[1] == district
            }
            for erow in employers:
                assert _got(erow) == _expected(direct[("employer", district, erow["employer_id"])])
    # Payment failures by reason, from their counters, against a count over payments, for every area.
    for area in [Area(), *(Area(p) for p in ("01", "79")), *(Area(p, d) for d, p in DISTRICTS.items())]:
        where = "d.code = :d" if area.district_code else "d.province_code = :p" if area.province_code else "true"
        direct_failures = db_session.execute(
            text(
                f"""SELECT p.failure_code, count(*), sum(p.amount_vnd) FROM payments p
                    JOIN claims c ON c.id = p.claim_id JOIN districts d ON d.code = c.district_code
                    WHERE c.program_id = :program AND p.state IN ('failed', 'returned') AND {where} GROUP BY 1"""
            ),
            {"program": run.id, "d": area.district_code, "p": area.province_code},
        ).all()
        got = {(f["code"], f["payments"], f["amount_vnd"]) for f in dashboard.failures_by_reason(run.id, area)}
        assert got == {(code, n, amount) for code, n, amount in direct_failures}
    assert sum(f["payments"] for f in dashboard.failures_by_reason(run.id, Area())) >= 12
    # The older entry points read the new levels and agree.
    country = direct[("country", None, None)]
    assert program_progress(run.id)["paid"] == country.get(S.PAID.value, (0, 0))[0]
    progress = area_progress(run.id, Area("01"))
    assert [a["code"] for a in progress["areas"]] == ["001", "017"]
    assert progress["eligible"] == _expected(direct[("province", "01", None)])[0]
    assert district_count(run.id, "760", S.LISTED.value) == direct[("district", "760", None)].get("listed", (0, 0))[0]


#: In payment, split: at a bank (sent, not settled) and in cash on an office's list (not yet collected), with VND.
SPLIT = (
    "payment_pending_bank",
    "payment_pending_bank_amount_vnd",
    "payment_pending_cash",
    "payment_pending_cash_amount_vnd",
)


def test_in_payment_at_the_bank_and_in_cash_equal_a_direct_count_over_claims(db_session, run):
    """The two parts of "in payment" read from the rollups' cash columns are, at every level (the country, each
    province, district and unit, and the units of a province as the dashboard's own query reads them), the claims in
    payment counted directly by their payout; and they add up to in payment as one figure, as it was before."""
    from disburse.dashboard.queries import TableQuery, table_rows

    rows = db_session.execute(
        text(
            """SELECT c.district_code, d.province_code, c.employer_id,
                      count(*) FILTER (WHERE c.payout = 'bank'),
                      coalesce(sum(c.amount_vnd) FILTER (WHERE c.payout = 'bank'), 0),
                      count(*) FILTER (WHERE c.payout = 'cash'),
                      coalesce(sum(c.amount_vnd) FILTER (WHERE c.payout = 'cash'), 0)
               FROM claims c JOIN districts d ON d.code = c.district_code
               WHERE c.program_id = :p AND c.state = 'payment_pending' GROUP BY 1, 2, 3"""
        ),
        {"p": run.id},
    ).all()
    direct: dict[Key, Counter] = defaultdict(Counter)
    for district, province, employer, *counts in rows:
        for key in _keys(district, province, employer):
            direct[key].update(dict(zip(SPLIT, (int(n) for n in counts), strict=True)))
    country = direct[("country", None, None)]
    assert country["payment_pending_bank"] > 0 and country["payment_pending_cash"] >= 3  # both in the seeded run

    def check(key: Key, figures: dict, names: tuple[str, ...] = SPLIT) -> None:
        assert {name: figures[name] for name in names} == {name: direct[key][name] for name in names}, key
        assert figures["payment_pending_bank"] + figures["payment_pending_cash"] == figures["payment_pending"], key
        if "payment_pending_amount_vnd" in figures:
            assert (
                figures["payment_pending_bank_amount_vnd"] + figures["payment_pending_cash_amount_vnd"]
                == figures["payment_pending_amount_vnd"]
            ), key

    check(("country", None, None), dashboard.figures(run.id, Area()))
    employer_ids = dict(db_session.execute(text("SELECT unit_code, id FROM employers")).all())
    seen = 0
    for province_row in dashboard.children(run.id, Area()):
        province = province_row["code"]
        check(("province", province, None), province_row)
        check(("province", province, None), dashboard.figures(run.id, Area(province)))
        for district_row in dashboard.children(run.id, Area(province)):
            district = district_row["code"]
            check(("district", district, None), district_row)
            check(("district", district, None), dashboard.figures(run.id, Area(province, district)))
            for unit in dashboard.children(run.id, Area(province, district)):
                check(("employer", district, unit["employer_id"]), unit)
                seen += 1
        units, _ = table_rows(run.id, TableQuery(Area(province), "units"))  # counts only, no VND
        for unit in units:
            key = ("employer", unit["district_code"], employer_ids[unit["code"]])
            check(key, unit, ("payment_pending_bank", "payment_pending_cash"))
    assert seen >= 6
    assert rollups.drift(run.id) == []  # the cash columns agree with claims at every level too


def test_children_sorted_by_lowest_completion_and_limited(db_session, run):
    rows = dashboard.children(run.id, Area("01", "017"), sort="completion", limit=2)
    everyone = dashboard.children(run.id, Area("01", "017"), sort="completion")
    assert rows == everyone[:2] and len(everyone) >= 2
    known = [r["percent_paid_bp"] for r in everyone if r["percent_paid_bp"] is not None]
    assert known == sorted(known)
    with pytest.raises(ValueError):
        dashboard.children(run.id, Area(), sort="name; DROP TABLE claims")


def _pairs(expected: tuple[int, ...], found: tuple[int, ...]) -> tuple[int, ...]:
    """A repair's expected and found (claims, VND, cash claims, cash VND) as ``rollup_repairs`` orders them."""
    return tuple(value for pair in zip(expected, found, strict=True) for value in pair)


def test_the_repair_sweeper_reports_and_fixes_drift_made_on_purpose(db_session, run):
    unit = create_employer(district_code="760")
    lost = db_session.execute(
        text(
            "SELECT state FROM province_counters WHERE program_id = :p AND province_code = '79' AND claims > 0"
            " ORDER BY claims DESC, state LIMIT 1"
        ),
        {"p": run.id},
    ).scalar_one()
    failed = db_session.execute(
        text(
            "SELECT district_code, failure_code, payments, amount_vnd FROM failure_counters WHERE program_id = :p"
            " AND payments > 0 ORDER BY district_code, failure_code LIMIT 1"
        ),
        {"p": run.id},
    ).one()
    # The fault: counter rows written behind the triggers' back, at every level.
    db_session.execute(
        text(
            "UPDATE failure_counters SET payments = 0, amount_vnd = 0 WHERE program_id = :p AND district_code = :d"
            " AND failure_code = :c"
        ),
        {"p": run.id, "d": failed.district_code, "c": failed.failure_code},
    )
    db_session.execute(
        text(
            "UPDATE district_counters SET claims = claims + 5 WHERE program_id = :p AND district_code = '017'"
            " AND state = 'paid'"
        ),
        {"p": run.id},
    )
    db_session.execute(
        text("DELETE FROM province_counters WHERE program_id = :p AND province_code = '79' AND state = :s"),
        {"p": run.id, "s": lost},
    )
    db_session.execute(
        text(
            "INSERT INTO claim_counters (program_id, district_code, employer_id, state, claims, amount_vnd)"
            " VALUES (:p, '760', :e, 'approved', 3, 6300000)"
        ),
        {"p": run.id, "e": unit.id},
    )
    # The cash columns alone: a unit's people on the cash list counted as at the bank.
    in_cash = db_session.execute(
        text(
            "SELECT district_code, employer_id, cash_claims, cash_amount_vnd FROM claim_counters WHERE program_id = :p"
            " AND state = 'payment_pending' AND cash_claims > 0 AND district_code = '001' ORDER BY employer_id LIMIT 1"
        ),
        {"p": run.id},
    ).one()
    db_session.execute(
        text(
            "UPDATE claim_counters SET cash_claims = 0, cash_amount_vnd = 0 WHERE program_id = :p"
            " AND district_code = :d AND employer_id = :e AND state = 'payment_pending'"
        ),
        {"p": run.id, "d": in_cash.district_code, "e": in_cash.employer_id},
    )
    before = {(d.level, d.area_code, d.employer_id, d.state) for d in rollups.drift(run.id)}
    assert before == {
        ("district", "017", None, "paid"),
        ("province", "79", None, lost),
        ("employer", "760", unit.id, "approved"),
        ("employer", "001", in_cash.employer_id, "payment_pending"),
        ("failures", failed.district_code, None, failed.failure_code),
    }

    from workers.sweepers import rollups as sweep

    assert sweep() == 5

    report = db_session.execute(
        text(
            "SELECT level, area_code, employer_id, state, expected_claims, found_claims, expected_amount_vnd,"
            " found_amount_vnd, expected_cash_claims, found_cash_claims, expected_cash_amount_vnd,"
            " found_cash_amount_vnd FROM rollup_repairs WHERE program_id = :p ORDER BY level, area_code"
        ),
        {"p": run.id},
    ).all()
    direct = _direct(run.id, db_session)
    paid = direct[("district", "017", None)].get("paid", (0, 0, 0, 0))
    listed = direct[("province", "79", None)][lost]
    pending = direct[("employer", "001", in_cash.employer_id)]["payment_pending"]
    assert pending[2:] == (in_cash.cash_claims, in_cash.cash_amount_vnd)
    assert [tuple(r) for r in report] == [
        ("district", "017", None, "paid", *_pairs(paid, (paid[0] + 5, *paid[1:]))),
        ("employer", "001", in_cash.employer_id, "payment_pending", *_pairs(pending, (*pending[:2], 0, 0))),
        ("employer", "760", unit.id, "approved", *_pairs((0, 0, 0, 0), (3, 6_300_000, 0, 0))),
        (
            "failures",
            failed.district_code,
            None,
            failed.failure_code,
            *_pairs((failed.payments, failed.amount_vnd, 0, 0), (0, 0, 0, 0)),
        ),
        ("province", "79", None, lost, *_pairs(listed, (0, 0, 0, 0))),
    ]
    assert rollups.drift(run.id) == []
    assert _got(dashboard.figures(run.id, Area("79"))) == _expected(direct[("province", "79", None)])
    assert _got(dashboard.figures(run.id, Area("01", "001"))) == _expected(direct[("district", "001", None)])
    assert sweep() == 0  # nothing left to repair, nothing reported twice
    assert (
        db_session.execute(text("SELECT count(*) FROM rollup_repairs WHERE program_id = :p"), {"p": run.id}).scalar()
        == 5
    )


def test_daily_snapshots_are_taken_from_the_rollups_once_per_day(db_session, run):
    day = date(2021, 10, 20)
    written = rollups.take_snapshots(run.id, day)
    assert written == 1 + 2 + 3  # the country, two provinces, three districts
    claim = db_session.execute(
        text("SELECT id FROM claims WHERE program_id = :p AND state = 'approved' LIMIT 1"), {"p": run.id}
    ).scalar()
    if claim is None:
        claim = create_claim(S.APPROVED, program=run).id
    service.transition(claim, A.QUEUE_PAYMENT)
    service.transition(claim, A.PAYMENT_SUCCEEDED)
    assert rollups.take_snapshots(run.id, day) == 6  # the same day again: replaced, not added
    rollups.take_snapshots(run.id, day - timedelta(days=1))
    series = dashboard.completion_over_time(run.id, Area(), days=7, today=day)
    assert [point["day"] for point in series] == [day - timedelta(days=1), day]
    now = dashboard.figures(run.id, Area())
    assert (series[-1]["eligible"], series[-1]["paid"], series[-1]["paid_amount_vnd"]) == (
        now["eligible"],
        now["paid"],
        now["paid_amount_vnd"],
    )
    assert series[-1]["percent_paid_bp"] == now["percent_paid_bp"]
    district = dashboard.completion_over_time(run.id, Area("01", "017"), days=1, today=day)
    assert [p["paid"] for p in district] == [dashboard.figures(run.id, Area("01", "017"))["paid"]]
    # Every row of the day, at every level, keeps the area's figures as the dashboard counts them, where the not yet
    # paid are too (in payment split into the bank's and the offices' cash lists, each with its VND): the monthly
    # report reads a past month from them.
    kept = rollups.SNAPSHOT_FIGURES
    rows = db_session.execute(
        text(
            f"SELECT level, area_code, {', '.join(kept)} FROM completion_snapshots WHERE program_id = :p AND day = :d"
        ),
        {"p": run.id, "d": day},
    ).mappings()
    areas = {"country": lambda code: Area(), "province": Area, "district": lambda code: Area(DISTRICTS[code], code)}
    seen = set()
    for row in rows:
        now = dashboard.figures(run.id, areas[row["level"]](row["area_code"]))
        assert {name: row[name] for name in kept} == {name: now[name] for name in kept}, (
            row["level"],
            row["area_code"],
        )
        seen.add(row["level"])
    assert seen == {"country", "province", "district"}
    assert sum(now[name] for name in dashboard.UNPAID_GROUPS) == now["unpaid"]
    country = dashboard.figures(run.id, Area())
    assert country["payment_pending_cash"] > 0 and country["payment_pending_bank"] > 0 and country["checking"] > 0


def test_the_snapshot_figures_are_the_snapshot_tables_figure_columns():
    """``rollups.SNAPSHOT_FIGURES`` is the one list of what the daily snapshot writes and the monthly report reads: a
    column added to the table and not to it is never written, a figure added to it and not to the table has nowhere
    to go. The table's figures are its columns but its key (what a snapshot replaces on) and ``taken_at``."""
    table = CompletionSnapshot.__table__
    key = {column.name for column in table.primary_key.columns}
    assert key == {"program_id", "level", "area_code", "day"}
    assert "taken_at" in table.columns  # bookkeeping: when the row was taken, not a figure
    figures = [column.name for column in table.columns if column.name not in key | {"taken_at"}]
    assert sorted(rollups.SNAPSHOT_FIGURES) == sorted(figures)


def test_targets_set_replaced_listed_and_the_districts_furthest_behind(db_session, run):
    supervisor = create_user("supervisor", province="01")
    dashboard.set_target(run.id, "017", date(2021, 11, 30), 8000, user_id=supervisor.id)
    dashboard.set_target(run.id, "001", date(2021, 11, 30), 10_000, user_id=supervisor.id)
    again = dashboard.set_target(run.id, "017", date(2021, 11, 30), 7500, user_id=supervisor.id)
    assert again.percent_bp == 7500
    dashboard.set_target(run.id, "017", date(2021, 12, 31), 9000, user_id=None)
    history, total = dashboard.target_history(run.id, Area("01"), limit=100)
    assert total == 3 and sorted((t["district_code"], t["target_date"], t["percent_bp"]) for t in history) == [
        ("001", date(2021, 11, 30), 10_000),
        ("017", date(2021, 11, 30), 7500),
        ("017", date(2021, 12, 31), 9000),
    ]
    for wrong in (-1, 10_001, 80.5, True):
        with pytest.raises(dashboard.InvalidTarget):
            dashboard.set_target(run.id, "017", date(2021, 11, 30), wrong, user_id=None)  # type: ignore[arg-type]
    on = date(2021, 11, 1)
    rows = dashboard.children(run.id, Area("01"), sort="target_gap", on=on)
    assert {r["code"]: r["target_bp"] for r in rows} == {"001": 10_000, "017": 7500}
    gaps = [r["gap_bp"] for r in rows]
    assert gaps == sorted(gaps, reverse=True)
    for row in rows:
        assert row["gap_bp"] == row["target_bp"] - (row["percent_paid_bp"] or 0)
    # After the first date, the next one is in force.
    later = dashboard.target_in_force(run.id, "017", date(2021, 12, 1))
    assert later is not None and (later["target_bp"], later["target_date"]) == (9000, date(2021, 12, 31))
    assert dashboard.target_in_force(run.id, "760", on) is None


def test_ageing_failures_throughput_and_backlog_equal_direct_counts(db_session, run):
    today = date(2021, 11, 15)
    caseworker = create_user("caseworker")
    area = Area("01")
    # Open cases of known ages, a failed payment with a code, decisions by a caseworker.
    unit = create_employer(district_code="017")
    for received in (date(2021, 11, 12), date(2021, 11, 1), date(2021, 10, 1)):
        employee = create_employee(employer_id=unit.id)
        claim = create_claim(S.NEEDS_REVIEW, program=run, employee=employee)
        claim.confirmed_on = received
        claim.reasons = ["name_mismatch"]
    db_session.flush()
    approved = create_claim(S.NEEDS_REVIEW, program=run, employee=create_employee(employer_id=unit.id))
    service.transition(approved.id, A.APPROVE, caseworker)

    # The backlog figures as the beat sweep counts them (tests/reports/test_backlog.py holds them to the live rule).
    backlog_figures.refresh(run.id, today)
    got = dashboard.ageing(run.id, area)
    rows = db_session.execute(
        text(
            """SELECT c.state, coalesce(c.applied_on, c.confirmed_on, CAST(c.created_at AS date)) FROM claims c
               JOIN districts d ON d.code = c.district_code
               WHERE c.program_id = :p AND d.province_code = '01'
                 AND c.state IN ('needs_review', 'payment_failed', 'awaiting_payment_details')"""
        ),
        {"p": run.id},
    ).all()
    expected = Counter()
    for _state, received in rows:
        age = working_days_between(received, today)
        expected[0 if age <= 5 else 1 if age <= 10 else 2 if age <= 20 else 3] += 1
    assert [b["claims"] for b in got["buckets"]] == [expected[i] for i in range(4)]
    assert [b["label"] for b in got["buckets"]] == ["0–5", "6–10", "11–20", "> 20"]
    assert sum(got["buckets"][i]["claims"] for i in range(4)) == len(rows) >= 3

    failures = dashboard.failures_by_reason(run.id, Area())
    direct = db_session.execute(
        text(
            """SELECT p.failure_code, count(*) FROM payments p JOIN claims c ON c.id = p.claim_id
               WHERE c.program_id = :p AND p.state IN ('failed', 'returned') GROUP BY 1"""
        ),
        {"p": run.id},
    ).all()
    assert {(f["code"], f["payments"]) for f in failures} == {(code, n) for code, n in direct}

    # Every decision a person made in the run, by day and person, against claim_events (the counters' trigger).
    decisions = db_session.execute(
        text(
            """SELECT CAST(e.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS date), e.actor_id,
                      count(*) FILTER (WHERE e.action = 'approve'), count(*) FILTER (WHERE e.action = 'reject')
               FROM claim_events e JOIN claims c ON c.id = e.claim_id
               WHERE c.program_id = :p AND e.actor_id IS NOT NULL AND e.action IN ('approve', 'reject')
               GROUP BY 1, 2"""
        ),
        {"p": run.id},
    ).all()
    counted = {(r["day"], r["user_id"], r["approved"], r["rejected"]) for r in dashboard.throughput(run.id, Area(), 2)}
    assert counted == {tuple(row) for row in decisions} and len(counted) >= 2
    mine = [r for r in dashboard.throughput(run.id, Area("01", "017"), days=1) if r["user_id"] == caseworker.id]
    assert [(r["decisions"], r["approved"], r["rejected"]) for r in mine] == [(1, 1, 0)]
    assert dashboard.throughput(run.id, Area("79"), days=1, now=datetime(2020, 1, 1, tzinfo=None).astimezone()) == []

    backlog = dashboard.backlog(run.id, area)
    review = db_session.execute(
        text(
            """SELECT r, count(*) FROM claims c JOIN districts d ON d.code = c.district_code, unnest(c.reasons) r
               WHERE c.program_id = :p AND d.province_code = '01' AND c.state = 'needs_review' GROUP BY 1"""
        ),
        {"p": run.id},
    ).all()
    assert backlog["review_queue"]["by_reason"] == {r: n for r, n in review}
    assert backlog["review_queue"]["by_reason"]["name_mismatch"] >= 3
    breaches = db_session.execute(
        text(
            """SELECT count(*) FROM claims c JOIN districts d ON d.code = c.district_code
               WHERE c.program_id = :p AND d.province_code = '01' AND c.payment_due_on < :t
                 AND c.state NOT IN ('paid', 'rejected', 'declined', 'removed')"""
        ),
        {"p": run.id, "t": today},
    ).scalar()
    assert backlog["sla_breaches"]["claims"] == breaches
    overdue = db_session.execute(
        text(
            """SELECT count(DISTINCT c.employer_id) FROM claims c JOIN districts d ON d.code = c.district_code
               WHERE c.program_id = :p AND d.province_code = '01' AND c.state = 'employer_overdue'"""
        ),
        {"p": run.id},
    ).scalar()
    assert backlog["overdue_employers_total"] == overdue == len(backlog["overdue_employers"])
    assert isinstance(backlog["reconciliations"], list)
