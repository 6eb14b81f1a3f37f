"""The migrations build exactly the schema the models describe, and the database keeps the invariants."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from disburse.extensions import db
from disburse.reference.models import District, Province
from disburse.sandbox.models import create_schema as create_sandbox_schema
from tests.factories import create_employee, create_employer, nq116


def test_models_and_migration_head_agree(db_session):
    context = MigrationContext.configure(db_session.connection())
    diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_reference_data_is_the_2021_structure(db_session):
    assert db_session.scalar(select(db.func.count()).select_from(Province)) == 63
    assert db_session.scalar(select(db.func.count()).select_from(District)) == 696
    dong_anh = db_session.get(District, "017")
    assert dong_anh.province_code == "01" and "Đông Anh" in dong_anh.name
    hanoi_districts = db_session.scalar(
        select(db.func.count()).select_from(District).where(District.province_code == "01")
    )
    assert hanoi_districts == 30


def test_nq116_program_carries_the_historical_values(db_session):
    program = nq116()
    assert str(program.cutoff_date) == "2021-09-30"
    assert (str(program.stop_window_start), str(program.stop_window_end)) == ("2020-01-01", "2021-09-30")
    assert str(program.application_deadline) == "2021-12-20"
    assert str(program.extension_until) == "2022-09-10"
    assert [(t.min_months, t.amount_vnd) for t in program.tiers] == [
        (0, 1_800_000),
        (12, 2_100_000),
        (60, 2_400_000),
        (84, 2_650_000),
        (108, 2_900_000),
        (132, 3_300_000),
    ]


def test_unit_code_and_si_code_are_unique(db_session):
    employer = create_employer()
    with pytest.raises(IntegrityError), db_session.begin_nested():
        create_employer(unit_code=employer.unit_code)
    employee = create_employee()
    with pytest.raises(IntegrityError), db_session.begin_nested():
        create_employee(si_code=employee.si_code)


@pytest.mark.parametrize(
    "overrides",
    [
        {"si_code": "123"},
        {"national_id": "1234567890"},
        {"unused_months": -1},
        {"unused_months": 601},
        {"ui_status": "stopped", "ui_stopped_on": None},
        {"gender": "other"},
        {"bank_code": "VCB", "bank_account": None},
    ],
)
def test_employee_check_constraints(db_session, overrides):
    with pytest.raises(IntegrityError), db_session.begin_nested():
        create_employee(**overrides)


def test_claim_events_are_append_only(db_session):
    employee = create_employee()
    program = nq116()
    claim_id = db_session.execute(
        text(
            "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,"
            " unused_months, amount_vnd, state) VALUES (:p, :e, :er, '017', 'A', 'A', 24, 2100000, 'listed')"
            " RETURNING id"
        ),
        {"p": program.id, "e": employee.id, "er": employee.employer_id},
    ).scalar_one()
    db_session.execute(
        text("INSERT INTO claim_events (claim_id, action, to_state) VALUES (:c, 'create', 'listed')"), {"c": claim_id}
    )
    with pytest.raises(IntegrityError, match="append-only"), db_session.begin_nested():
        db_session.execute(text("UPDATE claim_events SET reason = 'edited' WHERE claim_id = :c"), {"c": claim_id})
    with pytest.raises(IntegrityError, match="append-only"), db_session.begin_nested():
        db_session.execute(text("DELETE FROM claim_events WHERE claim_id = :c"), {"c": claim_id})


def test_claim_amount_must_be_positive_and_one_claim_per_person(db_session):
    employee = create_employee()
    program = nq116()
    insert = text(
        "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,"
        " unused_months, amount_vnd, state) VALUES (:p, :e, :er, '017', 'A', 'A', 24, :amount, 'listed')"
    )
    params = {"p": program.id, "e": employee.id, "er": employee.employer_id}
    with pytest.raises(IntegrityError, match="amount_positive"), db_session.begin_nested():
        db_session.execute(insert, {**params, "amount": 0})
    db_session.execute(insert, {**params, "amount": 2_100_000})
    with pytest.raises(IntegrityError, match="uq_claims_program_id"), db_session.begin_nested():
        db_session.execute(insert, {**params, "amount": 2_100_000})


def test_claim_counters_follow_inserts_and_state_changes(db_session):
    program = nq116()
    employer = create_employer()
    people = [create_employee(employer_id=employer.id) for _ in range(3)]
    for person in people:
        db_session.execute(
            text(
                "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,"
                " unused_months, amount_vnd, state) VALUES (:p, :e, :er, '017', 'A', 'A', 24, 2100000, 'listed')"
            ),
            {"p": program.id, "e": person.id, "er": employer.id},
        )
    db_session.execute(text("UPDATE claims SET state = 'paid' WHERE employee_id = :e"), {"e": people[0].id})
    rows = db_session.execute(
        text("SELECT state, claims, amount_vnd FROM claim_counters WHERE employer_id = :er ORDER BY state"),
        {"er": employer.id},
    ).all()
    assert [tuple(r) for r in rows] == [("listed", 2, 4_200_000), ("paid", 1, 2_100_000)]


def test_one_live_payment_per_claim(db_session):
    employee = create_employee()
    program = nq116()
    claim_id = db_session.execute(
        text(
            "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,"
            " unused_months, amount_vnd, state) VALUES (:p, :e, :er, '017', 'A', 'A', 24, 2100000, 'approved')"
            " RETURNING id"
        ),
        {"p": program.id, "e": employee.id, "er": employee.employer_id},
    ).scalar_one()
    insert = text(
        "INSERT INTO payments (claim_id, attempt, amount_vnd, provider, provider_reference, state)"
        " VALUES (:c, :a, 2100000, 'sandbox', :ref, :state)"
    )
    db_session.execute(insert, {"c": claim_id, "a": 1, "ref": f"r-{claim_id}-1", "state": "queued"})
    with pytest.raises(IntegrityError, match="uq_payments_one_live_per_claim"), db_session.begin_nested():
        db_session.execute(insert, {"c": claim_id, "a": 2, "ref": f"r-{claim_id}-2", "state": "queued"})
    # A failed attempt is not live: a new attempt may follow it.
    db_session.execute(text("UPDATE payments SET state = 'failed' WHERE claim_id = :c"), {"c": claim_id})
    db_session.execute(insert, {"c": claim_id, "a": 2, "ref": f"r-{claim_id}-2", "state": "queued"})


def test_a_cash_receipt_number_pays_one_payment_whoever_writes(db_session):
    from tests.factories import create_payment

    first, second = create_payment(provider="cash"), create_payment(provider="cash")
    db_session.execute(text("UPDATE payments SET receipt_number = 'AA/21E 0000001' WHERE id = :id"), {"id": first.id})
    with pytest.raises(IntegrityError, match="uq_payments_receipt_number"), db_session.begin_nested():
        db_session.execute(
            text("UPDATE payments SET receipt_number = 'AA/21E 0000001' WHERE id = :id"), {"id": second.id}
        )


#: Plain btree indexes whose columns are the first columns of another plain btree index of the same table: every
#: write pays for them, and every read they serve the longer index serves too.
_REDUNDANT_INDEXES = text(
    """
    SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
    FROM pg_index a
    JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
    JOIN pg_class ia ON ia.oid = a.indexrelid
    JOIN pg_class ib ON ib.oid = b.indexrelid AND ib.relam = ia.relam
    JOIN pg_am am ON am.oid = ia.relam AND am.amname = 'btree'
    JOIN pg_namespace n ON n.oid = ia.relnamespace AND n.nspname IN ('public', 'sandbox')
    WHERE NOT a.indisunique AND a.indpred IS NULL AND b.indpred IS NULL
      AND a.indexprs IS NULL AND b.indexprs IS NULL
      AND b.indkey::text || ' ' LIKE a.indkey::text || ' %'
    ORDER BY 1
    """
)


def test_no_index_repeats_the_first_columns_of_another(db_session):
    create_sandbox_schema(db.engine)  # the sandbox bank's tables live in the same database
    assert db_session.execute(_REDUNDANT_INDEXES).all() == []
