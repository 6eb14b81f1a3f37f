"""Browser tests: our app served over real HTTP (werkzeug, threaded) on the test database, driven by Debian's
Chromium (``/usr/bin/chromium``) through Playwright's sync API, with axe-core (bundled by axe-playwright-python)
checking each main page.

Browser requests run in the server's threads on their own connections, so the data these tests make is committed
for real (:class:`Committed`) and removed after each test. The forms carry real CSRF tokens: CSRF protection is on
during these tests (the other tests turn it off). One browser for the package, a fresh context (cookies) and page
per test. Screenshots of every main page, in Vietnamese and English, go to ``tests/e2e/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.serving import make_server

from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.reports.backlog import refresh as refresh_backlog
from tests.factories import create_claim, create_employee, create_employer, create_user

CHROMIUM = os.environ.get("DISBURSE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "mat-khau-rat-dai"
TODAY = "2021-10-25"  # a Monday inside the employers' review window of NQ116
DONG_ANH, QUAN_1 = "017", "760"


@pytest.fixture(scope="package")
def live_server(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 (a free port), served in a thread while this package's tests run."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _as_deployed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSRF protection on (the other tests turn it off) and the programme's clock on ``TODAY``, for this test only."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM} (Debian's package; never `playwright install`). "
            "Install it with: sudo apt-get install -y chromium  (or run .ci/run, which does), "
            "or deselect them with -m 'not e2e'.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


class Committed:
    """Rows made through the factories and committed for real; all removed at the end (the history tables refuse
    DELETE, so their guards are switched off inside the cleaning transaction only)."""

    def __init__(self) -> None:
        self.employers: list[int] = []
        self.employees: list[int] = []
        self.users: list[int] = []
        self.backlog_programs: list[int] = []
        # Rows above these ids that are not tracked would outlive the test and change what later tests see.
        self.watermarks = {table: _max_id(table) for table in _WATCHED}

    def unit(self, **overrides: Any) -> Any:
        employer = create_employer(**overrides)
        self.employers.append(employer.id)
        return employer

    def person(self, **overrides: Any) -> Any:
        if "employer_id" not in overrides:
            overrides["employer_id"] = self.unit(district_code=overrides.get("district_code", DONG_ANH)).id
        employee = create_employee(**overrides)
        self.employees.append(employee.id)
        return employee

    def claim(self, state: str, *, person: dict[str, Any] | None = None, **overrides: Any) -> Any:
        return create_claim(state, employee=self.person(**(person or {})), **overrides)

    def user(self, role: str, locale: str = "vi", **scope: Any) -> Any:
        if role == "employer" and "employer_unit" not in scope:
            scope["employer_unit"] = self.unit().unit_code
        user = create_user(role, password=PASSWORD, **scope)
        user.locale = locale
        self.users.append(user.id)
        return user

    def commit(self) -> None:
        db.session.commit()

    def backlog(self, program_id: int) -> None:
        """Beat's backlog sweep of the program, committed (its figures are removed at the end)."""
        refresh_backlog(program_id, programme_today())
        self.backlog_programs.append(program_id)
        db.session.commit()

    def clean(self) -> None:
        db.session.rollback()
        ids: dict[str, list[int]] = {
            "r": self.employers,
            "e": self.employees,
            "u": self.users,
            "p": self.backlog_programs,
        }
        claims = "SELECT id FROM claims WHERE employee_id = ANY(:e) OR employer_id = ANY(:r)"
        payments = f"SELECT id FROM payments WHERE claim_id IN ({claims})"
        recoveries = f"SELECT id FROM recoveries WHERE claim_id IN ({claims})"
        # The batches their payments went in (by the payment workers), removed once the payments are.
        ids["b"] = list(
            db.session.scalars(
                text(f"SELECT DISTINCT batch_id FROM payments WHERE claim_id IN ({claims}) AND batch_id IS NOT NULL"),
                ids,
            )
        )
        for statement in (
            "ALTER TABLE claim_events DISABLE TRIGGER claim_events_append_only",
            "ALTER TABLE payment_events DISABLE TRIGGER payment_events_append_only",
            "ALTER TABLE person_contacts DISABLE TRIGGER person_contacts_append_only",
            "DELETE FROM person_contacts WHERE employee_id = ANY(:e) OR actor_id = ANY(:u)",
            "ALTER TABLE person_contacts ENABLE ALWAYS TRIGGER person_contacts_append_only",
            f"DELETE FROM payment_events WHERE payment_id IN ({payments}) OR actor_id = ANY(:u)",
            "ALTER TABLE recovery_events DISABLE TRIGGER recovery_events_append_only",
            f"DELETE FROM recovery_events WHERE recovery_id IN ({recoveries})",
            "ALTER TABLE recovery_events ENABLE ALWAYS TRIGGER recovery_events_append_only",
            f"DELETE FROM recoveries WHERE claim_id IN ({claims})",
            f"DELETE FROM payments WHERE claim_id IN ({claims})",
            "DELETE FROM payment_batches WHERE id = ANY(:b)",
            f"DELETE FROM claim_events WHERE claim_id IN ({claims}) OR actor_id = ANY(:u)",
            "ALTER TABLE claim_events ENABLE ALWAYS TRIGGER claim_events_append_only",
            "ALTER TABLE payment_events ENABLE ALWAYS TRIGGER payment_events_append_only",
            f"DELETE FROM claim_identities WHERE claim_id IN ({claims})",
            "DELETE FROM claims WHERE employee_id = ANY(:e) OR employer_id = ANY(:r)",
            "DELETE FROM claim_counters WHERE employer_id = ANY(:r)",
            "DELETE FROM audit_log WHERE actor_id = ANY(:u)"
            # Their creation, written with no actor (disburse.auth.service.create_user audits every user it makes).
            " OR (object_type = 'user' AND object_id = ANY(CAST(:u AS text[])))",
            "DELETE FROM jobs WHERE created_by = ANY(:u)",
            "DELETE FROM users WHERE id = ANY(:u)",
            "DELETE FROM employees WHERE id = ANY(:e)",
            "DELETE FROM employers WHERE id = ANY(:r)",
            "DELETE FROM backlog_counters WHERE program_id = ANY(:p)",
            "DELETE FROM backlog_sweeps WHERE program_id = ANY(:p)",
        ):
            db.session.execute(text(statement), ids)
        db.session.commit()
        left = {table: _max_id(table) for table in _WATCHED}
        assert left == self.watermarks, f"rows made by the test were not removed: {left} (before: {self.watermarks})"


_WATCHED = (
    "employers",
    "employees",
    "users",
    "claims",
    "payments",
    "payment_batches",
    "provider_events",
    "audit_log",
    "jobs",
)


def _max_id(table: str) -> int:
    return int(db.session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())


@pytest.fixture
def committed(app: Flask, live_server: str) -> Iterator[Committed]:
    with app.app_context():
        rows = Committed()
        try:
            yield rows
        finally:
            rows.clean()
            db.session.remove()


def sign_in(page: Any, user: Any, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#email", user.email)
    page.fill("#password", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def choose_language(page: Any, locale: str) -> None:
    """The page in ``locale``, chosen as a visitor does: the header's language button (a form's post)."""
    if page.evaluate("document.documentElement.lang") != locale:
        page.get_by_role("button", name="English" if locale == "en" else "Tiếng Việt").click()
        page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == locale


def check_axe(page: Any, name: str) -> None:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    )
    assert results.response["passes"], f"axe checked nothing on {name}"
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5]) for v in bad
    ]
    assert not bad, f"axe on {name}:\n" + "\n".join(described)


def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def main_page(page: Any, name: str) -> None:
    """A main page as the tests look at it: its screenshot saved, then axe-core's verdict."""
    shoot(page, name)
    check_axe(page, name)
