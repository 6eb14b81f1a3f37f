"""Bank details from the person: the public page, the note it leaves for a caseworker (never a change to the claim by
itself), the same answer whether or not anyone matched, every input error at once, the rate limit, and the case
page's panel and prefilled correction."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from disburse.casework import service as casework
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.person_details import offer_payment_details, open_offer
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_user, nq116

#: These tests approve and pay: the programme clock is a day of its payment period (the real one is past it).
pytestmark = pytest.mark.usefixtures("paying_clock")

PASSWORD = "mat-khau-du-dai-123"
BORN = date(1988, 4, 9)
#: What the page says after a send, matched or not.
SENT = "Đã nhận thông tin. Nếu thông tin khớp với hồ sơ đang chờ bổ sung tài khoản"


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _waiting(state: str = "awaiting_payment_details", **overrides: object) -> Claim:
    person = create_employee(date_of_birth=BORN, district_code="017")
    return create_claim(state, employee=person, district_code="017", **overrides)


def details_form(claim: Claim, **overrides: str) -> dict[str, str]:
    """The public page's form as ``claim``'s person (born on BORN) fills it in, with ``overrides`` typed instead."""
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    values = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "date_of_birth": BORN.strftime("%d/%m/%Y"),
        "bank_code": "BIDV",
        "bank_account": "21510001234567",
        "phone": "",
    }
    return {**values, **overrides}


def offer_details(claim: Claim, **overrides: str):
    """The form's details offered as the public page offers them, the date of birth read from the text typed."""
    values = details_form(claim, **overrides)
    born = values.pop("date_of_birth")
    day, month, year = (int(x) for x in born.split("/"))
    return offer_payment_details(nq116(), date_of_birth=date(year, month, day), **values)


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(ClaimEvent)) or 0


def test_the_persons_details_become_a_note_for_a_caseworker_and_change_nothing_else(db_session):
    claim = _waiting()
    before = (claim.state, claim.bank_code, claim.bank_account)
    offer = offer_details(claim, phone="0987 654 321")
    assert offer.errors == {} and offer.event is not None
    assert offer.event.action == "offer_details" and offer.event.actor_id is None
    assert offer.event.data == {
        "by": "person",
        "bank_code": "BIDV",
        "bank_account": "21510001234567",
        "phone": "0987654321",
    }
    db.session.expire_all()
    claim = db.session.get(Claim, claim.id)
    assert (claim.state, claim.bank_code, claim.bank_account) == before
    assert open_offer(claim) is not None

    caseworker = create_user("caseworker", district="017")
    assert casework.correct_payment_details(claim.id, caseworker, "BIDV", "21510001234567").outcome == "corrected"
    assert open_offer(db.session.get(Claim, claim.id)) is None


def test_numbers_copied_in_groups_from_the_book_and_the_card_are_the_same_numbers(db_session):
    """ "0105 053 261" (the book's SI code in groups) was refused as not 10 digits; a space is not a digit."""
    claim = _waiting()
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    grouped_si = f"{person.si_code[:4]} {person.si_code[4:7]} {person.si_code[7:]}"
    grouped_id = " ".join(person.national_id[i : i + 3] for i in range(0, len(person.national_id), 3))
    offer = offer_details(claim, si_code=grouped_si, national_id=grouped_id)
    assert offer.errors == {} and offer.event is not None
    assert offer_details(claim, si_code=person.si_code[:9] + " ").errors  # still ten digits, no fewer


@pytest.mark.parametrize(
    "mismatch",
    [
        {"date_of_birth": "10/04/1988"},
        {"national_id": "079199999999"},
        {"si_code": "9999999999"},
    ],
)
def test_details_that_do_not_match_the_registry_are_not_kept(db_session, mismatch):
    claim = _waiting()
    before = _events()
    offer = offer_details(claim, **mismatch)
    assert offer.errors == {} and offer.event is None
    assert _events() == before


@pytest.mark.parametrize("state", ["approved", "payment_pending", "paid", "rejected"])
def test_a_claim_that_does_not_wait_for_details_takes_no_offer(db_session, state):
    claim = _waiting(state)
    before = _events()
    assert offer_details(claim).event is None and _events() == before


