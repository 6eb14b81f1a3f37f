"""Form 04 at the desk reads the claim's district before it writes the claim: an employers import moving the unit
in between would leave the new claim in the old district under a unit moved away from it (the split the import
refuses for a unit with claims). The desk now locks the unit ``FOR SHARE`` where it reads the district: the import
waits for the desk's transaction, then sees the claim and keeps the unit where it is. Two real transactions on two
connections, the rows committed for real and removed at the end."""

from __future__ import annotations

import threading
import time
from typing import Any

from disburse.casework import service
from disburse.claims import applications
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry import importer
from disburse.registry.models import Employer
from tests.claims.test_applications import TODAY, _body, _Committed, _lock_waiters
from tests.registry.test_import_support import write_csv
from tests.registry.test_import_unit_district import _row_of


def test_the_unit_read_for_a_desk_form_04_does_not_move_before_its_claim_is_written(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY.isoformat())
    with app.app_context():
        rows = _Committed(listed=False)  # a stopped person of Đông Anh (017) and a unit of Đông Anh
        try:
            unit_id = rows.unit.id
            body = _body(rows.person, unit_code=rows.unit.unit_code)
            path = write_csv(tmp_path / "move.csv", "employers", [_row_of(rows.unit, district_code="018")])
            # The desk, in its transaction as the view runs it: the units locked, then the district read.
            service.lock_application_units(body)
            assert applications.district_before_saving(rows.program, body) == "017"
            outcome: dict[str, Any] = {}

            def move() -> None:  # the admin's employers file, moving the unit to 018, on a connection of its own
                with app.app_context():
                    try:
                        outcome["result"] = importer.import_file("employers", path)
                        db.session.commit()
                    finally:
                        db.session.remove()

            thread = threading.Thread(target=move)
            thread.start()
            deadline = time.monotonic() + 10
            while _lock_waiters() == 0 and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert thread.is_alive() and _lock_waiters() == 1, "the import did not wait for the desk"
            claim = service.take_application(rows.program.code, rows.user, body)
            db.session.commit()
            thread.join(30)
            assert not thread.is_alive()

            result = outcome["result"]
            assert (result.updated, result.rejected) == (0, 1)
            assert [error.error_code for error in result.errors] == ["unit_has_claims"]
            db.session.expire_all()
            assert db.session.get(Employer, unit_id).district_code == "017"
            written = db.session.get(Claim, claim.id)
            assert (written.district_code, written.employer_id) == ("017", unit_id)
        finally:
            rows.clean()
            db.session.remove()
