"""A unit keeps its district while claims are worked there: an employers file moving such a unit is refused on that
row, with the district it keeps named in both languages, the rest of the file going on (an explorer's import moved
DN01000017 from Đông Anh (017) to 018 and split it from its claims: the unit's page and the queue's unit filter
followed the unit, the claims, their cash lists and figures stayed). A person's district may change: their Form 04
claim keeps the district it was made in, and stays whole there."""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import date
from typing import Any

from sqlalchemy import select, text

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.registry import importer
from disburse.registry.models import Employee, Employer
from tests.conftest import PASSWORD, delete_committed_program, sign_in
from tests.factories import create_claim, create_employee, create_program, create_user
from tests.registry.test_import_support import (
    employee_row,
    employer_row,
    read_errors,
    seed_employer,
    unit_code,
    write_csv,
)


def _unit(code: str) -> Employer:
    unit = db.session.scalar(select(Employer).where(Employer.unit_code == code))
    assert unit is not None
    db.session.refresh(unit)
    return unit


def _row_of(unit: Employer, **changes: str) -> dict[str, str]:
    """The unit's row as the registry holds it, with ``changes``."""
    stored = {
        "unit_code": unit.unit_code,
        "name": unit.name,
        "tax_code": unit.tax_code or "",
        "district_code": unit.district_code,
        "address": unit.address or "",
        "email": unit.email or "",
        "phone": unit.phone or "",
    }
    return employer_row(**{**stored, **changes})


def test_a_unit_with_claims_in_its_district_is_not_moved_and_the_rest_of_the_file_goes_on(db_session, tmp_path):
    worked = _unit(seed_employer(tmp_path))  # a claim of its people is worked in Đông Anh (017), its district
    create_claim(employee=create_employee(employer_id=worked.id))
    elsewhere = _unit(seed_employer(tmp_path))  # only a Form 04 claim of a person of Mê Linh (250), worked there
    applicant = create_employee(
        employer_id=elsewhere.id, district_code="250", ui_status="stopped", ui_stopped_on=date(2021, 6, 30)
    )
    create_claim("applied", employee=applicant)
    idle = _unit(seed_employer(tmp_path))  # no claim at all
    new = employer_row()
    rows = [
        _row_of(worked, district_code="018", name="Công ty đã chuyển"),
        _row_of(elsewhere, district_code="018"),
        _row_of(idle, district_code="018"),
        new,
    ]

    errors_out = tmp_path / "errors.csv"
    result = importer.import_file("employers", write_csv(tmp_path / "e.csv", "employers", rows), errors_out=errors_out)

    assert (result.inserted, result.updated, result.rejected, result.exit_code) == (1, 2, 1, 1)
    assert (_unit(worked.unit_code).district_code, _unit(worked.unit_code).name) == ("017", worked.name)
    assert _unit(elsewhere.unit_code).district_code == "018" and _unit(idle.unit_code).district_code == "018"
    [error] = read_errors(errors_out)
    assert (error["row"], error["column"], error["value"], error["error_code"]) == (
        "2",
        "district_code",
        "018",
        "unit_has_claims",
    )
    assert error["message_vi"].startswith("Đơn vị đang thuộc quận/huyện mã 017, nơi đang xử lý hồ sơ hỗ trợ của đơn vị")
    assert "«018»" in error["message_vi"] and "hãy ghi mã quận/huyện 017" in error["message_vi"]
    assert error["message_en"].startswith("The unit is in district 017, which works the unit's support claims")
    assert "district '018'" in error["message_en"] and "write district 017" in error["message_en"]

    # The same unit, its district as it is: the rest of its row is imported.
    again = importer.import_file(
        "employers", write_csv(tmp_path / "e2.csv", "employers", [_row_of(worked, name="Công ty đổi tên")])
    )
    assert (again.updated, again.rejected) == (1, 0) and _unit(worked.unit_code).name == "Công ty đổi tên"