def test_every_input_error_comes_back_at_once_and_nothing_is_written(db_session):
    claim = _waiting()
    before = _events()
    offer = offer_payment_details(
        nq116(),
        si_code="12ab",
        national_id="0010850123",
        date_of_birth=None,
        bank_code="",
        bank_account="12-34",
        phone="12345",
    )
    # "12-34" is four digits, too short: said at once, though no bank was chosen.
    assert set(offer.errors) == {"si_code", "national_id", "date_of_birth", "bank_code", "bank_account", "phone"}
    assert offer.event is None and _events() == before
    wrong_account = offer_details(claim, bank_account="AB12CD34")
    assert set(wrong_account.errors) == {"bank_account"} and _events() == before


def test_the_public_page_answers_the_same_matched_or_not(client, db_session):
    claim = _waiting()
    assert "/people/payment-details" in client.get("/").get_data(as_text=True)
    page = client.get("/people/payment-details")
    assert page.status_code == 200 and "Gửi thông tin tài khoản nhận hỗ trợ" in _text(page)
    for name in ("si_code", "national_id", "bank_account"):  # a phone shows its digits' keypad
        assert re.search(
            rf'<input[^>]*inputmode="numeric"[^>]*name="{name}"|<input[^>]*name="{name}"[^>]*inputmode="numeric"',
            page.get_data(as_text=True),
        ), name

    matched = client.post("/people/payment-details", data=details_form(claim))
    unknown = client.post("/people/payment-details", data=details_form(claim, si_code="9999999999"))
    assert matched.status_code == unknown.status_code == 200
    assert SENT in _text(matched) and SENT in _text(unknown)
    assert _text(matched).replace(" ", "") == _text(unknown).replace(" ", "")
    main = matched.get_data(as_text=True).split('<main id="main"', 1)[1]
    assert 'href="/people/status"' in main  # a way on from the answer: the status look-up
    assert open_offer(db.session.get(Claim, claim.id)) is not None

    wrong = client.post("/people/payment-details", data=details_form(claim, date_of_birth="31/02/1988", bank_code=""))
    assert wrong.status_code == 422
    assert "Ngày 31/02/1988 không có trong lịch." in _text(wrong) and "Hãy chọn ngân hàng." in _text(wrong)
    unborn = client.post("/people/payment-details", data=details_form(claim, date_of_birth="01/02/2090"))
    today = programme_today().strftime("%d/%m/%Y")
    said = f"Ngày sinh 01/02/2090 nằm trong tương lai (hôm nay là {today})."  # the date typed, then today's, named
    assert unborn.status_code == 422 and said in _text(unborn)


def test_an_offer_the_claim_moved_on_from_is_not_offered_again(db_session):
    """An offer sent during review; the caseworker checks it by phone, it is false, and the claim is approved on the
    details it had. When that payment fails and the claim waits again, the old offer must not come back as if new."""
    from disburse.claims.service import transition

    claim = _waiting("needs_review", reasons=["bank_details_malformed"], bank_account="12")
    assert offer_details(claim).event is not None and open_offer(claim) is not None
    for action in ("approve", "queue_payment", "payment_failed"):
        transition(claim, action)
    db.session.refresh(claim)
    assert claim.state == "payment_failed"
    assert open_offer(claim) is None
    # A new offer, sent while it waits again, is the one shown.
    fresh = offer_details(claim, bank_account="21510009999999").event
    assert fresh is not None and open_offer(claim) == fresh


def test_the_public_page_is_rate_limited_per_address(client, db_session):
    claim = _waiting()
    codes = [
        client.post("/people/payment-details", data=details_form(claim, si_code=f"99999999{n:02d}")).status_code
        for n in range(6)
    ]
    assert codes == [200] * 5 + [429]


