"""Form 04 at the desk: the look-up says whether a code not found is in nobody's records or another office's person
(and never promises what the form refuses); a claim that goes to another district's office is said before it is
saved, confirmed by the caseworker, and named after."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.reference.models import District
from disburse.reference.service import area_in_sentence
from tests.casework.test_application import TODAY, _form, _person
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user

CHUONG_MY = "277"
NEW = "/caseworker/applications/new"


@pytest.fixture
def desk(client, app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_user("caseworker", district="017", password=PASSWORD)


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.mark.parametrize(
    ("locale", "nowhere", "elsewhere", "refused"),
    [
        (
            "vi",
            "Không tìm thấy mã số BHXH này trong dữ liệu của cơ quan BHXH. Hãy kiểm tra lại sổ BHXH: không thể ghi "
            "đề nghị cho một mã số không có trong dữ liệu.",
            "Mã số BHXH này có trong dữ liệu của cơ quan BHXH nhưng người này không thuộc phạm vi của bạn",
            "Không tìm thấy mã số BHXH này trong dữ liệu của cơ quan BHXH; hãy kiểm tra lại sổ BHXH.",
        ),
        (
            "en",
            "This SI code is not in the social security records. Check the social insurance book: an application "
            "cannot be taken for a code that is not in the records.",
            "This SI code is in the social security records, but the person is outside your scope",
            "This SI code is not in the social security records; check the social insurance book.",
        ),
    ],
)
def test_the_look_up_says_whether_the_code_is_unknown_or_another_offices(
    client, desk, locale, nowhere, elsewhere, refused
):
    sign_in(client, desk, locale)
    far = _person(district_code=CHUONG_MY)

    unknown = _text(client.get(f"{NEW}?si_code=0199999991"))
    assert nowhere in unknown and elsewhere not in unknown
    assert "vẫn có thể ghi đề nghị" not in unknown and "can still take" not in unknown  # nothing the form refuses
    # ... and the form refuses it in the same sense.
    posted = client.post(NEW, data=_form(far, si_code="0199999991"))
    assert posted.status_code == 422 and refused in _text(posted)

    other = _text(client.get(f"{NEW}?si_code={far.si_code}"))
    assert elsewhere in other and nowhere not in other
    assert far.national_id not in other  # nothing of the person is shown


@pytest.mark.parametrize(
    ("locale", "warning", "button", "flashed"),
    [
        (
            "vi",
            "hồ sơ được chuyển cho cơ quan BHXH {office}, nơi kiểm tra hồ sơ và chi trả (kể cả tiền mặt)",
            "Xác nhận và ghi nhận đề nghị",
            "Đã nhận Mẫu số 04: hồ sơ số {id} được chuyển cho cơ quan BHXH {office}",
        ),
        (
            "en",
            "the claim goes to the social security office of {office}, which checks it and pays it (cash too)",
            "Confirm and record the application",
            "Form 04 received: claim {id} goes to the social security office of {office}",
        ),
    ],
)
def test_a_claim_for_another_district_is_said_and_confirmed_before_it_is_saved(
    client, desk, locale, warning, button, flashed
):
    sign_in(client, desk, locale)
    office = db.session.get(District, CHUONG_MY).name
    person = _person(district_code=CHUONG_MY)
    data = _form(person, payout="cash", bank_code="", bank_account="", address="Số 5 ngõ 12, Đông Anh, Hà Nội")

    first = client.post(NEW, data=data)

    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert warning.format(office=office) in _text(first) and CHUONG_MY not in _text(first).replace(person.si_code, "")
    assert button in _text(first) and f'<input type="hidden" name="office" value="{CHUONG_MY}">' in page
    assert db.session.scalar(select(Claim).where(Claim.employee_id == person.id)) is None  # not saved yet

    confirmed = client.post(NEW, data={**data, "office": CHUONG_MY})

    assert confirmed.status_code == 302 and confirmed.headers["Location"] == NEW
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert claim is not None and claim.district_code == CHUONG_MY and claim.payout == "cash"
    assert flashed.format(id=claim.id, office=office) in _text(client.get(NEW))
    # The confirmed form sent twice (a double click): recorded once, back to the desk (not another office's claim).
    again = client.post(NEW, data={**data, "office": CHUONG_MY})
    assert again.status_code == 302 and again.headers["Location"] == NEW


def test_a_person_of_the_callers_district_is_saved_at_once(client, desk):
    sign_in(client, desk)
    person = _person()
    response = client.post(NEW, data=_form(person))
    assert response.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert claim is not None and response.headers["Location"] == f"/caseworker/claims/{claim.id}"
    text = _text(client.get(response.headers["Location"]))
    assert f"Đã nhận Mẫu số 04: hồ sơ số {claim.id} đang được kiểm tra." in text


def test_a_found_person_of_another_district_is_warned_at_the_look_up(client, desk):
    """The unit is in the caller's district (so the person is in scope), the person registered elsewhere."""
    from tests.factories import create_employer

    sign_in(client, desk)
    unit = create_employer(district_code="017")
    person = _person(district_code=CHUONG_MY, employer_id=unit.id)
    office = db.session.get(District, CHUONG_MY).name
    page = client.get(f"{NEW}?si_code={person.si_code}")
    text = _text(page)
    assert person.national_id in text or person.full_name in text  # found and shown
    assert f"Người này đăng ký tại {office}: đề nghị ghi ở đây được chuyển cho cơ quan BHXH {office}" in text
    # The warning is not the caseworker's confirmation (they will not open the claim again): asked on saving.
    assert 'name="office"' not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("vi", "Người lao động đến cơ quan BHXH {office} để nhận tiền mặt"),
        ("en", "The person collects the cash at the social security office of {office}"),
    ],
)
def test_the_units_page_names_the_office_that_pays_the_cash(client, desk, locale, words):
    """A Form 04 claim worked by the person's district (Chương Mỹ) for a unit of Đông Anh: the unit's page sends the
    person to Chương Mỹ's office, which holds the cash, not to the unit's district."""
    from tests.factories import create_claim, create_employee, create_employer

    unit = create_employer(district_code="017")
    person = create_employee(employer_id=unit.id, district_code=CHUONG_MY)
    create_claim(
        "payment_pending", employee=person, district_code=CHUONG_MY, payout="cash", bank_code=None, bank_account=None
    )
    sign_in(client, create_user("employer", employer_unit=unit.unit_code, password=PASSWORD), locale)
    office = area_in_sentence(db.session.get(District, CHUONG_MY).name)[locale == "en"]  # "huyện Chương Mỹ"
    text = _text(client.get(f"/employers/{unit.unit_code}?q={person.si_code}"))
    assert words.format(office=office) in text
    assert db.session.get(District, "017").name not in text.split(person.si_code, 1)[1]


