"""The admins' pages: an admin signed in through the real sign-in form, and the export and upload folders in the
test's own temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from disburse.extensions import db
from tests.factories import create_user

PASSWORD = "mat-khau-rat-dai"


def sign_in(client: Any, user: Any, locale: str = "vi") -> None:
    user.locale = locale
    db.session.commit()  # a view that rolls back a refused change must not take the locale with it
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


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
