"""The admins' health page with a real Celery worker on real Redis: the worker answers the page's ping and is
listed alive by name; the scheduled tasks' last runs it records."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta

from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user


def test_the_health_page_lists_a_live_worker(client, db_session, celery_worker):
    sign_in(client, create_user("admin", password=PASSWORD))
    html = client.get("/admin/health").get_data(as_text=True)
    # The worker's own name (tests/real_worker.py) in the sentence that counts them: nothing dangles after the colon.
    status = re.search(r'<p id="workers-status">([^<]*)</p>', html)
    assert status and re.fullmatch(
        rf"\d+ tiến trình đang hoạt động: (\S+, )*test-{os.getpid()}@[^,\s]+(, \S+)*\.", status.group(1)
    )
    assert "Không có tiến trình xử lý nào trả lời" not in html


def test_the_health_page_shows_each_scheduled_tasks_last_run_and_the_late_ones(client, app, db_session, celery_worker):
    """The real worker records a scheduled task's run as it ends; a task whose next run is long overdue is flagged
    (beat or the workers stopped), and one that failed says how."""
    import redis

    from disburse.background import LAST_RUNS_KEY, record_run

    store = redis.Redis.from_url(app.config["REDIS_URL"])
    store.delete(LAST_RUNS_KEY)
    try:
        app.extensions["celery"].send_task("sweepers.jobs")  # as beat sends it
        deadline = time.monotonic() + 30
        while not store.hexists(LAST_RUNS_KEY, "sweepers.jobs") and time.monotonic() < deadline:
            time.sleep(0.2)
        now = datetime.now(UTC)
        record_run(app.config, "payments.reconcile", now - timedelta(days=3), 1.5, None)  # daily, 3 days ago
        record_run(app.config, "sweepers.rollups", now - timedelta(minutes=5), 0.2, "OperationalError")

        sign_in(client, create_user("admin", password=PASSWORD))
        html = client.get("/admin/health").get_data(as_text=True)
        jobs_row = re.search(r'<tr id="run-abandoned-jobs">(.*?)</tr>', html, re.S)
        assert jobs_row and "Xong" in jobs_row.group(1) and "trễ" not in jobs_row.group(1)
        assert re.search(r"\d\d/\d\d/20\d\d \d\d:\d\d:\d\d", jobs_row.group(1))
        reconcile_row = re.search(r'<tr id="run-payments-reconcile">(.*?)</tr>', html, re.S)
        assert reconcile_row and "trễ" in reconcile_row.group(1)
        rollups_row = re.search(r'<tr id="run-rollup-repair">(.*?)</tr>', html, re.S)
        assert rollups_row and "Lỗi: OperationalError" in rollups_row.group(1) and "trễ" not in rollups_row.group(1)
        assert "Có 1 việc định kỳ chạy trễ" in html
        assert "Chưa thấy chạy" in html  # the rest, never run here
    finally:
        store.delete(LAST_RUNS_KEY)
        store.close()


def test_the_health_page_says_when_redis_cannot_tell_the_last_runs(app_on_redis, dead_redis_url, db_session):
    from disburse.admin import service

    other = app_on_redis(dead_redis_url)
    with other.test_request_context():
        schedule, known = service.beat_schedule()
    assert known is False and all(row.last is None and not row.late for row in schedule)