def test_the_look_up_promises_nothing_for_another_offices_person_the_form_refuses(client, desk, app, monkeypatch):
    """A person outside the scope who has a claim already, or any person once applications have closed: the look-up
    says what the form would answer, not that the application may still be taken."""
    from tests.factories import create_claim

    sign_in(client, desk)
    claimed = _person(district_code=CHUONG_MY)
    claim = create_claim("needs_review", track="B", employee=claimed, district_code=CHUONG_MY)
    fresh = _person(district_code=CHUONG_MY)

    text = _text(client.get(f"{NEW}?si_code={claimed.si_code}"))
    assert "Mẫu số 04 sẽ không được nhận: người này đã có hồ sơ hỗ trợ" in text and "Vẫn có thể ghi đề nghị" not in text
    # An SI code alone tells nothing of another office's claim: neither its number nor its state.
    assert f"số {claim.id}" not in text and "'Cần xác minh'" not in text
    posted = client.post(NEW, data=_form(claimed))
    assert posted.status_code == 409 and f"Người này đã có hồ sơ hỗ trợ số {claim.id}" in _text(posted)

    assert "Vẫn có thể ghi đề nghị" in _text(client.get(f"{NEW}?si_code={fresh.si_code}"))
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-06-01")  # after NQ116's application deadline
    late = _text(client.get(f"{NEW}?si_code={fresh.si_code}"))
    assert "Đã hết hạn nhận đề nghị hỗ trợ (Mẫu số 04)" in late and "Vẫn có thể ghi đề nghị" not in late


def test_a_warning_uses_up_no_claim_number(client, desk):
    """The other office is found before anything is saved: the claim asked about is not made and undone (each
    warning took a number of the claims' sequence, so the numbers of the claims saved had gaps)."""
    sign_in(client, desk)
    far = _person(district_code=CHUONG_MY)
    first = client.post(NEW, data=_form(_person()))
    before = db.session.scalar(select(Claim.id).order_by(Claim.id.desc()).limit(1))
    assert first.status_code == 302 and before is not None

    for _ in range(2):  # asked, and asked again (the page sent without the office confirmed)
        warned = client.post(NEW, data=_form(far))
        assert warned.status_code == 200 and 'id="xac-nhan-co-quan"' in warned.get_data(as_text=True)
    after = client.post(NEW, data=_form(_person()))

    assert after.status_code == 302
    assert after.headers["Location"] == f"/caseworker/claims/{before + 1}"  # the next number: none was used up
    confirmed = client.post(NEW, data={**_form(far), "office": CHUONG_MY})
    assert confirmed.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == far.id))
    assert claim is not None and claim.id == before + 2 and claim.district_code == CHUONG_MY