def test_the_case_page_shows_the_offer_and_prefills_the_correction(client, db_session):
    """The link to the prefilled correction names the person's offer, never the account number: a URL is written to
    the web server's access log and the browser's history."""
    claim = _waiting()
    offered = offer_details(claim).event
    assert offered is not None
    other = _waiting()
    elsewhere = offer_details(other, bank_account="21510007654321").event
    assert elsewhere is not None
    caseworker = create_user("caseworker", district="017", password=PASSWORD)
    assert client.post("/login", data={"email": caseworker.email, "password": PASSWORD}).status_code == 302

    page = client.get(f"/caseworker/claims/{claim.id}")
    case = _text(page)
    assert "Người lao động đã gửi thông tin tài khoản" in case and "BIDV 21510001234567" in case
    link = f"/caseworker/claims/{claim.id}/payment-details?offer={offered.id}"
    assert f'href="{link}"' in page.get_data(as_text=True)
    assert [url for url in re.findall(r'(?:href|action)="([^"]*)"', page.get_data(as_text=True)) if "2151" in url] == []
    form = client.get(link).get_data(as_text=True)
    assert 'value="21510001234567"' in form and re.search(
        r'id="bank_code"[^>]*value="BIDV"|value="BIDV"[^>]*id="bank_code"', form
    )
    # Another claim's offer, or no offer, prefills nothing.
    for url in (f"{link.split('?')[0]}?offer={elsewhere.id}", f"{link.split('?')[0]}?offer=abc", link.split("?")[0]):
        form = client.get(url).get_data(as_text=True)
        assert "2151000" not in form.split("Tài khoản hiện tại", 1)[1], url


def test_an_account_is_checked_even_when_no_bank_is_chosen(db_session):
    """Every error at once: an account of letters with no bank chosen was not said wrong until the bank was chosen."""
    claim = _waiting()
    errors = offer_details(claim, bank_code="", bank_account="12ab").errors
    assert errors["bank_code"] == ("Hãy chọn ngân hàng.", "Choose the bank.")
    assert errors["bank_account"][1] != "Give the account number." and "digits" in errors["bank_account"][1]
    unknown = offer_details(claim, bank_code="XYZ", bank_account="").errors
    assert "not known" in unknown["bank_code"][1] and unknown["bank_account"] == (
        "Hãy ghi số tài khoản.",
        "Give the account number.",
    )


def test_the_status_result_carries_the_three_facts_to_the_details_page(client, db_session):
    """A person told on the status page that their claim waits for bank details had to type the SI code, the ID
    number and the date of birth again on the details page. The result's button carries them: the page opens filled
    in, nothing checked nor kept, and sent with the bank and the account it is the usual send."""
    claim = _waiting()
    facts = {k: v for k, v in details_form(claim).items() if k in ("si_code", "national_id", "date_of_birth")}
    result = client.post("/people/status", data=facts).get_data(as_text=True)
    carried = dict(
        re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', result.split('id="send-details"')[1])
    )
    assert {k: carried[k] for k in facts} == facts and carried["carried"] == "1"

    events = db.session.scalar(select(func.count()).select_from(ClaimEvent))
    page = client.post("/people/payment-details", data=carried)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="carried"' in text
    for name, value in facts.items():
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', text), name
    assert "Hãy ghi số tài khoản" not in text and 'class="error-summary' not in text  # nothing checked yet
    assert db.session.scalar(select(func.count()).select_from(ClaimEvent)) == events and open_offer(claim) is None

    sent = client.post("/people/payment-details", data=details_form(claim))
    assert SENT in _text(sent) and open_offer(claim) is not None


def test_the_status_results_button_is_not_one_of_the_details_pages_tries(client, db_session):
    """The status result's button only opens the details page filled in: it is not counted against the page's limit
    (5 a minute per address), and the page's own tries still are."""
    claim = _waiting()
    facts = {k: v for k, v in details_form(claim).items() if k in ("si_code", "national_id", "date_of_birth")}
    carried = client.post("/people/status", data=facts).get_data(as_text=True).split('id="send-details"')[1]
    carried_form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', carried))
    codes = [client.post("/people/payment-details", data=carried_form).status_code for _ in range(7)]
    assert codes == [200] * 7
    tries = [
        client.post("/people/payment-details", data=details_form(claim, si_code=f"99999999{n:02d}")).status_code
        for n in range(6)
    ]
    assert tries == [200] * 5 + [429]
