"""Two rollup repairs of one program at once (two beat schedulers, or the sweep's Redis lock lost with Redis) add the
correction once: the second waits for the first's transaction and then finds nothing left to correct."""

from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import text

from disburse.extensions import db
from disburse.reports import rollups
from tests.conftest import delete_committed_program
from tests.factories import create_employer, create_program

_WAITING = text(
    """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
       AND classid = CAST(hashtext('disburse.rollups.repair') AS oid) AND objid = :p AND objsubid = 2
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
)


def test_two_repairs_at_once_correct_a_drift_once(app: Flask):
    with app.app_context():
        program = create_program()
        unit = create_employer(district_code="017")
        db.session.commit()
        program_id, unit_id = program.id, unit.id
        with db.engine.begin() as conn:
            for i in range(3):  # committed claims without events, so that they can be deleted again
                employee_id = conn.execute(
                    text(
                        """INSERT INTO employees (si_code, national_id, full_name, ui_status, unused_months,
                                                  employer_id, district_code)
                           VALUES (:si, :nid, 'Người Thử Sửa', 'participating', 24, :e, '017') RETURNING id"""
                    ),
                    {"si": f"07{unit_id % 10**5:05d}{i:03d}", "nid": f"07{unit_id % 10**7:07d}{i:03d}", "e": unit_id},
                ).scalar_one()
                conn.execute(
                    text(
                        """INSERT INTO claims (program_id, employee_id, employer_id, district_code, track,
                                               support_group, unused_months, amount_vnd, state)
                           VALUES (:p, :emp, :e, '017', 'A', 'A', 24, 2100000, 'approved')"""
                    ),
                    {"p": program_id, "emp": employee_id, "e": unit_id},
                )
            # The fault: a district's counter written behind the triggers' back.
            conn.execute(
                text(
                    "UPDATE district_counters SET claims = claims + 5 WHERE program_id = :p AND district_code = '017'"
                    " AND state = 'approved'"
                ),
                {"p": program_id},
            )
        repaired: list[int] = []
        errors: list[BaseException] = []
        blocker = db.engine.connect()
        try:
            blocker.execute(text("SELECT pg_advisory_lock(hashtext('disburse.rollups.repair'), :p)"), {"p": program_id})

            def repair() -> None:
                with app.app_context():
                    try:
                        repaired.append(rollups.repair(program_id))
                        db.session.commit()
                    except BaseException as exc:
                        errors.append(exc)
                        db.session.rollback()
                    finally:
                        db.session.remove()

            threads = [threading.Thread(target=repair) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while blocker.execute(_WAITING, {"p": program_id}).scalar() != 2:
                assert time.monotonic() < deadline, "both repairs should wait for the program's repair lock"
                time.sleep(0.05)
            blocker.execute(
                text("SELECT pg_advisory_unlock(hashtext('disburse.rollups.repair'), :p)"), {"p": program_id}
            )
            blocker.commit()
            for thread in threads:
                thread.join(timeout=30)
            assert errors == []
            assert sorted(repaired) == [0, 1]  # the district row, corrected by the first; nothing left for the second
            assert rollups.drift(program_id) == []
            assert (
                db.session.execute(
                    text(
                        "SELECT claims FROM district_counters WHERE program_id = :p AND district_code = '017'"
                        " AND state = 'approved'"
                    ),
                    {"p": program_id},
                ).scalar_one()
                == 3
            )
        finally:
            blocker.close()
            db.session.rollback()
            delete_committed_program(program_id, unit_id, first=("rollup_repairs",))
            db.session.remove()
