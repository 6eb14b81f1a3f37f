"""The admins' health page with a real Celery worker on real Redis: the worker answers the page's ping and is
listed alive by name."""

from __future__ import annotations

import os

from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user


def test_the_health_page_lists_a_live_worker(client, db_session, celery_worker):
    sign_in(client, create_user("admin", password=PASSWORD))
    html = client.get("/admin/health").get_data(as_text=True)
    assert "tiến trình đang hoạt động:" in html
    assert f"<li>test-{os.getpid()}@" in html  # the worker's own name (tests/real_worker.py)
    assert "Không có tiến trình xử lý nào trả lời" not in html
