"""Form 03 as a spreadsheet: the people waiting for new bank details downloaded as a form to fill in, sent back with
many corrections (and additions or removals) at once, each row taken as the form in the browser takes one; refused
rows listed with what to do, and in an errors file."""

from __future__ import annotations

import csv
import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user

TODAY = "2021-10-25"  # the employers' review window, Form 03 taken


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_employer(name="Công ty TNHH Sửa Tài Khoản")


def _person(unit, name: str, state: str) -> Claim:
    return create_claim(state, employee=create_employee(employer_id=unit.id, full_name=name))


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _employer(client, unit, locale: str = "vi"):
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user.get_id(), True
    user.locale = locale
    db.session.commit()
    return client


def _csv(rows: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


def _confirmed(client, url: str, data: dict):
    """A Form 03 file in two steps: read back first, nothing recorded (the same events before and after), then
    "Xác nhận điều chỉnh" with the rows the check page signed."""
    events = db.session.query(ClaimEvent).count()
    checked = client.post(url, data=data, content_type="multipart/form-data")
    page = html.unescape(checked.get_data(as_text=True))
    assert checked.status_code == 200 and "Kiểm tra lại tệp Mẫu số 03 trước khi ghi nhận" in page
    assert db.session.query(ClaimEvent).count() == events
    token = re.search(r'name="rows" type="hidden" value="([^"]+)"', page)
    assert token, "the check page carries the rows it read"
    return client.post(url, data={"rows": token[1], "confirmed": "1"})


def test_the_people_waiting_for_details_download_filled_in_and_come_back_corrected(client, unit):
    an, binh = _person(unit, "Lê Thị An", "awaiting_payment_details"), _person(unit, "Vũ Văn Bình", "payment_failed")
    for claim in (an, binh):
        create_payment(claim, "failed", failure_code="AC04")
    gone = _person(unit, "Đỗ Văn Đi", "listed")
    paid = _person(unit, "Ngô Thị Đủ", "paid")
    client = _employer(client, unit)

    download = client.get(f"/employers/{unit.unit_code}/form-03/waiting")
    assert download.status_code == 200 and f"mau-03-{unit.unit_code}.xlsx" in download.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:4] == [
        "Mã số BHXH (si_code)",
        "Họ và tên (full_name)",
        "Lý do chi trả không thành công (failure)",
        "Thao tác: add / remove / correct (action)",
    ]
    waiting = {row[0]: row for row in rows[1:]}
    assert set(waiting) == {_si(an), _si(binh)}  # not the listed nor the paid
    assert waiting[_si(an)][1] == "Lê Thị An" and waiting[_si(an)][3] == "correct"
    assert "Tài khoản đã đóng" in waiting[_si(an)][2]

    filled = [
        rows[0],
        [_si(an), "Lê Thị An", "", "correct", "VCB", "0071000123456", "", ""],
        [_si(binh), "Vũ Văn Bình", "", "correct", "VCB", "12", "", ""],
        [_si(gone), "", "", "remove", "", "", "", "Đã nghỉ việc"],
        [_si(paid), "", "", "remove", "", "", "", ""],
    ]
    answer = _confirmed(
        client,
        f"/employers/{unit.unit_code}/form-03/upload",
        data={"file": (_csv(filled), "mau03.csv")},
    )
    page = html.unescape(re.sub(r"\s+", " ", answer.get_data(as_text=True)))
    assert answer.status_code == 200
    assert "Điều chỉnh: 1 người" in page and "Không có tại đơn vị: 1 người" in page and "Dòng bị từ chối: 2" in page
    states = {c.id: db.session.get(Claim, c.id).state for c in (an, binh, gone, paid)}
    assert states == {an.id: "approved", binh.id: "payment_failed", gone.id: "removed", paid.id: "paid"}
    assert db.session.get(Claim, an.id).bank_account == "0071000123456"
    # Each refused row with its spreadsheet row number, its column and what to do.
    # The row's person, as the row names them, and their claim (a link to them on the unit's status page).
    claim = f'<a href="/employers/{unit.unit_code}?q={_si(binh)}">Hồ sơ số {binh.id}</a>'
    person = f"Vũ Văn Bình · {_si(binh)} · {claim}"
    cells = f'<td class="name">{person}</td><td class="short">Số tài khoản (bank_account)</td><td class="value">12</td>'
    assert f'<td class="num">3</td>{cells}' in answer.get_data(as_text=True)
    assert "báo cơ quan BHXH quận/huyện" in page  # the paid person's removal: whom to tell
    token = re.search(r'name="errors" type="hidden" value="([^"]+)"', answer.get_data(as_text=True)).group(1)
    errors = client.post(f"/employers/{unit.unit_code}/form-02/errors", data={"errors": token})
    assert errors.status_code == 200 and f"mau-03-{unit.unit_code}-loi.csv" in errors.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(errors.data.decode("utf-8-sig"))))
    assert [line[:6] for line in lines[1:]] == [
        ["3", _si(binh), "Vũ Văn Bình", "bank_account", "12", "account_format"],
        ["5", _si(paid), "", "action", "remove", "cannot_remove"],
    ]


