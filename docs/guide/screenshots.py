"""Take the user guides' screenshots (docs/screenshots/guide-*.png) from a running demo, in Vietnamese.

Start the demo first, in another terminal, and let it run a minute or two so that payments have been made:

    DISBURSE_INSTANCE=/tmp/guide_instance .venv/bin/disburse up --demo --port 5080

then run this script from the repository's root:

    .venv/bin/python docs/guide/screenshots.py [--base http://127.0.0.1:5080]

It signs in with the demo log-ins that ``disburse up --demo`` prints, opens each page with Playwright driving
Debian's Chromium (/usr/bin/chromium; no browser is downloaded), 1000 px wide, and saves the top of the page (at most
``MAX_HEIGHT`` px) as a PNG. It changes nothing in the demo: it only reads pages and looks a person up on the public
status page. The worker's screenshot is of a person whose payment failed and who must send a bank account: the
script finds one in the caseworker's queue (state "Chờ bổ sung thông tin tài khoản") and reads their SI code,
national ID and date of birth from the case page.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "screenshots"
WIDTH = 1000
MAX_HEIGHT = 900
EMPLOYER = ("donvi@demo.disburse.vn", "demo-donvi-116", "DN01000001")
CASEWORKER = ("canbo@demo.disburse.vn", "demo-canbo-116")
SUPERVISOR = ("giamsat.hanoi@demo.disburse.vn", "demo-hanoi-116")


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    # A user's language is remembered from their last choice: the guides' screenshots are of the Vietnamese pages.
    vietnamese = page.locator("nav.languages button", has_text="Tiếng Việt")
    if vietnamese.count():
        vietnamese.first.click()
        page.wait_for_load_state()


def shoot(page: Page, name: str, height: int = MAX_HEIGHT) -> None:
    """The top of the page, ``height`` px at most, as docs/screenshots/guide-<name>.png."""
    full = page.evaluate("document.documentElement.scrollHeight")
    path = OUT / f"guide-{name}.png"
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": WIDTH, "height": min(height, full)})
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def fact(page: Page, label: str) -> str:
    """The value of a case page's fact (``<dt>label</dt><dd>value</dd>``)."""
    return page.locator(f"dl.facts dt:text-is('{label}') + dd").first.inner_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:5080", help="the demo's address")
    base = parser.parse_args().base.rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")

        def new_page() -> Page:
            context = browser.new_context(viewport={"width": WIDTH, "height": MAX_HEIGHT}, locale="vi-VN")
            return context.new_page()

        # The employer: the unit's payout status page, then Form 03.
        page = new_page()
        email, password, unit = EMPLOYER
        sign_in(page, base, email, password)
        page.goto(f"{base}/employers/{unit}?state=awaiting_payment_details")
        shoot(page, "employer-status")
        page.goto(f"{base}/employers/{unit}/form-03")
        shoot(page, "employer-form-03", 1100)

        # The caseworker: the work queue, then the case page of a claim waiting for new bank details.
        page = new_page()
        sign_in(page, base, *CASEWORKER)
        page.goto(f"{base}/caseworker/queue")
        shoot(page, "caseworker-queue")
        page.goto(f"{base}/caseworker/queue?state=awaiting_payment_details")
        page.locator("table a[href*='/caseworker/claims/']").first.click()
        page.wait_for_load_state()
        person = (fact(page, "Mã số BHXH"), fact(page, "Số CMND/CCCD"), fact(page, "Ngày sinh"))
        shoot(page, "caseworker-case", 1000)

        # The supervisor: the province's dashboard.
        page = new_page()
        sign_in(page, base, *SUPERVISOR)
        page.goto(f"{base}/dashboard/")
        shoot(page, "supervisor-dashboard")

        # The worker: the public status page (no sign-in) for the person found above.
        page = new_page()
        page.goto(f"{base}/people/status")
        page.fill("input[name=si_code]", person[0])
        page.fill("input[name=national_id]", person[1])
        page.fill("input[name=date_of_birth]", person[2])
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        shoot(page, "worker-status", 800)
        browser.close()


if __name__ == "__main__":
    main()
