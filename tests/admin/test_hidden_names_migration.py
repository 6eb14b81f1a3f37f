"""Migration 0043: a name kept before names were checked, with a hidden character in it, is written out in the row
("Nguyễn [U+202E]oảB nằV"), so that every page that prints it (the "give to" list, the productivity table, the
timeline) shows what it holds, not "Nguyễn Văn Bảo"; other names, and their white space, are left as they are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text

from disburse.extensions import db


def _upgrade() -> None:
    root = Path(__file__).resolve().parents[2]
    path = root / "migrations/versions/0043_names_hidden_characters_written_out.py"
    spec = importlib.util.spec_from_file_location("m0043", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration.upgrade()


def test_hidden_characters_kept_in_names_are_written_out(db_session):
    names = {
        "Nguyễn \u202eoảB nằV": "Nguyễn [U+202E]oảB nằV",
        "Lê\u200bThị": "Lê[U+200B]Thị",
        "Trần Văn An": "Trần Văn An",
        "Hai\tdòng": "Hai\tdòng",
    }
    ids = {
        name: db.session.scalar(
            text("INSERT INTO users (email, role, full_name) VALUES (:e, 'admin', :n) RETURNING id"),
            {"e": f"u{n}@bhxh.example.vn", "n": name},
        )
        for n, name in enumerate(names)
    }
    _upgrade()
    read = text("SELECT full_name FROM users WHERE id = :i")
    now = {name: db.session.scalar(read, {"i": ids[name]}) for name in names}
    assert now == names
