"""What the browser is refused: a wrong password, a post without its CSRF token, another unit's URL; and the
sign-in and account pages checked by axe-core and photographed in both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, QUAN_1, main_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_wrong_password_is_refused(page, committed, locale):
    en = locale == "en"
    user = committed.user("caseworker")
    committed.commit()
    page.goto("/login")
    if en:
        page.get_by_role("button", name="English").click()
    main_page(page, f"sign-in-{locale}")
    sign_in(page, user, password=PASSWORD + "-sai")
    expect(page.locator("main")).to_contain_text(
        "The e-mail address or password is not right." if en else "E-mail hoặc mật khẩu không đúng."
    )
    expect(page).to_have_url(re.compile(r"/login$"))
    main_page(page, f"sign-in-refused-{locale}")
    page.goto("/caseworker/queue")
    expect(page).to_have_url(re.compile(r"/login\?next="))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_account_page(page, committed, locale):
    user = committed.user("caseworker", locale)
    committed.commit()
    sign_in(page, user)
    page.goto("/account")
    expect(page.locator("main")).to_contain_text(user.email)
    main_page(page, f"account-{locale}")


def test_a_post_without_its_csrf_token_is_refused(page, committed):
    user = committed.user("caseworker")
    claim = committed.claim("needs_review", reasons=["zero_months"])
    committed.commit()
    sign_in(page, user)
    page.goto(f"/caseworker/claims/{claim.id}/approve")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((input) => input.remove())")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("main form button[type=submit]").last.click()
    assert posted.value.status == 400
    from disburse.claims.models import Claim
    from disburse.extensions import db

    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "needs_review"


def test_another_units_url_is_not_found(page, committed):
    mine = committed.unit()
    other = committed.unit(district_code=QUAN_1)
    employer = committed.user("employer", employer_unit=mine.unit_code)
    far_claim = committed.claim("needs_review", person={"district_code": QUAN_1})
    caseworker = committed.user("caseworker")
    committed.commit()
    sign_in(page, employer)
    assert page.goto(f"/employers/{mine.unit_code}").status == 200
    for path in (f"/employers/{other.unit_code}", f"/employers/{other.unit_code}/form-02"):
        assert page.goto(path).status == 404
    assert page.goto("/caseworker/queue").status == 403

    page.context.clear_cookies()
    sign_in(page, caseworker)
    assert page.goto(f"/caseworker/claims/{far_claim.id}").status == 404
    assert page.goto(f"/employers/{other.unit_code}").status == 404
