"""The import as a background job: the task function called directly (a real worker test is elsewhere)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.registry.test_import_support import employee_row, employer_row, read_errors, stored_si_codes, write_csv
from workers.imports import run_import


def _job(kind: str, path: Path, tmp_path: Path, **params: object) -> int:
    job = jobs.create_job(
        f"import.{kind}", {"path": str(path), "errors_path": str(tmp_path / "job-errors.csv"), **params}
    )
    db.session.commit()
    return job.id


def test_job_imports_and_records_the_result(db_session: Session, tmp_path: Path) -> None:
    rows = [employer_row(), employer_row(sector="bank"), employer_row()]
    job_id = _job("employers", write_csv(tmp_path / "u.csv", "employers", rows), tmp_path)

    run_import(job_id)

    job = db_session.get(Job, job_id)
    assert job is not None
    db_session.refresh(job)
    assert job.state == "succeeded"
    assert job.started_at is not None and job.finished_at is not None and job.heartbeat_at is not None
    assert (job.done, job.total) == (3, 3)
    assert job.result is not None
    assert (job.result["inserted"], job.result["rejected"], job.result["exit_code"]) == (2, 1, 1)
    assert job.result["errors_path"] == str(tmp_path / "job-errors.csv")
    assert [e["row"] for e in read_errors(tmp_path / "job-errors.csv")] == ["3"]
    stored = db_session.execute(
        text("SELECT count(*) FROM employers WHERE unit_code = ANY(:u)"), {"u": [r["unit_code"] for r in rows]}
    ).scalar_one()
    assert stored == 2


def test_job_runs_once_even_when_the_task_is_delivered_twice(db_session: Session, tmp_path: Path) -> None:
    rows = [employer_row()]
    job_id = _job("employers", write_csv(tmp_path / "u.csv", "employers", rows), tmp_path)
    run_import(job_id)
    run_import(job_id)  # redelivery: the job is no longer queued, the task returns quietly
    job = db_session.get(Job, job_id)
    assert job is not None and job.state == "succeeded"
    assert job.result is not None and job.result["inserted"] == 1


def test_strict_job_with_rejected_rows_fails_and_lands_nothing(db_session: Session, tmp_path: Path) -> None:
    unit = employer_row()
    write_csv(tmp_path / "unit.csv", "employers", [unit])
    run_import(_job("employers", tmp_path / "unit.csv", tmp_path))
    rows = [employee_row(unit["unit_code"]), employee_row(unit["unit_code"], national_id="1")]
    job_id = _job("employees", write_csv(tmp_path / "e.csv", "employees", rows), tmp_path, strict=True)

    run_import(job_id)

    job = db_session.get(Job, job_id)
    assert job is not None and job.state == "failed"
    assert job.error is not None and "không nhập dòng nào" in job.error  # the form's words for strict
    assert job.result is not None and job.result["rejected"] == 1 and job.result["applied"] is False
    assert stored_si_codes([r["si_code"] for r in rows]) == set()


def test_unusable_file_fails_the_job_with_a_message(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    job_id = _job("employees", path, tmp_path)
    run_import(job_id)
    job = db_session.get(Job, job_id)
    assert job is not None and job.state == "failed"
    assert job.result is not None and job.result["exit_code"] == 2
    assert "PDF" in (job.error or "")


def test_progress_is_written_in_its_own_transaction(app: Flask, tmp_path: Path) -> None:
    """Outside the rolled-back test transaction, so that another connection can see the progress."""
    with app.app_context():
        job = jobs.create_job("import.employees", {"path": str(tmp_path / "x.csv")})
        db.session.commit()
        job_id = job.id
        try:
            assert jobs.progress(job_id, 10, 100) is False  # only a running job takes progress
            assert jobs.start(job_id) is not None
            db.session.commit()
            assert jobs.progress(job_id, 10, 100) is True
            with db.engine.connect() as other:
                seen = other.execute(
                    text("SELECT done, total, heartbeat_at IS NOT NULL FROM jobs WHERE id = :i"), {"i": job_id}
                ).one()
            assert tuple(seen) == (10, 100, True)

            # While another transaction holds the row, progress is skipped instead of waiting.
            locker = db.engine.connect()
            try:
                locker.execute(text("SELECT 1 FROM jobs WHERE id = :i FOR UPDATE"), {"i": job_id})
                assert jobs.progress(job_id, 20, 100) is False
            finally:
                locker.rollback()
                locker.close()
        finally:
            db.session.rollback()
            db.session.execute(text("DELETE FROM jobs WHERE id = :i"), {"i": job_id})
            db.session.commit()
