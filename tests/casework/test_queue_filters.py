"""The caseworker's queue: the count it says is the claims it lists, whatever the filters; the filter for claims with
bank details the person sent (and the row saying so); the caseworker's home page counting them; all read set-based,
the offers through their own index."""

from __future__ import annotations

import html as html_
import itertools
import re

import pytest
from sqlalchemy import text
from wtforms.fields.core import UnboundField

from disburse.casework import service as casework
from disburse.casework.forms import QueueFilterForm
from disburse.claims import person_details
from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.claims.person_details import open_offer, open_offer_clause
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_offer, create_user

#: Approving, correcting into approved and paying need a day of the programme's payment period.
pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH, QUAN_1 = "017", "760"


def _text(response) -> str:
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


def _offered_claims(caseworker) -> dict[str, Claim]:
    """Claims of Đông Anh with and without an open offer of the person's, each way an offer ends."""
    made = {
        "awaiting": create_claim("awaiting_payment_details", district_code=DONG_ANH),
        "in_review": create_claim("needs_review", reasons=["bank_details_missing"], bank_code=None, bank_account=None),
        "failed": create_claim("payment_failed"),
        "dismissed": create_claim("awaiting_payment_details"),
        "corrected": create_claim("awaiting_payment_details"),
        "left": create_claim("awaiting_payment_details"),
        "none": create_claim("awaiting_payment_details"),
    }
    for name, claim in made.items():
        if name != "none":
            create_offer(claim)
    offer = open_offer(made["dismissed"])
    assert offer is not None
    casework.dismiss_offer(made["dismissed"].id, caseworker, offer.id, "Không phải tài khoản của người lao động.")
    casework.correct_payment_details(made["corrected"].id, caseworker, "BIDV", "21510001234567")
    # Offered, then on its way with other details, and waiting again: the old offer is not offered again.
    claims.transition(made["left"], "details_received")
    claims.transition(made["left"], "queue_payment")
    claims.transition(made["left"], "payment_failed")
    claims.transition(made["left"], "request_details")
    for claim in made.values():
        db.session.refresh(claim)
    return made


def test_the_sql_of_open_offers_says_what_the_case_page_says(caseworker):
    """The queue's filter and the home page's count read offers in SQL; the case page reads one claim's. The two
    agree on every way an offer is dealt with (used, dismissed, the claim gone on), a newer offer after a dismissal
    too."""
    made = _offered_claims(caseworker)
    again = create_claim("awaiting_payment_details")
    create_offer(again)
    offer = open_offer(again)
    assert offer is not None
    casework.dismiss_offer(again.id, caseworker, offer.id, "Sai tài khoản.")
    create_offer(again, bank_account="21510009999999")
    made["again"] = again
    by_page = {name for name, claim in made.items() if open_offer(claim) is not None}
    assert by_page == {"awaiting", "in_review", "failed", "again"}
    ids = {claim.id: name for name, claim in made.items()}
    assert {ids[i] for i in person_details.claims_with_open_offers(list(ids))} == by_page
    in_sql = db.session.scalars(db.select(Claim.id).where(Claim.id.in_(list(ids)), open_offer_clause()))
    assert {ids[i] for i in in_sql} == by_page


@pytest.mark.parametrize(
    ("locale", "label", "said"),
    [
        (
            "vi",
            "Chỉ hồ sơ có thông tin tài khoản mới do người lao động gửi",
            "Người lao động đã gửi thông tin tài khoản",
        ),
        ("en", "Only claims with new payment details sent by the person", "The person sent payment details"),
    ],
)
def test_claims_with_details_from_the_person_are_filtered_said_on_their_row_and_counted_at_home(
    client, caseworker, locale, label, said
):
    made = _offered_claims(caseworker)
    far = create_claim("awaiting_payment_details", employee=create_employee(district_code=QUAN_1))
    create_offer(far)  # another district's: neither listed nor counted
    open_ids = {made[name].id for name in ("awaiting", "in_review", "failed")}
    ours = {claim.id for claim in made.values()}
    sign_in(client, caseworker, locale)

    page = client.get("/caseworker/queue?state=&offered=y")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'<label for="offered">{label}</label>' in html
    assert re.search(
        r'<input aria-describedby="offered-hint" checked id="offered" name="offered" type="checkbox"', html
    )
    assert _listed(html) == open_ids and _total(page) == 3
    # Each row listed says why it is there; without the filter, a row without an offer does not say it.
    rows = _rows(html)
    assert all(said in _plain(rows[claim_id]) for claim_id in open_ids)
    rows = _rows(client.get("/caseworker/queue?state=").get_data(as_text=True))
    assert ours <= set(rows)
    for claim_id in ours - open_ids:
        assert said not in _plain(rows[claim_id]) and _reason_cell(rows[claim_id]) == "—"
    missing = "Thiếu ngân hàng" if locale == "vi" else "The bank or the account number for the transfer is missing"
    assert said in _plain(rows[made["in_review"].id]) and missing in _plain(rows[made["in_review"].id])
    # The filter with the state's default (in review): the one in review.
    assert _listed(client.get("/caseworker/queue?offered=y").get_data(as_text=True)) == {made["in_review"].id}

    home = client.get("/").get_data(as_text=True)
    count = re.search(r'<dt>([^<]+)</dt><dd id="offered-count"><a href="([^"]+)">(\d+)</a></dd>', home)
    assert count is not None and count.group(1) == said and count.group(3) == "3"
    link = count.group(2).replace("&amp;", "&")
    assert _listed(client.get(link).get_data(as_text=True)) == open_ids  # the home page's link lists those 3


