"""The admins' pages: an admin signed in through the real sign-in form, and the export and upload folders in the
test's own temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user


@pytest.fixture
def folders(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    exports, uploads = tmp_path / "exports", tmp_path / "uploads"
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIR", str(exports))
    monkeypatch.setitem(app.config, "DISBURSE_UPLOAD_DIR", str(uploads))
    return {"exports": exports, "uploads": uploads}


@pytest.fixture
def admin(db_session: Any) -> Any:
    return create_user("admin", password=PASSWORD, full_name="Quản Trị Viên")


@pytest.fixture
def admin_client(client: Any, admin: Any) -> Any:
    sign_in(client, admin)
    return client