def test_a_returned_waiting_list_passes_over_its_rows_left_blank_and_takes_vietnamese_actions(client, unit):
    """The waiting list comes with every row a "correct" to fill in: the rows the unit left as they were buried the
    real refusals under one "a correction row needs the new details" each. They are passed over and counted; an
    action written in Vietnamese is taken; a person on two rows is refused naming the rows the spreadsheet shows."""
    an, chi, binh = (_person(unit, name, "awaiting_payment_details") for name in ("Lê Thị An", "Hà Chi", "Vũ Bình"))
    for claim in (an, chi, binh):
        create_payment(claim, "failed", failure_code="AC04")
    gone = _person(unit, "Đỗ Văn Đi", "listed")
    client = _employer(client, unit)
    rows = [
        ["si_code", "Thao tác: add / remove / correct (action)", "bank_code", "bank_account", "phone", "reason"],
        [_si(an), "Điều chỉnh", "VCB", "0071000123456", "", ""],
        [_si(chi), "correct", "", "", "", ""],  # left as downloaded
        [_si(gone), "KHÔNG CÓ TẠI ĐƠN VỊ", "", "", "", "Đã nghỉ việc"],
        [_si(binh), "sửa", "VCB", "0071000222333", "", ""],
        [_si(binh), "correct", "VCB", "0071000444555", "", ""],
    ]
    answer = _confirmed(
        client,
        f"/employers/{unit.unit_code}/form-03/upload",
        data={"file": (_csv(rows), "mau03.csv")},
    )
    page = html.unescape(re.sub(r"\s+", " ", answer.get_data(as_text=True)))
    assert answer.status_code == 200
    assert "Điều chỉnh: 1 người" in page and "Không có tại đơn vị: 1 người" in page and "Dòng bị từ chối: 2" in page
    assert "Dòng điều chỉnh chưa ghi thông tin mới (bỏ qua): 1" in page
    assert "Mã số BHXH này có ở nhiều dòng (5, 6)" in page
    assert "Dòng điều chỉnh cần ghi thông tin mới" not in page
    states = {c.id: db.session.get(Claim, c.id).state for c in (an, chi, binh, gone)}
    assert states == {an.id: "approved", chi.id: "awaiting_payment_details", binh.id: "awaiting_payment_details"} | {
        gone.id: "removed"
    }


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_file_without_the_si_code_or_the_action_column_changes_nothing_and_says_so(client, unit, locale):
    claim = _person(unit, "Lê Thị An", "awaiting_payment_details")
    client = _employer(client, unit, locale)
    upload = _csv([["Mã số BHXH", "Ngân hàng", "Số tài khoản"], [_si(claim), "VCB", "0071000123456"]])
    answer = client.post(
        f"/employers/{unit.unit_code}/form-03/upload",
        data={"file": (upload, "mau03.csv")},
        content_type="multipart/form-data",
    )
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    words = "Thiếu cột Thao tác: add / remove / correct (action)" if locale == "vi" else "The column Thao tác"
    assert words in page and 'href="#file"' in page
    assert db.session.get(Claim, claim.id).state == "awaiting_payment_details"