def _listed(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', html)}


def _total(response) -> int:
    found = re.search(r'<p id="queue-total">([\d.,]+) ', response.get_data(as_text=True))
    assert found, "the page says how many claims match"
    return int(re.sub(r"[.,]", "", found.group(1)))


def _rows(html: str) -> dict[int, str]:
    """Each listed claim's row of the queue's table."""
    body = html.split('<table class="queue"', 1)[1].split("</table>", 1)[0]
    return {int(m.group(1)): m.group(0) for m in re.finditer(r'<tr>\s*<td class="code">(\d+)</td>.*?</tr>', body, re.S)}


def _reason_cell(row: str) -> str:
    """What a queue row says in its reason column."""
    return _plain(re.findall(r'<td class="reasons">(.*?)</td>', row, re.S)[0]).strip()


def _plain(fragment: str) -> str:
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def test_the_queue_counts_the_claims_it_lists_whatever_the_filters(client, caseworker, app, monkeypatch):
    """ "222 claims match" over 24 listed rows was the reason filter left out of the count. Every filter of the form,
    each alone and each with every other one (all on one page here), gives a count equal to the rows listed; a
    filter added to the form without a value here fails the test."""
    unit = create_employer(district_code=DONG_ANH)
    at_unit = create_employee(employer_id=unit.id)
    create_claim("needs_review", employee=at_unit, reasons=["zero_months"])
    create_claim("needs_review", reasons=["zero_months", "listed_twice"])
    create_claim("needs_review", track="B", reasons=["zero_months"])
    create_claim("needs_review", reasons=["bank_details_missing"], bank_code=None, bank_account=None)
    mine = create_claim("needs_review", reasons=["amount_changed"])
    review.assign(mine.id, caseworker)
    create_claim("approved")
    create_claim("rejected", reasons=["pension_decision"])
    create_offer(create_claim("awaiting_payment_details"))
    create_offer(create_claim("needs_review", reasons=["bank_details_malformed"], bank_account="12"))
    create_claim("needs_review", employee=create_employee(district_code=QUAN_1), reasons=["zero_months"])
    sign_in(client, caseworker)

    values: dict[str, list[str]] = {
        "state": ["", "needs_review", "approved", "awaiting_payment_details"],
        "reason": ["", "zero_months", "listed_twice", "bank_details_missing", "pension_decision"],
        "age": ["", "0", "3"],
        "employer": ["", unit.unit_code],
        "track": ["", "A", "B"],
        "assigned": ["", "me", "none"],
        "offered": ["", "y"],
        "district": ["", DONG_ANH],
        "sort": ["", "-received", "name", "-unit", "-amount"],
    }
    names = [name for name in QueueFilterForm.__dict__ if isinstance(getattr(QueueFilterForm, name), UnboundField)]
    assert set(names) - {"after", "before"} == set(values), "give the new filter its values here"

    def check(query: dict[str, str]) -> None:
        url = "/caseworker/queue?" + "&".join(f"{k}={v}" for k, v in query.items())
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert 'rel="next"' not in html, url  # all on one page
        listed = re.findall(r'href="/caseworker/claims/(\d+)"', html)
        assert _total(response) == len(listed), url

    for name, choices in values.items():
        for value in choices:
            check({name: value})
    for one, two in itertools.combinations(values, 2):
        for first, second in itertools.product(values[one][1:], values[two][1:]):
            check({one: first, two: second, **({"state": ""} if "state" not in (one, two) else {})})
    # Seen from a week later, every claim is 3 working days old: the age filter then keeps them all.
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2099-01-15")
    check({"state": "", "age": "3", "reason": "zero_months"})


def test_the_offers_are_read_through_their_own_index(db_session, caseworker):
    """The home page's count and the queue's filter read the offers from ``ix_claim_events_offers`` (the few
    ``offer_details`` notes), never from every event of the district's claims: the clause and the partial index say
    the same, so the planner can use it."""
    from disburse.programs.models import Program

    program = db.session.scalar(db.select(Program.id).where(Program.code == "NQ116"))
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    statement = (
        db.select(db.func.count())
        .select_from(Claim)
        .where(Claim.program_id == program, Claim.district_code == DONG_ANH, open_offer_clause())
    )
    sql = str(statement.compile(dialect=db_session.bind.dialect, compile_kwargs={"literal_binds": True}))
    plan = "\n".join(db_session.execute(text(f"EXPLAIN {sql}")).scalars())
    assert "ix_claim_events_offers" in plan, plan
    assert person_details.open_offers_count(program, DONG_ANH) == 0
    assert ClaimState.NEEDS_REVIEW in person_details.WAITING
