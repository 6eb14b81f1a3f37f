"""Fixtures of the jobs' tests: the export and upload folders in the test's own temporary directory, the app's
Celery on a Redis database of the test's own (tasks sent by the pages wait there, never reach a worker), every
dashboard export made by a job, and an admin signed in on a client of their own."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.admin.conftest import PASSWORD, folders, sign_in  # noqa: F401 - the fixture
from tests.factories import create_user


@pytest.fixture
def exports_by_job(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 0)  # every dashboard export is a job


@pytest.fixture
def other_admin(app: Flask, db_session: Any) -> Any:
    """A client signed in as an admin (who moves users, and sees every job)."""
    admin = create_user("admin", password=PASSWORD)
    client = app.test_client()
    sign_in(client, admin)
    return client
