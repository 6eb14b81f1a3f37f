"""An admin in the browser: from the home page to the admin pages, uploads an employers file, and watches the import's
progress bar reach the end while a real Celery worker runs the job; downloads the refused rows; a file of another
type is refused. Every page checked by axe-core and photographed in Vietnamese and English."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.registry.models import Employer
from tests.e2e.conftest import main_page, sign_in
from tests.registry.test_import_support import employer_row

pytestmark = pytest.mark.e2e

ROWS = 3_000


def _employers_file(tmp_path: Path) -> tuple[Path, list[str]]:
    rows = [employer_row() for _ in range(ROWS - 1)] + [employer_row(sector="bank")]  # the last one is refused
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "don-vi.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, [row["unit_code"] for row in rows]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_an_admin_uploads_an_import_and_watches_its_progress(page, committed, celery_worker, tmp_path, locale):
    en = locale == "en"
    admin = committed.user("admin", locale)
    committed.commit()
    path, unit_codes = _employers_file(tmp_path)
    job_ids: list[int] = []
    try:
        sign_in(page, admin)
        page.get_by_role("link", name="Administration: imports" if en else "Trang quản trị: nhập danh sách").click()
        expect(page).to_have_title(re.compile("Administration" if en else "Quản trị"))
        main_page(page, f"admin-home-{locale}")

        page.get_by_role("link", name="Import a registry file" if en else "Nhập danh sách từ tệp").click()
        expect(page).to_have_title(re.compile("Import a registry file" if en else "Nhập danh sách từ tệp"))
        main_page(page, f"admin-import-{locale}")

        # A file of another type: refused, saying why, on the same form.
        page.select_option("#kind", "employers")
        page.set_input_files("#file", files=[{"name": "bao-cao.pdf", "mimeType": "application/pdf", "buffer": b"%PDF"}])
        page.get_by_role("button", name="Upload and import" if en else "Tải lên và nhập").click()
        expect(page.locator(".error-summary")).to_contain_text(
            "The file must be a .csv (UTF-8) or .xlsx spreadsheet."
            if en
            else "Tệp phải là bảng tính .csv (UTF-8) hoặc .xlsx."
        )
        main_page(page, f"admin-import-refused-{locale}")

        # The real file: the job's page, and its progress bar moving to the end.
        page.select_option("#kind", "employers")
        page.set_input_files("#file", str(path))
        page.get_by_role("button", name="Upload and import" if en else "Tải lên và nhập").click()
        expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
        job_ids.append(int(page.url.rsplit("/", 1)[1]))
        expect(page.locator("#job-progress")).to_be_visible()
        done = "3,000 / 3,000 rows (100.0%)" if en else "3.000 / 3.000 dòng (100,0%)"
        expect(page.locator("#job-progress-text")).to_have_text(done, timeout=90_000)
        expect(page.locator("#job-state")).to_have_text("Succeeded" if en else "Đã xong")
        bar = page.locator("#job-progress")
        assert bar.get_attribute("value") == bar.get_attribute("max") == str(ROWS)
        main_page(page, f"admin-import-job-{locale}")

        # The refused row, to download.
        with page.expect_download() as download:
            page.locator("#job-download a").click()
        refused = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
        assert [line["row"] for line in refused] == [str(ROWS + 1)]  # the spreadsheet's row number (header is 1)
    finally:
        db.session.rollback()
        committed.employers += list(db.session.scalars(select(Employer.id).where(Employer.unit_code.in_(unit_codes))))
        for job in db.session.scalars(select(Job).where(Job.id.in_(job_ids))):
            Path(job.params["path"]).unlink(missing_ok=True)
            if job.result and job.result.get("errors_path"):
                Path(job.result["errors_path"]).unlink(missing_ok=True)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_admin_pages_by_keyboard_and_axe(page, committed, locale):
    """Every admin page checked by axe-core and photographed; a user's role changed with the keyboard alone."""
    en = locale == "en"
    admin = committed.user("admin", locale)
    worker = committed.user("caseworker", locale)
    committed.commit()
    sign_in(page, admin)
    for url, name in [
        ("/admin/", "admin-home"),
        ("/jobs/", "admin-jobs"),
        ("/admin/users", "admin-users"),
        ("/admin/users/new", "admin-user-new"),
        ("/admin/programme", "admin-programme"),
        ("/admin/health", "admin-health"),
        ("/admin/audit", "admin-audit"),
    ]:
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        main_page(page, f"{name}-{locale}")

    # A bad filter: the error summary names it, in the page's language.
    page.goto("/admin/audit?since=32/13/2021")
    expect(page.locator(".error-summary")).to_contain_text("32/13/2021")
    main_page(page, f"admin-audit-error-{locale}")

    # Find the caseworker, open them, make them a national supervisor by keyboard only.
    page.goto("/admin/users")
    page.locator("#q").focus()
    page.keyboard.type(worker.email)
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=worker.email)).to_have_count(1)
    page.get_by_role("link", name=worker.email).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/admin/users/{worker.id}$"))
    main_page(page, f"admin-user-edit-{locale}")
    page.locator("#role").focus()
    page.locator("#role").select_option("supervisor")
    page.locator("#district").fill("")
    page.locator("#district").press("Enter")  # submits the form
    expect(page.locator(".flash")).to_contain_text("Changes saved." if en else "Đã lưu thay đổi.")
    expect(page.locator("#role")).to_have_value("supervisor")


def test_a_job_finishing_while_its_page_is_open_takes_the_focus_to_its_state(page, committed):
    """The page reloads itself when the job ends (to show all it has); the focus then goes to the job's state, read out,
    not to the top of the page the user was somewhere down."""
    from disburse.jobs import service as jobs

    admin = committed.user("admin")
    job = jobs.create_job("lists.build", {"program": "NQ116"}, created_by=admin.id)
    job.state = "running"
    committed.commit()
    sign_in(page, admin)
    page.goto(f"/jobs/{job.id}")
    expect(page.locator("#job-state")).to_have_text("Đang chạy")
    page.keyboard.press("Tab")
    jobs.finish(db.session.get(Job, job.id), result={})
    db.session.commit()
    expect(page.locator("#job-state")).to_have_text("Đã xong", timeout=15_000)
    expect(page.locator("#job-state")).to_be_focused()
    page.reload()  # a later visit: nothing taken
    expect(page.locator("#job-state")).not_to_be_focused()
