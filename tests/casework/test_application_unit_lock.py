"""Form 04 reads the claim's district before it writes the claim: an employers import moving the unit in between
would leave the new claim in the old district under a unit moved away from it (the split the import refuses for a
unit with claims). The units are locked ``FOR SHARE`` where the district is read (at the desk, before the office is
told; in ``applications.apply``, the desk's and the API's): the import waits for the Form 04's transaction, then sees
the claim and keeps the unit where it is. Two real transactions on two connections, the rows committed for real and
removed at the end."""

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
            # The desk, in its transaction as the view runs it: the district read (the units locked there).
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


def test_the_unit_read_for_a_form_04_by_the_api_does_not_move_before_its_claim_is_written(app, monkeypatch, tmp_path):
    """The API's Form 04 (``POST /api/v1/applications``) reads the district in ``applications.apply`` and writes the
    claim in the same request: held between the two (the district just read), the import must wait for it."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY.isoformat())
    with app.app_context():
        rows = _Committed(listed=False)
        read, go = threading.Event(), threading.Event()
        try:
            unit_id = rows.unit.id
            body = _body(rows.person, unit_code=rows.unit.unit_code)
            program_code, token = rows.program.code, rows.token
            path = write_csv(tmp_path / "move.csv", "employers", [_row_of(rows.unit, district_code="018")])
            real_district = applications._district

            def district_then_pause(*args: Any) -> str | None:  # the API request, paused once it has the district
                district = real_district(*args)
                read.set()
                assert go.wait(30)
                return district

            monkeypatch.setattr(applications, "_district", district_then_pause)
            answers: list[Any] = []

            def api() -> None:
                response = app.test_client().post(
                    f"/api/v1/applications?program={program_code}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
                )
                answers.append((response.status_code, response.get_json()))

            outcome: dict[str, Any] = {}

            def move() -> None:
                with app.app_context():
                    try:
                        outcome["result"] = importer.import_file("employers", path)
                        db.session.commit()
                    finally:
                        db.session.remove()

            request = threading.Thread(target=api)
            request.start()
            assert read.wait(30), "the API request did not read the district"
            mover = threading.Thread(target=move)
            mover.start()
            deadline = time.monotonic() + 10
            while _lock_waiters() == 0 and mover.is_alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            waited = mover.is_alive() and _lock_waiters() == 1
            go.set()
            request.join(30)
            mover.join(30)
            assert not request.is_alive() and not mover.is_alive()
            assert waited, "the import did not wait for the API's Form 04"

            ((status, answer),) = answers
            assert status == 201, answer
            assert (answer["claim"]["district_code"], answer["claim"]["unit_code"]) == ("017", rows.unit.unit_code)
            result = outcome["result"]
            assert (result.updated, result.rejected) == (0, 1)
            assert [error.error_code for error in result.errors] == ["unit_has_claims"]
            db.session.expire_all()
            assert db.session.get(Employer, unit_id).district_code == "017"
            written = db.session.get(Claim, answer["claim"]["id"])
            assert (written.district_code, written.employer_id) == ("017", unit_id)
        finally:
            go.set()
            rows.clean()
            db.session.remove()