def test_the_admins_upload_refuses_the_move_and_the_district_keeps_the_unit_and_its_claims(
    client, app, tmp_path, monkeypatch, broker
):
    """The explorer's way: the upload page and the job; the job says a row was refused, the errors file why, and the
    Đông Anh caseworker still opens the unit and its claim."""
    from workers.imports import run_import

    for setting, folder in (("DISBURSE_EXPORT_DIR", "exports"), ("DISBURSE_UPLOAD_DIR", "uploads")):
        monkeypatch.setitem(app.config, setting, str(tmp_path / folder))
    unit = _unit(seed_employer(tmp_path))
    claim = create_claim(employee=create_employee(employer_id=unit.id))
    admin = create_user("admin", password=PASSWORD)
    sign_in(client, admin)
    content = write_csv(tmp_path / "move.csv", "employers", [_row_of(unit, district_code="018")]).read_bytes()
    answer = client.post(
        "/admin/imports",
        data={"kind": "employers", "file": (io.BytesIO(content), "don-vi.csv")},
        content_type="multipart/form-data",
    )
    job_id = int(re.fullmatch(r"/jobs/(\d+)", answer.headers["Location"]).group(1))
    run_import(job_id)
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.state == "succeeded" and (job.result["updated"], job.result["rejected"]) == (0, 1)
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "<dt>Bị từ chối</dt><dd>1</dd>" in html and "Cập nhật</dt><dd>1" not in html
    with client.get(f"/jobs/{job_id}/download") as download:
        assert "unit_has_claims" in download.data.decode("utf-8-sig")
    assert _unit(unit.unit_code).district_code == "017"

    client.post("/logout")
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    assert client.get(f"/employers/{unit.unit_code}").status_code == 200
    assert client.get(f"/caseworker/claims/{claim.id}").status_code == 200


def test_a_claim_written_while_the_import_checks_is_waited_for(app, tmp_path):
    """A claim of the unit being written (its transaction open) when the import looks: the import waits for it, then
    sees it and refuses the move; on connections of their own, committed, then removed."""
    with app.app_context():
        program = create_program()
        unit = Employer(unit_code=unit_code(), name="Công ty Đông Anh", sector="enterprise", district_code="017")
        db.session.add(unit)
        db.session.flush()
        person = create_employee(employer_id=unit.id)
        db.session.commit()
        ids = {"program": program.id, "unit": unit.id, "person": person.id}
        row = _row_of(unit, district_code="018")
        db.session.remove()
    writer = None
    outcome: dict[str, Any] = {}
    try:
        path = write_csv(tmp_path / "move.csv", "employers", [row])
        with app.app_context():
            writer = db.engine.connect()
            writer.begin()
            writer.execute(  # as a list build or a form writes it (made without its event: the test removes it)
                text(
                    "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,"
                    " unused_months, amount_vnd, state) VALUES (:program, :person, :unit, '017', 'A', 'A', 24,"
                    " 2100000, 'listed')"
                ),
                ids,
            )

            def run() -> None:
                with app.app_context():
                    try:
                        outcome["result"] = importer.import_file("employers", path)
                        db.session.commit()
                    finally:
                        db.session.remove()

            thread = threading.Thread(target=run)
            thread.start()
            deadline = time.monotonic() + 10
            waits = text(
                "SELECT EXISTS (SELECT FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
            )
            while not writer.execute(waits).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert writer.execute(waits).scalar_one(), "the import did not wait for the claim being written"
            writer.commit()
            thread.join(30)
            assert not thread.is_alive()
            result = outcome["result"]
            assert (result.updated, result.rejected) == (0, 1)
            assert [e.error_code for e in result.errors] == ["unit_has_claims"]
            assert db.session.get(Employer, ids["unit"]).district_code == "017"
    finally:
        with app.app_context():
            if writer is not None:
                writer.rollback()
                writer.close()
            delete_committed_program(ids["program"], ids["unit"])
            db.session.remove()


def test_a_person_moving_district_is_imported_and_their_form_04_claim_stays_whole_where_it_is_worked(client, tmp_path):
    """The same class for people: a person's district decides where a new Form 04 is made and the outreach list of
    people without a claim, never where a claim is worked. Their claim keeps its district: it is opened, queued and
    paid by the office that has it, and only there."""
    unit = seed_employer(tmp_path)
    row = employee_row(unit, ui_status="stopped", ui_stopped_on="2021-06-30")
    importer.import_file("employees", write_csv(tmp_path / "p.csv", "employees", [row]))
    person = db.session.scalar(select(Employee).where(Employee.si_code == row["si_code"]))
    claim = create_claim("needs_review", employee=person, track="B", support_group="B")
    assert claim.district_code == "017"

    moved = importer.import_file(
        "employees", write_csv(tmp_path / "p2.csv", "employees", [{**row, "district_code": "018"}])
    )

    assert (moved.updated, moved.rejected) == (1, 0)
    db.session.refresh(person)
    assert person.district_code == "018" and db.session.get(Claim, claim.id).district_code == "017"
    old_office = create_user("caseworker", district="017", password=PASSWORD)
    new_office = create_user("caseworker", district="018", password=PASSWORD)
    sign_in(client, old_office)
    assert client.get(f"/caseworker/claims/{claim.id}").status_code == 200
    assert f"/caseworker/claims/{claim.id}" in client.get("/caseworker/queue").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, new_office)
    assert client.get(f"/caseworker/claims/{claim.id}").status_code == 404
    outreach = client.get("/caseworker/outreach?kind=no_application").get_data(as_text=True)
    assert row["si_code"] not in outreach  # they have a claim: not on the new office's list of people to reach
