"""An employer in the browser: uploads a Form 02 sheet with one bad row, sees the error, fixes the row, sends the
file again and sees the statuses on the unit's status page; then the back office runs for real and the employer,
reloading the page, sees the people paid and the unit's completion move. Each page checked by axe-core and
photographed.

The back office is what `disburse up` runs, in processes of their own: the sandbox bank (``disburse sandbox
serve`` on a free port: no failures, a short delay, calling back our live server) and a Celery worker on every
queue with beat inside it (payment batches every second). The worker starts only once the corrected Form 02 is
accepted: the verification tasks the forms asked for wait in Redis until then. The worker and the browser's server
share the programme's clock (``DISBURSE_TODAY``). Redis database 10 is these tests' own broker (the suite's is 15,
the worker tests' 11 and 12). What the run left there, in the bank's tables and among the received callbacks is
removed afterwards; the committed rows, with the payments and their batches, by :class:`tests.e2e.conftest.Committed`.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import text

from disburse.background import QueueNames
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.formatting import vnd
from disburse.registry.models import Employee
from disburse.sandbox.models import clear
from tests.celery_workers import stop, wait_for_ping, worker_command
from tests.e2e.conftest import TODAY, main_page, sign_in
from tests.runtime.test_up import _free_port
from tests.workers.test_payment_worker import CALLBACKS, broker

pytestmark = [pytest.mark.e2e, pytest.mark.worker]  # BackOffice starts its own worker (with beat)

HEADER = ["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"]
#: From the start of the back office to the people shown paid (it takes some 10 s on a quiet machine).
PAID_WITHIN_S = 60.0


def _sheet(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(lines)
    return path


class BackOffice:
    """The sandbox bank (started at once: it only answers), and on :meth:`start` a Celery worker with beat inside it
    (``-B``), configured as `disburse up` runs them."""

    def __init__(self, app: Flask, database_url: str, broker_url: str, callback_url: str, folder: Path) -> None:
        self.app = app
        self.folder = folder
        port = _free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DISBURSE_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "DISBURSE_TODAY": TODAY,
            "DISBURSE_SANDBOX_URL": self.sandbox_url,
            "DISBURSE_SANDBOX_CALLBACK_URL": callback_url,
            "DISBURSE_SANDBOX_DELAY_S": "0.5",
            "DISBURSE_SANDBOX_FAILURE_RATE": "0",
            "DISBURSE_SANDBOX_RETURN_RATE": "0",
            "DISBURSE_PAYMENT_BATCH_EVERY_S": "1",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.bank = self._spawn("disburse.cli", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(port))

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", *args], env=self.env)  # noqa: S603 - our interpreter, fixed
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        beat = ("--beat", "--schedule", str(self.folder / "celerybeat-schedule"))
        worker = self._spawn(*worker_command(",".join(QueueNames.all()), "e2e", "WARNING", *beat)[2:])
        self._wait_for_bank()
        wait_for_ping(self.app, worker, "e2e")

    def _wait_for_bank(self) -> None:
        """The bank answers (401 without our token) once it listens."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.bank.poll() is not None:
                pytest.fail(f"the sandbox bank exited with code {self.bank.returncode}")
            try:
                urllib.request.urlopen(self.sandbox_url + "/statement", timeout=1).close()  # noqa: S310 - our own
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail("the sandbox bank did not listen within 30 s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            stop(proc)


@pytest.fixture
def back_office(
    app: Flask, database_url: str, own_redis_url: str, live_server: str, committed: Any, tmp_path: Path
) -> Iterator[BackOffice]:
    """From the start of the test, the app's tasks go to the run's own Redis database (and wait there); the processes
    start on :meth:`BackOffice.start`. Stopped before the committed rows are removed (this fixture uses
    ``committed``)."""
    with broker(app, own_redis_url) as url:
        events_before, since = db.session.execute(text("SELECT coalesce(max(id), 0), now() FROM provider_events")).one()
        db.session.rollback()
        office = BackOffice(app, database_url, url, live_server + CALLBACKS, tmp_path)
        try:
            yield office
        finally:
            office.stop()
            db.session.rollback()
            db.session.execute(text("DELETE FROM provider_events WHERE id > :id"), {"id": events_before})
            # Beat's hourly completion snapshots, should xx:05 have struck while the worker ran.
            db.session.execute(text("DELETE FROM completion_snapshots WHERE taken_at >= :since"), {"since": since})
            db.session.commit()
            if db.session.execute(text("SELECT to_regclass('sandbox.transfers')")).scalar_one() is not None:
                db.session.rollback()
                clear(db.engine)  # the bank's tables (the bank makes them when it starts)


def reload_until(page: Any, look: Callable[[], None], *, timeout_s: float) -> None:
    """Reload the page until ``look`` (expectations, each waiting a second at most) passes on one rendering of it, as
    a person would reload until they see the news."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.reload()
        try:
            look()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_an_employer_sends_form_02_fixes_a_bad_row_and_sees_the_people_paid(
    page, committed, back_office, tmp_path, locale
):
    en = locale == "en"
    unit = committed.unit(name="Công ty TNHH May Thử")
    names = ["Trần Thị Ánh", "Lê Văn Bình", "Đỗ Minh Đức"]
    people = [committed.claim("listed", person={"employer_id": unit.id, "full_name": name}) for name in names]
    employer = committed.user("employer", locale, employer_unit=unit.unit_code)
    committed.commit()
    si = [db.session.get(Employee, claim.employee_id).si_code for claim in people]

    sign_in(page, employer)
    main_page(page, f"home-employer-{locale}")
    page.goto(f"/employers/{unit.unit_code}")
    for name in names:
        expect(page.locator("tr", has_text=name)).to_contain_text("Listed" if en else "Đã lập danh sách")
    main_page(page, f"employer-status-before-{locale}")

    page.goto(f"/employers/{unit.unit_code}/form-02")
    main_page(page, f"employer-form-02-{locale}")
    bad = [[si[0], "VCB", "0071000123456", ""], [si[1], "", "", "x"], [si[2], "KHONGCO", "0071000999999", ""]]
    page.set_input_files("#file", str(_sheet(tmp_path / "mau02.csv", bad)))
    page.get_by_role("button", name="Send Form 02" if en else "Gửi Mẫu số 02").click()
    result = page.locator("section.result")
    expect(result).to_contain_text("Confirmed: 1 person" if en else "Xác nhận: 1 người")
    expect(result).to_contain_text("Rows refused: 1" if en else "Dòng bị từ chối: 1")
    refused = result.locator("tbody tr")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("KHONGCO")
    main_page(page, f"employer-form-02-refused-{locale}")

    # The row fixed, the whole file sent again: the rows already taken do not change.
    bad[2] = [si[2], "BIDV", "12345678901", ""]
    page.set_input_files("#file", str(_sheet(tmp_path / "mau02-sua.csv", bad)))
    page.get_by_role("button", name="Send Form 02" if en else "Gửi Mẫu số 02").click()
    expect(result).to_contain_text("Confirmed: 1 person" if en else "Xác nhận: 1 người")
    expect(result).to_contain_text("Rows refused: 0" if en else "Dòng bị từ chối: 0")

    page.goto(f"/employers/{unit.unit_code}")
    confirmed = "Confirmed by employer" if en else "Đơn vị đã xác nhận"
    expect(page.locator("tr", has_text=names[0])).to_contain_text(confirmed)
    expect(page.locator("tr", has_text=names[1])).to_contain_text("Declined" if en else "Không nhận hỗ trợ")
    expect(page.locator("tr", has_text=names[2])).to_contain_text(confirmed)
    main_page(page, f"employer-status-{locale}")

    db.session.expire_all()
    states = [db.session.get(Claim, claim.id).state for claim in people]
    assert states == ["employer_confirmed", "declined", "employer_confirmed"]
    assert re.search(unit.unit_code, page.url)
    completion = page.locator("p.completion")
    expect(completion).to_contain_text("0 / 2")  # the one who declined is not counted

    # The back office runs: verification, beat's batches, the bank settles and calls back, the callbacks applied.
    started = time.monotonic()
    back_office.start()
    paid_rows = [page.locator("tr", has_text=name) for name in (names[0], names[2])]

    def both_paid() -> None:
        # The rows and the completion are read one after the other: a payment applied in between shows on one only.
        expect(completion).to_contain_text("2 / 2", timeout=1_000)
        for row in paid_rows:
            expect(row.locator(".state")).to_have_text("Paid" if en else "Đã chi trả", timeout=1_000)

    reload_until(page, both_paid, timeout_s=PAID_WITHIN_S)
    print(f"paid {time.monotonic() - started:.1f} s after the back office started")  # shown with -s
    paid_on = re.compile(r"Paid on \d\d/\d\d/\d{4}" if en else r"Đã chi trả ngày \d\d/\d\d/\d{4}")
    for row in paid_rows:
        expect(row).to_contain_text(paid_on)
    expect(page.locator("tr", has_text=names[1])).to_contain_text("Declined" if en else "Không nhận hỗ trợ")
    total = people[0].amount_vnd + people[2].amount_vnd
    expect(completion).to_contain_text("100.0%" if en else "100,0%")
    expect(completion).to_contain_text(vnd(total, locale))
    main_page(page, f"employer-status-paid-{locale}")

    # Each paid once, for the claim's amount, by the sandbox bank, and known from its callback.
    db.session.rollback()
    paid = db.session.execute(
        text(
            """SELECT p.claim_id, p.state, p.amount_vnd, p.provider,
                      EXISTS (SELECT 1 FROM provider_events e
                              WHERE e.signature_ok AND e.processed_at IS NOT NULL
                                AND e.body LIKE '%' || p.provider_reference || '%')
               FROM payments p WHERE p.claim_id = ANY(:ids) ORDER BY p.claim_id"""
        ),
        {"ids": [claim.id for claim in people]},
    ).all()
    assert [tuple(row) for row in paid] == [
        (people[0].id, "paid", people[0].amount_vnd, "sandbox", True),
        (people[2].id, "paid", people[2].amount_vnd, "sandbox", True),
    ]
    for claim in (people[0], people[2]):
        steps = db.session.scalars(
            text("SELECT action FROM claim_events WHERE claim_id = :id ORDER BY id"), {"id": claim.id}
        ).all()
        assert steps == ["create", "confirm", "start_verification", "approve", "queue_payment", "payment_succeeded"]
