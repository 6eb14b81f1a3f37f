"""Every kind of background job that writes a file for people to download gives it in the jobs' one result shape
(``{"file": <name inside DISBURSE_EXPORT_DIR>, "filename": <download name>}``), so that whenever a job's page offers
"Tải tệp kết quả", the download answers 200 with the very file the job wrote. Each kind is started as a user starts it
and run by its real task body (real PostgreSQL); a kind of job the workers run that is not listed here fails
:func:`test_every_kind_of_job_is_listed`."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from disburse.extensions import db
from disburse.jobs.models import Job
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user
from tests.jobs.starts import (
    FORM_02_DAY,
    refuse_someone,
    start_export,
    start_form_02,
    start_import,
    start_lists_build,
    start_notices,
)

WORKERS = Path(__file__).resolve().parents[2] / "workers"


@dataclass(frozen=True)
class Kind:
    """How to start a job of the kind as an admin (given the signed-in client and the admin), and whether the job,
    given something to write, offers a file."""

    start: Callable[[Any, Any], int]
    writes_a_file: bool


#: Every kind of job, by the prefix its task runs it under (``run_job(job_id, "<prefix>", work)``).
KINDS: dict[str, Kind] = {
    "import.": Kind(lambda client, _admin: start_import(client), True),  # the refused rows
    "export.": Kind(lambda client, _admin: start_export(client, "district=017"), True),  # a dashboard table
    "notices.": Kind(lambda client, _admin: start_notices(client, "017"), True),  # a day's refusal notices
    "lists.": Kind(lambda _client, admin: start_lists_build(admin), False),  # claims, no file
    "form02.": Kind(lambda client, _admin: start_form_02(client), True),  # a large Form 02's refused rows
}


def _run_job_prefixes() -> set[str]:
    """The kind prefix of every ``run_job(…)`` call in the workers' task modules: every kind of job there is."""
    found: set[str] = set()
    for path in sorted(WORKERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "run_job":
                prefix = node.args[1] if len(node.args) > 1 else None
                assert isinstance(prefix, ast.Constant) and isinstance(prefix.value, str), (
                    f"{path.name}: {ast.dump(node)}"
                )
                found.add(prefix.value)
    return found


def test_every_kind_of_job_is_listed():
    assert _run_job_prefixes() == set(KINDS), "add the new kind of job to KINDS (how a user starts it)"


@pytest.mark.parametrize("prefix", sorted(KINDS))
def test_a_job_whose_page_offers_its_file_serves_that_file(
    app, client, folders, broker, exports_by_job, monkeypatch, prefix
):
    monkeypatch.setitem(app.config, "DISBURSE_FORM_02_INLINE_BYTES", 0)  # every Form 02 is read by a job
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", FORM_02_DAY)
    kind = KINDS[prefix]
    admin = create_user("admin", password=PASSWORD)
    refuse_someone("017", "Trần Văn Bình")  # a refusal for the notices, a unit's row for the export
    sign_in(client, admin)
    job_id = kind.start(client, admin)
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    assert job.kind.startswith(prefix) and job.state == "succeeded", job.error
    result = job.result or {}

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    status = client.get(f"/jobs/{job_id}.json").get_json()
    offered = 'id="job-download" hidden' not in page
    assert offered == kind.writes_a_file, page
    assert "path" not in result, "one shape for a file: file and filename, never a path of the machine"
    if not offered:
        assert status["download"] is None
        with client.get(f"/jobs/{job_id}/download") as download:
            assert download.status_code == 404
        return

    assert isinstance(result.get("file"), str) and isinstance(result.get("filename"), str), result
    written = Path(app.config["DISBURSE_EXPORT_DIR"]) / result["file"]
    assert written.is_file() and written.resolve().is_relative_to(folders["exports"].resolve())
    assert f'href="/jobs/{job_id}/download"' in page and "Tải tệp kết quả" in page and result["filename"] in page
    assert status["download"] == f"/jobs/{job_id}/download"
    with client.get(f"/jobs/{job_id}/download") as download:
        assert download.status_code == 200
        assert download.data == written.read_bytes() and download.data
        assert "attachment" in download.headers["Content-Disposition"]
        assert result["filename"] in download.headers["Content-Disposition"]
