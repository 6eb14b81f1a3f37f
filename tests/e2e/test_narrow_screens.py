"""Phones: every role's main pages at 360 CSS pixels wide (a small Android phone), in Vietnamese and English, are no
wider than the screen. Wide tables scroll inside their own box (WCAG 1.4.10, reflow), the header wraps, form
controls fit; axe-core still passes on each page at that width (a scrolling box must take the keyboard's focus).
Each page is photographed (``narrow-…``), and the pages that are too wide are named with the elements that stick
out, all at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.payments.models import PaymentBatch, Recovery
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.reductions.models import Reduction
from disburse.verification.review import request_info
from tests.e2e.conftest import DONG_ANH, check_axe, choose_language, shoot, sign_in
from tests.factories import create_payment, nq116

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 360, 740
LONG_NAME = "Công ty Trách nhiệm hữu hạn Một thành viên Dệt may Xuất nhập khẩu Đông Anh"

#: The pages of each role, ``{unit}``, ``{claim}`` and ``{user}`` filled in from the rows the test makes. The
#: anonymous visitor's pages are the public ones (sign-in, the workers' bank details page).
PAGES: dict[str, list[str]] = {
    "anonymous": ["/", "/login", "/people/payment-details", "/people/status"],
    "employer": [
        "/",
        "/employers/{unit}",
        "/employers/{unit}/form-02",
        "/employers/{unit}/form-03",
        "/employers/{unit}/reductions",
        "/jobs/{job}",
        "/account",
    ],
    "caseworker": [
        "/",
        "/caseworker/queue",
        "/caseworker/claims/{claim}",
        "/caseworker/outreach",
        "/caseworker/cash-desk",
        "/caseworker/applications/new",
        "/caseworker/people/find?q=nguyen",
        "/employers/",
        "/employers/{unit}",
        "/dashboard/",
        "/account",
    ],
    "supervisor": [
        "/",
        "/dashboard/",
        f"/dashboard/?district={DONG_ANH}",
        "/dashboard/charts",
        "/dashboard/backlog",
        "/dashboard/monthly",
        "/dashboard/targets",
        "/dashboard/recoveries",
        "/dashboard/recoveries/{recovery}",
        "/caseworker/queue",
        "/caseworker/people/find",
        "/employers/{unit}/reductions",
    ],
    "admin": [
        "/",
        "/admin/",
        "/admin/imports",
        "/admin/users",
        "/admin/users/new",
        "/admin/users/{user}",
        "/admin/programme",
        "/admin/health",
        "/admin/batches",
        "/admin/batches/{batch}",
        "/admin/audit",
        "/jobs/",
    ],
}

#: The elements that reach past the right edge of the screen (and are not inside a box that scrolls or clips), the
#: outermost first: what makes the page too wide.
STICKING_OUT = """(width) => {
  const out = [];
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    // Past the edge, or its own text (a long word) is.
    const text = box.right <= width + 0.5 && box.left + el.scrollWidth > width + 0.5 &&
      getComputedStyle(el).overflowX === 'visible' &&
      [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if ((box.right <= width + 0.5 && !text) || clipped(el)) continue;
    if (el.parentElement && out.some((o) => o.el.contains(el))) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.classList.length ? '.' + [...el.classList].join('.') : '');
    out.push({el, text: text ? `${name}'s text (to ${Math.round(box.left + el.scrollWidth)}px)`
                            : `${name} (${Math.round(box.width)}px wide, right edge at ${Math.round(box.right)}px)`});
  }
  return out.slice(0, 6).map((o) => o.text);
}"""


@pytest.fixture
def reductions(app: Flask, committed: Any) -> Iterator[list[int]]:
    """Employers whose booked reductions the test makes; removed before the employers are (no cascade)."""
    employers: list[int] = []
    yield employers
    db.session.rollback()
    db.session.execute(text("DELETE FROM reductions WHERE employer_id = ANY(:r)"), {"r": employers})
    db.session.commit()


def _rows(committed: Any, reductions: list[int], role: str, locale: str) -> tuple[Any, dict[str, Any]]:
    """A unit of Đông Anh with a long name, people in several states (a refusal's reason among them, a payment
    returned after it settled) and its booked reductions; a claim to review; the user of ``role`` (None for the
    anonymous visitor)."""
    unit = committed.unit(district_code=DONG_ANH, name=LONG_NAME)
    person = {"employer_id": unit.id, "full_name": "Nguyễn Thị Phương Thảo"}
    review = committed.claim("needs_review", reasons=["zero_months", "possible_duplicate"], person=person)
    for state in ("listed", "employer_confirmed", "rejected", "paid"):
        committed.claim(state, person=person)
    # A payment returned by the bank after it settled: a recovery, with the bank's reason in words.
    program = nq116()
    # In a batch: the admins' batch page, with a failure in words.
    batch = PaymentBatch(program_id=program.id, channel="bank", provider="sandbox", state="sent", item_count=1)
    db.session.add(batch)
    db.session.flush()
    payment = create_payment(committed.claim("payment_pending", person=person), state="sent", batch_id=batch.id)
    for status in (ProviderStatus.PAID, ProviderStatus.RETURNED):
        apply_updates("sandbox", [StatusUpdate(payment.provider_reference, status, "AC04")], source="poll")
    recovery = db.session.scalars(select(Recovery.id).where(Recovery.payment_id == payment.id)).one()
    for month in (date(2021, 10, 1), date(2021, 11, 1), date(2022, 1, 1)):
        db.session.add(
            Reduction(
                program_id=program.id,
                employer_id=unit.id,
                month=month,
                ui_salary_fund_vnd=1_234_567_890_000,
                ui_participants=12_345,
                normal_rate_bp=program.normal_rate_bp,
                reduced_rate_bp=program.reduced_rate_bp,
                amount_vnd=12_345_678_900,
            )
        )
    reductions.append(unit.id)
    scope = {"employer": {"employer_unit": unit.unit_code}, "caseworker": {"district": DONG_ANH}}.get(role, {})
    user = committed.user(role, locale, **scope) if role != "anonymous" else None
    other = committed.user("caseworker", locale, district=DONG_ANH)
    # A request for information to the unit: its table's last column has the employer's "Trả lời" link.
    request_info(review.id, other, "employer", "Bản sao hợp đồng lao động và quyết định nghỉ việc của người lao động")
    # A large Form 02 the employer sent, read by a job (its page, and the list on the Form 02 page).
    sent = {"unit_code": unit.unit_code, "filename": "mau-02-cong-ty-det-may-dong-anh.xlsx", "path": "/nowhere"}
    job = jobs.create_job("form02.upload", sent, created_by=(user or other).id)
    job.done = job.total = 12_360
    jobs.finish(job, result={"confirmed": 12_345, "declined": 12, "error": 3, "rows": 12_360})
    committed.commit()
    committed.backlog(program.id)  # the backlog page's figures
    return user, {
        "unit": unit.unit_code,
        "claim": review.id,
        "user": other.id,
        "recovery": recovery,
        "job": job.id,
        "batch": batch.id,
    }


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("role", list(PAGES))
def test_each_page_fits_a_phone_screen(browser, live_server, committed, reductions, role, locale):
    context = browser.new_context(base_url=live_server, viewport={"width": WIDTH, "height": HEIGHT}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        user, ids = _rows(committed, reductions, role, locale)
        if user is not None:
            sign_in(page, user)
        else:
            page.goto("/")
            choose_language(page, locale)
        problems: list[str] = []
        for path in PAGES[role]:
            url = path.format(**ids)
            response = page.goto(url)
            assert response is not None and response.ok, f"{url}: {response and response.status}"
            assert page.evaluate("document.documentElement.lang") == locale
            shoot(page, f"narrow-{role}-{re.sub(r'[^a-z0-9]+', '-', path).strip('-') or 'home'}-{locale}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH:
                culprits = page.evaluate(STICKING_OUT, WIDTH)
                problems.append(f"{url}: {width}px, by " + "; ".join(culprits))
            try:
                check_axe(page, f"{url} at {WIDTH}px ({role}, {locale})")
            except AssertionError as refused:
                problems.append(str(refused).split("\nassert")[0])
        assert not problems, f"on a {WIDTH}px screen ({role}, {locale}):\n" + "\n".join(problems)
    finally:
        context.close()
