"""The attempts to reach a person logged before they applied (the outreach list's, ``person_contacts``) stay on the
claim page once they file Form 04, marked as before the application, in time order with the claim's own."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest

from disburse.casework.models import PersonContact
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_person, create_user, nq116

DONG_ANH = "017"


def _contacts(response) -> str:
    page = response.get_data(as_text=True)
    section = page[page.index('id="contacts-title"') :].split("</section>")[0]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section)))


@pytest.mark.parametrize(
    ("locale", "before", "words"),
    [
        (
            "vi",
            "trước khi nộp đề nghị",
            ("Gọi điện thoại: Không liên hệ được", "Đến tận nhà: Đã liên hệ được", "Tin nhắn SMS"),
        ),
        ("en", "before the application", ("Phone call: No answer", "Home visit: Reached", "SMS")),
    ],
)
def test_earlier_contact_attempts_show_on_the_claim_page(client, db_session, locale, before, words):
    caseworker = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    person = create_person(
        ui_status="stopped", ui_stopped_on=date(2021, 5, 1), employer_id=None, district_code=DONG_ANH
    )
    now = datetime.now(UTC)
    # Logged from the outreach list; the later one first (the order shown is the times', not the rows').
    for days, channel, outcome, note in (
        (1, "home_visit", "reached", "Hẹn nộp Mẫu 04"),
        (2, "phone", "no_answer", None),
    ):
        db.session.add(
            PersonContact(
                program_id=nq116().id,
                employee_id=person.id,
                actor_id=caseworker.id,
                channel=channel,
                outcome=outcome,
                note=note,
                created_at=now - timedelta(days=days),
            )
        )
    db.session.flush()
    claim = create_claim("needs_review", track="B", employee=person)
    review.log_contact(claim.id, caseworker, "sms", "message_left")
    sign_in(client, caseworker, locale)

    shown = _contacts(client.get(f"/caseworker/claims/{claim.id}"))

    assert "Chưa có lần liên hệ nào" not in shown and "No contact attempts yet" not in shown
    positions = [shown.index(word) for word in words]
    assert positions == sorted(positions), shown
    assert "Hẹn nộp Mẫu 04" in shown and caseworker.email in shown
    assert shown.count(before) == 2  # the two attempts before the claim, not the claim's own
    assert before not in shown[positions[2] :]
