"""``imports.run``: a registry import as a background job (the web upload's path; the CLI runs the same code).

Thin, as every task: :func:`disburse.jobs.service.run_job` starts the job (guarded, so a redelivery does nothing),
the importer does the work in one transaction, and the rows and the job's outcome commit together. Progress goes
to the job row in short separate transactions while the import's own transaction runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import shared_task

from disburse.formatting import number
from disburse.jobs.models import Job
from disburse.jobs.service import JobFailed, Progress, export_dir, run_job
from disburse.registry.importer import UnusableFile, import_file, normalise_kind


def errors_name_for(job_id: int) -> str:
    """The errors file of import job ``job_id``, inside the export directory (so that the job's page offers it)."""
    return f"imports/job-{job_id}-errors.csv"


def errors_path_for(job_id: int) -> Path:
    return export_dir() / errors_name_for(job_id)


def _import(job: Job, progress: Progress) -> dict[str, Any]:
    params = job.params
    errors_out = Path(params["errors_path"]) if params.get("errors_path") else errors_path_for(job.id)
    try:
        result = import_file(
            normalise_kind(job.kind.removeprefix("import.")),
            Path(params["path"]),
            errors_out=errors_out,
            strict=bool(params.get("strict", False)),
            progress=progress,
        )
    except UnusableFile as exc:
        raise JobFailed(exc.message_vi, exc.message_en, {"exit_code": 2}) from exc
    summary = result.as_dict()
    if not params.get("errors_path") and summary.get("errors_path") and summary.get("rejected"):
        # The job's page offers the refused rows for download (the jobs' result contract: file and filename).
        summary |= {"file": errors_name_for(job.id), "filename": f"loi-nhap-{job.id}.csv"}
    if not result.applied:
        raise JobFailed(
            f"{number(result.rejected, locale='vi')} dòng bị từ chối; đã chọn không nhập dòng nào nếu có dòng bị từ "
            "chối, nên không dòng nào được nhập. Sửa các dòng trong tệp lỗi rồi tải lên lại.",
            f"{number(result.rejected, locale='en')} rows rejected; nothing was imported, as chosen when any row is "
            "rejected. Fix the rows of the errors file and upload the file again.",
            summary,
        )
    return summary


@shared_task(name="imports.run")
def run_import(job_id: int) -> None:
    """Run the import job ``job_id`` (kind ``import.<employers|employees|salary_funds>``, params {path, strict})."""
    run_job(job_id, "import.", _import)
