"""Form 03 in the browser reads back what it will record before it records it (as the caseworker's refusal does): the
person, the old account (masked but for its end) and the new one, with "Xác nhận điều chỉnh" and "Sửa lại". Nothing
is written until confirmed; a confirmation after the person's details changed is read back again."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from tests.claims.test_employer_pages import _employer, _person, _si, _signed_in, _text
from tests.claims.test_employer_pages import unit as unit
from tests.factories import create_employee, create_user


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(ClaimEvent))


def _seen(page: str) -> str:
    found = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page)
    assert found
    return found[1]


@pytest.mark.parametrize(("locale", "words"), [("vi", "Kiểm tra lại trước khi ghi nhận"), ("en", "Check")])
def test_a_correction_is_read_back_and_recorded_only_when_confirmed(client, unit, locale, words):
    claim = _person(unit, "Mai Văn Sai", "awaiting_payment_details", bank_code="VCB", bank_account="0011004455667")
    client = _employer(client, unit, locale)
    url = f"/employers/{unit.unit_code}/form-03"
    # Typed in groups: read back as it will be stored, digits only (it was read back as typed).
    data = {"action": "correct", "si_code": _si(claim), "bank_code": "bidv", "bank_account": "1234 5678-901"}
    events = _events()

    checked = client.post(url, data=data)
    page = _text(checked)
    assert checked.status_code == 200 and 'id="kiem-tra-lai"' in page and words in page
    assert "Mai Văn Sai" in page and _si(claim) in page
    # The old account masked but for its last four digits; the new one in full, to be read; the bank by its name.
    assert re.search(r'id="check-old-account">Vietcombank[^<]*· <span class="account">\*{9}5667</span>', page)
    assert "0011004455667" not in page
    assert re.search(r'id="check-new-account">BIDV[^<]*· <span class="account">12345678901</span>', page)
    assert 'name="bank_code" value="BIDV"' in page  # what was typed, read into the bank's code
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).bank_account, _events()) == ("0011004455667", events)

    # "Sửa lại": the form again as typed, nothing recorded, and sent again it is read back again.
    again = client.post(url, data={**data, "bank_code": "BIDV", "confirmed": "1", "seen": _seen(page), "edit": "1"})
    assert again.status_code == 200 and 'id="kiem-tra-lai"' not in _text(again)
    assert 'value="12345678901"' in _text(again) and 'name="confirmed" type="hidden" value=""' in _text(again)
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).bank_account, _events()) == ("0011004455667", events)

    done = client.post(url, data={**data, "bank_code": "BIDV", "confirmed": "1", "seen": _seen(page)})
    assert done.status_code == 302
    db.session.expire_all()
    recorded = db.session.get(Claim, claim.id)
    assert (recorded.bank_code, recorded.bank_account, recorded.state) == ("BIDV", "12345678901", "approved")


def test_a_confirmation_after_the_details_changed_is_read_back_again(client, unit):
    claim = _person(unit, "Lê Thị Đổi", "awaiting_payment_details", bank_code="VCB", bank_account="0011004455667")
    client = _employer(client, unit)
    url = f"/employers/{unit.unit_code}/form-03"
    data = {"action": "correct", "si_code": _si(claim), "bank_code": "BIDV", "bank_account": "12345678901"}
    seen = _seen(_text(client.post(url, data=data)))

    # Meanwhile another correction (another tab, a colleague) changed the account the page read back.
    db.session.get(Claim, claim.id).bank_account = "0022007788990"
    db.session.commit()
    again = client.post(url, data={**data, "confirmed": "1", "seen": seen})
    page = _text(again)
    assert again.status_code == 200 and 'id="kiem-tra-lai"' in page
    assert "Thông tin của người này vừa thay đổi" in page and "*********8990" in page
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == "0022007788990"  # not overwritten unseen

    assert client.post(url, data={**data, "confirmed": "1", "seen": _seen(page)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == "12345678901"


def test_a_removal_and_an_addition_are_read_back_too(client, unit):
    gone = _person(unit, "Lý Thị Đi")
    client = _employer(client, unit)
    url = f"/employers/{unit.unit_code}/form-03"
    page = _text(client.post(url, data={"action": "remove", "si_code": _si(gone), "reason": "Nghỉ việc từ 2019"}))
    assert 'id="check-reason">Nghỉ việc từ 2019<' in page and "Lý Thị Đi" in page
    db.session.expire_all()
    assert db.session.get(Claim, gone.id).state == "listed"

    missing = create_employee(employer_id=unit.id, full_name="Ngô Văn Mới")
    page = _text(client.post(url, data={"action": "add", "si_code": missing.si_code}))
    assert 'id="check-new-account">Nhận tiền mặt tại cơ quan BHXH<' in page and "Ngô Văn Mới" in page
    assert db.session.scalar(select(func.count()).where(Claim.employee_id == missing.id)) == 0


def _file(rows: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


def test_a_file_is_read_back_row_by_row_and_recorded_only_when_confirmed(client, unit):
    claim = _person(unit, "Mai Văn Sai", "awaiting_payment_details", bank_code="VCB", bank_account="0011004455667")
    sender = create_user("employer", employer_unit=unit.unit_code)
    client = _signed_in(client, sender)
    url = f"/employers/{unit.unit_code}/form-03/upload"
    rows = [["si_code", "action", "bank_code", "bank_account"], [_si(claim), "correct", "Vietcombank", "12345678901"]]
    events = _events()
    checked = client.post(url, data={"file": (_file(rows), "mau03.csv")}, content_type="multipart/form-data")
    page = _text(checked)
    assert checked.status_code == 200 and "Kiểm tra lại tệp Mẫu số 03 trước khi ghi nhận" in page
    assert re.search(
        rf'<td class="name">Mai Văn Sai · {_si(claim)}</td> '
        r'<td class="value">Điều chỉnh tài khoản ngân hàng hoặc số điện thoại</td> '
        r'<td class="value">Vietcombank[^<]*· <span class="account">\*{9}5667</span></td> '
        r'<td class="long">Vietcombank[^<]*· <span class="account">12345678901</span></td>',
        page,
    )
    assert "0011004455667" not in page and "Xác nhận điều chỉnh" in page and "Sửa lại" in page
    assert _events() == events  # nothing recorded yet
    token = re.search(r'name="rows" type="hidden" value="([^"]+)"', page)[1]

    # Tampered, or sent by another employer of the unit: refused, nothing recorded.
    assert client.post(url, data={"rows": token[:-2] + "xx", "confirmed": "1"}).status_code == 400
    _signed_in(client, create_user("employer", employer_unit=unit.unit_code))
    assert client.post(url, data={"rows": token, "confirmed": "1"}).status_code == 400
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).bank_account, _events()) == ("0011004455667", events)

    _signed_in(client, sender)
    done = client.post(url, data={"rows": token, "confirmed": "1"})
    assert done.status_code == 200 and "Kết quả tiếp nhận tệp Mẫu số 03" in _text(done)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == "12345678901"


def test_a_files_account_and_phone_are_read_back_as_they_will_be_stored(client, unit):
    """A file's account typed in groups ("0011-2233 4455", as copied from a card) and its phone with dots were read
    back as typed, while the form in the browser reads back the digits it stores: the file's check page now does
    too, the digits that are recorded on confirmation."""
    claim = _person(unit, "Mai Văn Nhóm", "awaiting_payment_details", bank_code="VCB", bank_account="0011004455667")
    client = _signed_in(client, create_user("employer", employer_unit=unit.unit_code))
    url = f"/employers/{unit.unit_code}/form-03/upload"
    rows = [
        ["si_code", "action", "bank_code", "bank_account", "phone"],
        [_si(claim), "correct", "BIDV", "0011-2233 4455", "0912.345.678"],
    ]
    page = _text(client.post(url, data={"file": (_file(rows), "mau03.csv")}, content_type="multipart/form-data"))
    assert "Kiểm tra lại tệp Mẫu số 03 trước khi ghi nhận" in page
    assert re.search(r'<td class="long">BIDV[^<]*· <span class="account">001122334455</span>', page)
    assert "Số điện thoại mới: 0912345678" in page
    assert "0011-2233 4455" not in page and "0912.345.678" not in page
    token = re.search(r'name="rows" type="hidden" value="([^"]+)"', page)[1]
    assert "Kết quả tiếp nhận tệp Mẫu số 03" in _text(client.post(url, data={"rows": token, "confirmed": "1"}))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == "001122334455"


def test_a_files_confirmation_records_only_what_was_read_back(client, unit):
    """A file's confirmation was its rows again, recorded as things stood then: a correction made meanwhile (by the
    unit's form, or a caseworker) was overwritten unseen, and the same confirmation sent again (a reloaded tab) put the
    old account back. It now records only when the people's details and what each row does are as read back;
    otherwise the file is read back again, saying why, and nothing is recorded."""
    claim = _person(unit, "Mai Văn Sai", "awaiting_payment_details", bank_code="VCB", bank_account="0011004455667")
    sender = create_user("employer", employer_unit=unit.unit_code)
    client = _signed_in(client, sender)
    url = f"/employers/{unit.unit_code}/form-03/upload"
    rows = [["si_code", "action", "bank_code", "bank_account"], [_si(claim), "correct", "Vietcombank", "12345678901"]]
    checked = _text(client.post(url, data={"file": (_file(rows), "mau03.csv")}, content_type="multipart/form-data"))
    token = re.search(r'name="rows" type="hidden" value="([^"]+)"', checked)[1]

    # Meanwhile the account is corrected another way: the confirmation is read back again, nothing recorded.
    db.session.get(Claim, claim.id).bank_account = "99988877766"
    db.session.commit()
    events = _events()
    again = client.post(url, data={"rows": token, "confirmed": "1"})
    assert again.status_code == 200 and "đã thay đổi từ khi kiểm tra" in _text(again)
    assert "Kiểm tra lại tệp Mẫu số 03 trước khi ghi nhận" in _text(again)
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).bank_account, _events()) == ("99988877766", events)

    # The new read-back confirmed records it; the same confirmation sent again records nothing more.
    token = re.search(r'name="rows" type="hidden" value="([^"]+)"', _text(again))[1]
    assert "Kết quả tiếp nhận tệp Mẫu số 03" in _text(client.post(url, data={"rows": token, "confirmed": "1"}))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == "12345678901"
    recorded = _events()
    replay = client.post(url, data={"rows": token, "confirmed": "1"})
    assert "đã thay đổi từ khi kiểm tra" in _text(replay)
    db.session.expire_all()
    assert _events() == recorded