def test_the_columns_are_read_by_their_labels_too(client, unit):
    """A file typed by hand with the labels alone (no "(name)"), in any case: every column, the removal's reason too
    (its label once ended in brackets, "(remove)", and was read as a column named "remove": the reason was lost)."""
    from disburse.claims.unit import FORM_03_COLUMNS
    from disburse.spreadsheets import normalise_header

    assert normalise_header([label.upper() for label, _ in FORM_03_COLUMNS]) == [
        label.lower() for label, _ in FORM_03_COLUMNS
    ]
    claim = _person(unit, "Lê Thị An", "awaiting_payment_details")
    create_payment(claim, "failed", failure_code="AC04")
    gone = _person(unit, "Lê Văn Bình", "employer_confirmed")
    client = _employer(client, unit)
    columns = [name for _, name in FORM_03_COLUMNS]
    corrected = {"si_code": _si(claim), "action": "correct", "bank_code": "VCB", "bank_account": "0071000999888"}
    removed = {"si_code": _si(gone), "action": "remove", "reason": "Đã nghỉ việc từ ngày 15/08/2021"}
    upload = _csv(
        [
            [label.upper() for label, _ in FORM_03_COLUMNS],
            *([row.get(name, "") for name in columns] for row in (corrected, removed)),
        ]
    )
    answer = _confirmed(client, f"/employers/{unit.unit_code}/form-03/upload", data={"file": (upload, "mau03.csv")})
    assert answer.status_code == 200
    assert db.session.get(Claim, claim.id).bank_account == "0071000999888"
    assert db.session.get(Claim, gone.id).state == "removed"
    event = db.session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == gone.id, ClaimEvent.action == "remove")
    ).one()
    assert event.reason == "Đã nghỉ việc từ ngày 15/08/2021"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_upload_fields_name_the_size_they_take_even_under_a_megabyte(client, unit, app, monkeypatch, locale):
    """A limit under 1 MB read "Tối đa 0 MB": both employer upload fields name it as it is."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 500_000)
    client = _employer(client, unit, locale)
    for form in ("form-02", "form-03"):
        page = html.unescape(client.get(f"/employers/{unit.unit_code}/{form}").get_data(as_text=True))
        assert ("Tối đa 488 kB. Nên gửi tệp .xlsx" if locale == "vi" else "At most 488 kB. Prefer the .xlsx") in page, (
            form
        )


def test_a_correction_of_the_phone_alone_says_the_person_still_waits_for_bank_details(client, unit):
    """A person whose payment failed had their phone corrected on Form 03: "Điều chỉnh: 1 người", and nothing said
    that the money still waited for an account. The browser's form and the file both say so now."""
    an, binh = (_person(unit, name, "awaiting_payment_details") for name in ("Lê Thị An", "Vũ Văn Bình"))
    for claim in (an, binh):
        create_payment(claim, "failed", failure_code="AC04")
    client = _employer(client, unit)
    sent = client.post(
        f"/employers/{unit.unit_code}/form-03", data={"action": "correct", "si_code": _si(an), "phone": "0912345678"}
    )
    assert sent.status_code == 302
    page = html.unescape(client.get(sent.headers["Location"]).get_data(as_text=True))
    assert "Người này vẫn chờ thông tin tài khoản mới để được chi trả lại" in page
    rows = [["si_code", "action", "bank_code", "bank_account", "phone"], [_si(binh), "correct", "", "", "0987654321"]]
    answer = _confirmed(
        client,
        f"/employers/{unit.unit_code}/form-03/upload",
        data={"file": (_csv(rows), "mau03.csv")},
    )
    page = html.unescape(re.sub(r"\s+", " ", answer.get_data(as_text=True)))
    assert "Vẫn chờ thông tin tài khoản mới để chi trả lại (chỉ điều chỉnh số điện thoại): 1 người" in page
    assert {db.session.get(Claim, c.id).state for c in (an, binh)} == {"awaiting_payment_details"}
    # The same sent again ("unchanged"): still said.
    again = client.post(
        f"/employers/{unit.unit_code}/form-03", data={"action": "correct", "si_code": _si(an), "phone": "0912345678"}
    )
    page = html.unescape(client.get(again.headers["Location"]).get_data(as_text=True))
    assert "Người này vẫn chờ thông tin tài khoản mới để được chi trả lại" in page


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
@pytest.mark.parametrize("form", ["form-02", "form-03"])
def test_a_header_under_a_title_is_said_so_with_the_rows_to_delete(client, unit, form, suffix):
    """Units put their company's name and a title above the table: "the SI code column is missing" although it was
    plainly there. Both forms say the row of column names must come first, and how many rows to delete."""
    claim = _person(unit, "Lê Thị An", "listed" if form == "form-02" else "awaiting_payment_details")
    header = ["Mã số BHXH (si_code)", "Thao tác: add / remove / correct (action)", "Ngân hàng (bank_code)"]
    header += ["Số tài khoản (bank_account)"]
    rows = [
        ["CÔNG TY TNHH SỬA TÀI KHOẢN"],
        ["DANH SÁCH (Mẫu số 02)"],
        header,
        [_si(claim), "correct", "VCB", "00710001"],
    ]
    if suffix == "csv":
        upload = _csv(rows)
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        upload = io.BytesIO()
        book.save(upload)
        upload.seek(0)
    client = _employer(client, unit)
    answer = client.post(
        f"/employers/{unit.unit_code}/{form}/upload",
        data={"file": (upload, f"mau.{suffix}")},
        content_type="multipart/form-data",
    )
    page = html.unescape(re.sub(r"\s+", " ", answer.get_data(as_text=True)))
    assert answer.status_code == 400
    assert "Dòng tên cột phải là dòng đầu tiên của bảng tính, nhưng tệp có nó ở dòng 3: hãy xoá 2 dòng" in page
    assert db.session.get(Claim, claim.id).state == ("listed" if form == "form-02" else "awaiting_payment_details")
