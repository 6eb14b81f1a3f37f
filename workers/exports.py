"""``exports.dashboard``: a dashboard table, the backlog's overdue units or the recoveries, too large to download at
once, written by a background job into the export folder (``DISBURSE_EXPORT_DIR``); the job's page (``jobs.show``)
shows its progress, then the link.

Thin: :func:`disburse.jobs.service.run_job` starts the job (a redelivery does nothing), the file is written, and the
job's result names it (``{"file": <name in the folder>, "filename": <download name>, "total_rows": n}``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import shared_task
from flask import current_app

from disburse.dashboard.exports import (
    OVERDUE_UNITS_TABLE,
    RECOVERIES_TABLE,
    write_overdue_units,
    write_recoveries,
    write_table,
)
from disburse.dashboard.queries import TableQuery
from disburse.jobs.models import Job
from disburse.jobs.service import Progress, run_job
from disburse.programs.calendar import programme_today
from disburse.reports.service import Area


def _export(job: Job, progress: Progress) -> dict[str, Any]:
    params = job.params
    name = f"job-{job.id}.{params['format']}"
    folder = Path(current_app.config["DISBURSE_EXPORT_DIR"])
    area = Area(params.get("province"), params.get("district"))
    if params["table"] == OVERDUE_UNITS_TABLE:  # the backlog's overdue units, on the programme's day of the job
        rows = write_overdue_units(
            params["program_id"], area, programme_today(), params["format"], folder / name, progress
        )
        return {"file": name, "filename": params["filename"], "total_rows": rows}
    if params["table"] == RECOVERIES_TABLE:  # the recoveries of the area, in the state asked for
        rows = write_recoveries(
            params["program_id"], area, params.get("state"), params["format"], folder / name, progress
        )
        return {"file": name, "filename": params["filename"], "total_rows": rows}
    query = TableQuery(
        area,
        params["table"],
        params["sort"],
        bool(params["descending"]),
        None,
    )
    rows = write_table(params["program_id"], query, params["format"], folder / name, progress)
    return {"file": name, "filename": params["filename"], "total_rows": rows}


@shared_task(name="exports.dashboard", acks_late=True)
def export_dashboard(job_id: int) -> None:
    """Write the table the queued job ``job_id`` (kind ``export.dashboard``) describes."""
    run_job(job_id, "export.", _export)
