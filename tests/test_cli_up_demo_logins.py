"""``disburse up --demo`` says the demo's log-ins once, when everything answers: reusing a demo already there, the
"Đăng nhập demo / Demo log-ins" block was printed as the demo was found, then again with "disburse is running", twice
on one screen. The demo's other lines (seeded, or found and used as it is) are said as the demo is prepared."""

from __future__ import annotations

import pytest

from disburse import cli, demo

FOUND = [
    "Demo NQ116-DEMO đã có sẵn (hạn danh sách 01/01/2027): dùng lại như đang có; … / The NQ116-DEMO demo is already "
    "here (list deadline 01/01/2027): used as it is; …",
    "",
    "Đăng nhập demo / Demo log-ins:",
    "  Quản trị viên / Administrator: admin@demo.example  mật khẩu / password: demo-admin",
    "  Cán bộ / Caseworker (quận/huyện 001): case@demo.example  mật khẩu / password: demo-case",
]


@pytest.fixture
def demo_env(monkeypatch):
    for name in ("DISBURSE_PROGRAM", "DISBURSE_PAYMENT_BATCH_EVERY_S", "DISBURSE_BACKLOG_EVERY_S"):
        monkeypatch.setenv(name, "kept")  # _prepare_demo sets only what is not set: nothing left changed
    monkeypatch.setattr(demo, "ensure_demo", lambda **_: list(FOUND))


def test_up_says_a_found_demos_logins_once(app, demo_env, capsys):
    with app.app_context():
        lines = cli._prepare_demo(app, 5, 50)
    running = cli._running_lines(lines, "127.0.0.1", 5000)
    said = capsys.readouterr().out + running
    assert said.count("Đăng nhập demo / Demo log-ins") == 1, said
    assert said.count("admin@demo.example") == 1 and said.count("case@demo.example") == 1, said
    assert FOUND[0] in said.split("Đăng nhập demo")[0]  # the demo found, said as it is prepared
    assert running.index("Demo log-ins") < running.index("disburse is running at http://127.0.0.1:5000/")


def test_up_without_a_demo_says_where_it_runs(app):
    running = cli._running_lines([], "127.0.0.1", 8080).strip().splitlines()
    assert running == [
        "disburse đang chạy tại http://127.0.0.1:8080/  (Ctrl-C để dừng)",
        "disburse is running at http://127.0.0.1:8080/  (Ctrl-C to stop)",
    ]