def test_a_refused_form_for_another_office_is_refused_not_warned(client, desk):
    """Whatever Form 04 would refuse is said at once, before any question of the office (it was so when the claim
    was made to learn its district): a national ID that does not match the registry."""
    sign_in(client, desk)
    far = _person(district_code=CHUONG_MY)
    response = client.post(NEW, data=_form(far, national_id="001199000999"))
    text = _text(response)
    assert response.status_code == 422 and 'id="xac-nhan-co-quan"' not in response.get_data(as_text=True)
    assert "Số CMND/CCCD không khớp với dữ liệu của cơ quan BHXH cho mã số BHXH này." in text


@pytest.mark.parametrize(
    ("role", "locale", "looked_up", "warning", "flashed"),
    [
        (
            "supervisor",
            "vi",
            "Đề nghị ghi ở đây được chuyển cho cơ quan BHXH {office}, nơi kiểm tra hồ sơ và chi trả",
            "Hồ sơ được chuyển cho cơ quan BHXH {office}, nơi kiểm tra hồ sơ và chi trả (kể cả tiền mặt)",
            "Đã nhận Mẫu số 04: hồ sơ số {id} được chuyển cho cơ quan BHXH {office}",
        ),
        (
            "admin",
            "en",
            "An application taken here goes to the social security office of {office}, which checks the claim",
            "The claim goes to the social security office of {office}, which checks it and pays the person",
            "Form 04 received: claim {id} goes to the social security office of {office}",
        ),
    ],
)
def test_a_supervisor_or_an_admin_is_told_the_office_the_claim_goes_to(
    client, app, db_session, monkeypatch, role, locale, looked_up, warning, flashed
):
    """A supervisor or an admin has no office of their own: every Form 04 they take goes to the office of the
    person's district, named at the look-up and before it is saved (they were told nothing)."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    sign_in(client, create_user(role, password=PASSWORD), locale)
    office = db.session.get(District, CHUONG_MY).name
    person = _person(district_code=CHUONG_MY)
    data = _form(person)

    found = _text(client.get(f"{NEW}?si_code={person.si_code}"))
    assert looked_up.format(office=office) in found and "your office" not in found and "của bạn" not in found
    first = client.post(NEW, data=data)  # sent without the look-up: the office is said before it is saved

    assert first.status_code == 200 and warning.format(office=office) in _text(first)
    assert f'<input type="hidden" name="office" value="{CHUONG_MY}">' in first.get_data(as_text=True)
    assert "you will not be able to open it" not in _text(first) and "không mở được" not in _text(first)
    assert db.session.scalar(select(Claim).where(Claim.employee_id == person.id)) is None  # not saved yet

    confirmed = client.post(NEW, data={**data, "office": CHUONG_MY})

    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert claim is not None and claim.district_code == CHUONG_MY
    # They see every district's claims: to the case, which says where it went.
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == f"/caseworker/claims/{claim.id}"
    assert flashed.format(id=claim.id, office=office) in _text(client.get(confirmed.headers["Location"]))
    # The confirmed form sent twice: recorded once, to the case again.
    again = client.post(NEW, data={**data, "office": CHUONG_MY})
    assert again.status_code == 302 and again.headers["Location"] == f"/caseworker/claims/{claim.id}"


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_a_supervisor_told_the_office_by_the_look_up_saves_in_one_step_unless_the_form_then_names_another(
    client, app, db_session, monkeypatch, role
):
    """The look-up names the office to a supervisor or an admin (they have none of their own) and the form carries
    it: sent as it is, the claim is saved at once, not asked about again; a form whose office is not the one the
    claim goes to (another unit's district typed in since) is asked about first, as without a look-up."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    sign_in(client, create_user(role, password=PASSWORD))
    person, other = _person(district_code=CHUONG_MY), _person(district_code=CHUONG_MY)

    looked_up = client.get(f"{NEW}?si_code={person.si_code}").get_data(as_text=True)
    assert f'<input type="hidden" name="office" value="{CHUONG_MY}">' in looked_up
    saved = client.post(NEW, data={**_form(person), "office": CHUONG_MY})

    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert saved.status_code == 302 and claim is not None and claim.district_code == CHUONG_MY
    asked = client.post(NEW, data={**_form(other), "office": "017"})
    assert asked.status_code == 200 and 'id="xac-nhan-co-quan"' in asked.get_data(as_text=True)
    assert db.session.scalar(select(Claim).where(Claim.employee_id == other.id)) is None
