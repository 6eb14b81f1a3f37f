"""Long-running background jobs (imports, list builds, exports) with progress the UI and CLI can show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import db

JOB_STATES = ("queued", "running", "succeeded", "failed")


class Job(db.Model):  # type: ignore[name-defined]
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed')", name="state_known"),
        CheckConstraint("done >= 0 AND (total IS NULL OR total >= 0)", name="progress_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What runs, e.g. "import.employees", "lists.build".
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), server_default=text("'queued'"))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    #: Units of work done and expected (rows for imports); total is NULL while unknown.
    done: Mapped[int] = mapped_column(server_default=text("0"))
    total: Mapped[int | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Updated while running; a sweeper fails jobs whose heartbeat is stale.
    heartbeat_at: Mapped[datetime | None]

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return min(100.0, 100.0 * self.done / self.total)
