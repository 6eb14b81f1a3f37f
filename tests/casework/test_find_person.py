"""The staff's "find a person" page (GET /caseworker/people/find, and its list posted to the same address) through the
Flask test client on real PostgreSQL: what a caseworker reads of the person found by SI code, national ID or a part
of the name (with or without diacritics); the caller's scope (a caseworker of another district finds nothing, as for
an unknown code; a province's supervisor and an admin further); a name searched within one district only (a
caseworker's own; a supervisor or an admin chooses one within their scope, is asked for it, and is answered "not in
your scope" for one outside it); a list's rows in the order asked with its "not found" rows, its counts and its file;
bad input (a code of the wrong shape, 1,001 codes, a hostile file) said in both languages, naming the line, with
nothing read or recorded."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from html import unescape

import openpyxl
import pytest
from sqlalchemy import func, select

from disburse.auth.models import AuditLog
from disburse.claims.states import ClaimState
from disburse.extensions import db
from tests.conftest import PASSWORD, downloaded_name, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH, GIA_LAM, QUAN_1 = "017", "018", "760"  # Hà Nội, Hà Nội, Hồ Chí Minh City
URL = "/caseworker/people/find"


def _text(response) -> str:
    page = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _rows(response, table: str) -> list[str]:
    """The text of each row of the table ``table`` (its body), as read."""
    page = response.get_data(as_text=True)
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table}"
    return [
        unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))).strip()
        for row in re.findall(r"<tr.*?</tr>", body.group(1), re.S)
    ]


@pytest.fixture
def world(db_session):
    """A paid person of Đông Anh, one without a claim there, and one of Quận 1 (Hồ Chí Minh City)."""
    unit = create_employer(name="Công ty Dệt May Đông Anh", district_code=DONG_ANH)
    paid_person = create_employee(
        full_name="Đào  Mai Anh",
        employer_id=unit.id,
        national_id="001190012345",
        si_code="0100123456",
        date_of_birth=date(1990, 3, 7),
    )
    claim = create_claim(ClaimState.PAID, employee=paid_person)
    create_payment(claim, state="paid")
    no_claim = create_employee(full_name="Trần Văn Bình", employer_id=unit.id, si_code="0100123457")
    far_unit = create_employer(name="Công ty Sài Gòn", district_code=QUAN_1)
    far = create_employee(full_name="Đào Mai Anh", employer_id=far_unit.id, district_code=QUAN_1, si_code="7900000001")
    create_claim(ClaimState.NEEDS_REVIEW, employee=far)
    db.session.commit()
    return {"unit": unit, "paid": paid_person, "claim": claim, "no_claim": no_claim, "far": far}


def _as(client, role: str, locale: str = "vi", **scope):
    user = create_user(role, password=PASSWORD, **scope)
    sign_in(client, user, locale)
    client.get("/")  # the sign-in's flash is read there, not on the pages compared
    return user


def test_a_caseworker_finds_a_person_by_si_code_with_everything_said_on_the_phone(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    response = client.get(URL, query_string={"q": " 0100123456 "})
    assert response.status_code == 200
    rows = _rows(response, "people")
    assert len(rows) == 1
    row = rows[0]
    unit = world["unit"]
    said = ("Đào Mai Anh", "0100123456", "001190012345", "07/03/1990", unit.unit_code, "Dệt May Đông Anh")
    for words in (*said, "Đã chi trả", "Thành công"):
        assert words in row, words
    assert re.search(r"\d{1,3}(\.\d{3})+ ₫", row), row
    assert f'href="/caseworker/claims/{world["claim"].id}"' in response.get_data(as_text=True)
    assert "Có 1 người khớp." in _text(response)


def test_a_person_without_a_claim_links_to_the_desks_form_04(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    response = client.get(URL, query_string={"q": "0100123457"})
    row = _rows(response, "people")[0]
    assert "Chưa có hồ sơ" in row
    assert 'href="/caseworker/applications/new?si_code=0100123457"' in response.get_data(as_text=True)


def test_national_id_and_name_without_diacritics_however_spaced(client, world):
    """A caseworker's name search reads their district's people: those of its units and those whose claim it
    handles, wherever they live."""
    far_worker = create_employee(full_name="Đào Mai Anh", district_code=QUAN_1, employer_id=world["unit"].id)
    far_claim = create_employee(full_name="Đào Mai Anh Thư", district_code=QUAN_1, si_code="7900000002")
    create_claim(ClaimState.NEEDS_REVIEW, employee=far_claim, district_code=DONG_ANH)
    db.session.commit()
    _as(client, "caseworker", district=DONG_ANH)
    by_id = client.get(URL, query_string={"q": "001190012345"})
    assert ["0100123456" in row for row in _rows(by_id, "people")] == [True]
    by_name = client.get(URL, query_string={"q": "dao   mai anh"})
    rows = _rows(by_name, "people")
    # Đông Anh's: the one of its unit, the one of its unit living in Quận 1, the one whose claim it handles; not
    # Quận 1's namesake.
    found = sorted(re.search(r"\b\d{10}\b", row).group(0) for row in rows)
    assert found == sorted(["0100123456", far_worker.si_code, "7900000002"])
    assert "7900000001" not in by_name.get_data(as_text=True)
    assert "Tìm theo họ tên trong" in _text(by_name) and "(017)" in _text(by_name)


def test_a_caseworker_needs_no_district_and_cannot_name_another(client, world):
    """The district of a caseworker's name search is their own, whatever the query string says; the page does not
    ask them for one."""
    _as(client, "caseworker", district=DONG_ANH)
    page = client.get(URL).get_data(as_text=True)
    assert 'name="district"' not in page
    response = client.get(URL, query_string={"q": "mai anh", "district": QUAN_1})
    assert response.status_code == 200
    assert [("0100123456" in row) for row in _rows(response, "people")] == [True]


def test_a_person_living_in_the_district_working_elsewhere_without_a_claim_is_found_by_code_only(client, world):
    """What the district's people are for a name: its units' and its claims'. Reading the people who live there
    would need an index on ``employees.district_code``, which the registry's import would pay for."""
    elsewhere = create_employer(district_code=QUAN_1)
    create_employee(full_name="Vũ Thị Ở Nhà", district_code=DONG_ANH, employer_id=elsewhere.id, si_code="0100999999")
    db.session.commit()
    _as(client, "caseworker", district=DONG_ANH)
    assert 'id="no-people"' in client.get(URL, query_string={"q": "vu thi o nha"}).get_data(as_text=True)
    assert ["0100999999" in row for row in _rows(client.get(URL, query_string={"q": "0100999999"}), "people")] == [True]


def test_a_caseworker_of_another_district_finds_nothing_as_for_an_unknown_code(client, world):
    _as(client, "caseworker", district=QUAN_1)
    found = client.get(URL, query_string={"q": "0100123456"})
    unknown = client.get(URL, query_string={"q": "0199999999"})
    assert found.status_code == unknown.status_code == 200
    assert "Không có người lao động nào trong phạm vi của bạn khớp với “0100123456”." in _text(found)
    assert "Đào" not in _text(found) and "Dệt May" not in _text(found)
    same = [_text(page).replace(code, "X") for page, code in ((found, "0100123456"), (unknown, "0199999999"))]
    assert same[0] == same[1]
    by_name = client.get(URL, query_string={"q": "Đào Mai Anh"})
    assert [("7900000001" in row) for row in _rows(by_name, "people")] == [True]


CHOOSE = (
    "Chọn quận/huyện để tìm theo tên. Tìm theo mã số BHXH hoặc số CMND/CCCD thì không cần chọn.",
    "Choose a district to search by name. An SI code or an ID number needs none.",
)


@pytest.mark.parametrize("scope", [{"province": "01"}, {}, None], ids=["province", "national", "admin"])
def test_a_name_search_without_a_district_is_refused_for_a_supervisor_or_an_admin(client, world, scope):
    _as(client, "admin") if scope is None else _as(client, "supervisor", **scope)
    page = client.get(URL).get_data(as_text=True)
    assert 'name="district"' in page
    response = client.get(URL, query_string={"q": "mai anh"})
    assert response.status_code == 422
    assert CHOOSE[0] in _text(response)
    page = response.get_data(as_text=True)
    assert 'id="people"' not in page and "0100123456" not in page and "7900000001" not in page
    error = re.search(r'<p class="error-message" id="district-error">(.*?)</p>', page, re.S)
    assert error and CHOOSE[0] in unescape(error.group(1))  # said on the field, and linked from the summary
    assert 'href="#district"' in page
    client.post("/logout")
    _as(client, "admin", "en") if scope is None else _as(client, "supervisor", "en", **scope)
    response = client.get(URL, query_string={"q": "mai anh", "district": ""})
    assert response.status_code == 422
    assert CHOOSE[1] in _text(response)


def test_a_province_supervisor_finds_a_name_in_one_district_of_their_province(client, world):
    """The district's people and only them: not the province's other districts', nor another province's."""
    gia_lam = create_employer(name="Công ty Gia Lâm", district_code=GIA_LAM)
    create_employee(full_name="Đào Mai Anh", employer_id=gia_lam.id, district_code=GIA_LAM, si_code="0100555555")
    db.session.commit()
    _as(client, "supervisor", province="01")
    in_dong_anh = client.get(URL, query_string={"q": "mai anh", "district": "17"})  # its leading zero put back
    assert in_dong_anh.status_code == 200
    rows = _rows(in_dong_anh, "people")
    assert len(rows) == 1 and "0100123456" in rows[0]
    assert "(017)" in _text(in_dong_anh)
    rows = _rows(client.get(URL, query_string={"q": "mai anh", "district": GIA_LAM}), "people")
    assert len(rows) == 1 and "0100555555" in rows[0]
    # Codes need no district: across the province, as before.
    by_code = client.get(URL, query_string={"q": "0100555555"})
    assert by_code.status_code == 200 and len(_rows(by_code, "people")) == 1
    outside = client.get(URL, query_string={"q": "7900000001"}).get_data(as_text=True)
    assert 'id="no-people"' in outside and "Đào" not in outside


def test_a_district_outside_the_scope_is_answered_as_one_that_does_not_exist(client, world):
    _as(client, "supervisor", province="01")
    outside = client.get(URL, query_string={"q": "mai anh", "district": QUAN_1})
    unknown = client.get(URL, query_string={"q": "mai anh", "district": "999"})
    assert outside.status_code == unknown.status_code == 422
    assert "Không có quận/huyện mã 760 trong phạm vi của bạn." in _text(outside)
    assert _text(outside).replace(QUAN_1, "X") == _text(unknown).replace("999", "X")
    assert "7900000001" not in outside.get_data(as_text=True)
    assert 'id="people"' not in outside.get_data(as_text=True)


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_a_national_supervisor_or_an_admin_finds_a_name_in_any_district(client, world, role):
    _as(client, role)
    rows = _rows(client.get(URL, query_string={"q": "mai anh", "district": QUAN_1}), "people")
    assert len(rows) == 1 and "7900000001" in rows[0]
    rows = _rows(client.get(URL, query_string={"q": "mai anh", "district": DONG_ANH}), "people")
    assert len(rows) == 1 and "0100123456" in rows[0]
    by_code = [client.get(URL, query_string={"q": code}) for code in ("0100123456", "7900000001")]
    assert [len(_rows(response, "people")) for response in by_code] == [1, 1]
    unknown = client.get(URL, query_string={"q": "mai anh", "district": "999"})
    assert unknown.status_code == 422
    assert "Không có quận/huyện mã 999 trong phạm vi của bạn." in _text(unknown)


def test_find_by_name_reads_no_district_outside_the_scope(app, world):
    """The service checks the district too, whatever its caller: none, or one outside the scope, finds nobody."""
    from disburse.casework import people
    from disburse.programs.service import get_program

    program = get_program(app.config["DISBURSE_PROGRAM"])
    supervisor = create_user("supervisor", province="01")
    assert people.find_by_name(program, supervisor, "mai anh", None).rows == []
    assert people.find_by_name(program, supervisor, "mai anh", QUAN_1).rows == []
    assert [row.si_code for row in people.find_by_name(program, supervisor, "mai anh", DONG_ANH).rows] == ["0100123456"]
    caseworker = create_user("caseworker", district=QUAN_1)
    assert [row.si_code for row in people.find_by_name(program, caseworker, "mai anh", DONG_ANH).rows] == ["7900000001"]


@pytest.mark.parametrize(
    ("typed", "vi", "en"),
    [
        ("01001234", "“01001234” có 8 chữ số", "“01001234” has 8 digits"),
        ("01O0123456", "có ký tự khác chữ số: “O”", "other characters than digits: “O”"),
        ("an", "Hãy ghi ít nhất 3 chữ của họ tên.", "Type at least 3 letters of the name."),
        ("", "Hãy ghi mã số BHXH, số CMND/CCCD hoặc vài chữ trong họ tên.", "Give an SI code, a national ID number"),
    ],
)
def test_a_search_of_the_wrong_shape_is_said_in_both_languages(client, world, typed, vi, en):
    _as(client, "caseworker", district=DONG_ANH)
    response = client.get(URL, query_string={"q": typed})
    assert response.status_code == 422
    assert vi in _text(response)
    assert 'id="people"' not in response.get_data(as_text=True)
    client.post("/logout")
    _as(client, "caseworker", "en", district=DONG_ANH)
    response = client.get(URL, query_string={"q": typed})
    assert response.status_code == 422
    assert en in _text(response)


def test_the_page_in_english(client, world):
    _as(client, "caseworker", "en", district=DONG_ANH)
    response = client.get(URL, query_string={"q": "0100123457"})
    text = _text(response)
    assert "Find a person" in text
    assert "No claim" in _rows(response, "people")[0]
    assert "Form 04 at the desk" in text


def test_many_matches_are_capped_and_counted(client, world, monkeypatch):
    from disburse.casework import people

    monkeypatch.setattr(people, "MAX_ROWS", 2)
    for n in range(3):
        create_employee(full_name=f"Lê Thị Hoa {n}", employer_id=world["unit"].id)
    db.session.commit()
    _as(client, "caseworker", district=DONG_ANH)
    response = client.get(URL, query_string={"q": "le thi hoa"})
    assert len(_rows(response, "people")) == 2
    assert "Có 3 người khớp; dưới đây là 2 người đầu theo tên." in _text(response)


def test_the_home_page_offers_it_to_staff(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    assert 'href="/caseworker/people/find"' in client.get("/").get_data(as_text=True)
    client.post("/logout")
    _as(client, "admin")
    assert 'href="/caseworker/people/find"' in client.get("/").get_data(as_text=True)


# -------------------------------------------------------------------------------------------------------- a list


def _audits() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "people.bulk_lookup")))


def test_a_list_answers_one_row_per_code_in_the_order_asked(client, world):
    user = _as(client, "caseworker", district=DONG_ANH)
    codes = "0199999999\n0100123457, 7900000001 001190012345\n\n0100123456"
    response = client.post(URL, data={"codes": codes})
    assert response.status_code == 200
    rows = _rows(response, "people-list")
    assert [row.split()[0] for row in rows] == ["0199999999", "0100123457", "7900000001", "001190012345", "0100123456"]
    assert "Không tìm thấy trong phạm vi của bạn" in rows[0]
    assert "Chưa có hồ sơ" in rows[1]
    assert "Không tìm thấy trong phạm vi của bạn" in rows[2]  # Quận 1's: out of scope, as unknown
    assert "Đã chi trả" in rows[3] and "Đã chi trả" in rows[4]
    text = _text(response)
    assert "Đã tra cứu 5 mã: tìm thấy 3 người trong phạm vi của bạn." in text
    summary = _rows(response, "people-summary")
    assert summary == ["Không tìm thấy trong phạm vi của bạn 2", "Đã chi trả 2", "Chưa có hồ sơ 1"]
    [entry] = _audits()
    assert (entry.actor_id, entry.data) == (user.id, {"asked": 5, "found": 3, "via": "page"})


def test_a_list_from_a_spreadsheet_and_its_download(client, world, tmp_path):
    _as(client, "caseworker", district=DONG_ANH)
    workbook = openpyxl.Workbook()
    workbook.active.append(["Mã số BHXH"])
    for code in ("0100123457", "0100123456"):
        workbook.active.append([code])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    response = client.post(
        URL, data={"codes": "0199999999", "file": (path.open("rb"), "list.xlsx")}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert [row.split()[0] for row in _rows(response, "people-list")] == ["0199999999", "0100123457", "0100123456"]

    posted = re.search(r'name="codes" value="([^"]*)"', response.get_data(as_text=True)).group(1)
    download = client.post(URL, data={"codes": unescape(posted), "download": "csv"})
    assert download.status_code == 200
    assert downloaded_name(download).startswith("tra-cuu-nguoi-lao-dong-")
    lines = list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert lines[0][0] == "Mã tra cứu / Code asked"
    assert [line[0] for line in lines[1:]] == ["0199999999", "0100123457", "0100123456"]
    assert lines[1][8] == "Không tìm thấy trong phạm vi của bạn / Not found in your scope"
    assert lines[3][2:5] == ["0100123456", "001190012345", "07/03/1990"]
    assert lines[3][11]  # the day it was paid

    xlsx = client.post(URL, data={"codes": unescape(posted), "download": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.get_data())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "0199999999",
        "0100123457",
        "0100123456",
    ]
    assert [entry.data["via"] for entry in _audits()] == ["page", "page_csv", "page_xlsx"]


def test_a_code_of_the_wrong_shape_is_named_by_its_line_and_nothing_is_looked_up(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    response = client.post(URL, data={"codes": "0100123456\n\n0100-12345, 0100123457"})
    assert response.status_code == 422
    assert "Dòng 3: “0100-12345” không phải mã số BHXH" in _text(response)
    assert 'id="people-list"' not in response.get_data(as_text=True)
    assert _audits() == []
    client.post("/logout")
    _as(client, "caseworker", "en", district=DONG_ANH)
    response = client.post(URL, data={"codes": "12345678"})
    assert "Line 1: “12345678” has 8 digits: an SI code has 10 digits, a CMND 9 and a CCCD 12." in _text(response)


def test_more_than_a_thousand_codes_are_refused(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    codes = "\n".join(f"01{n:08d}" for n in range(1001))
    response = client.post(URL, data={"codes": codes})
    assert response.status_code == 422
    assert "Danh sách có 1.001 mã; mỗi lần tra cứu tối đa 1.000 mã." in _text(response)
    assert _audits() == []
    ok = client.post(URL, data={"codes": "\n".join(f"01{n:08d}" for n in range(1000))})
    assert ok.status_code == 200
    assert len(_rows(ok, "people-list")) == 1000


def test_a_hostile_file_is_refused_and_nothing_is_looked_up(client, world, tmp_path):
    _as(client, "caseworker", "en", district=DONG_ANH)
    workbook = openpyxl.Workbook()
    workbook.active.append(["0100123456"])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = b'<!DOCTYPE worksheet [<!ENTITY lol "lollollol">]>' + parts[sheet]
    hostile = tmp_path / "hostile.xlsx"
    with zipfile.ZipFile(hostile, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    response = client.post(URL, data={"file": (hostile.open("rb"), "hostile.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "DTD" in _text(response)
    assert _audits() == []
    wrong_kind = client.post(URL, data={"file": (io.BytesIO(b"MZ"), "list.exe")}, content_type="multipart/form-data")
    assert wrong_kind.status_code == 422
    assert "The file must be an .xlsx or .csv spreadsheet." in _text(wrong_kind)


def test_a_list_is_one_query_for_the_people_whatever_its_length(client, world, app):
    """Set-based: the number of statements does not grow with the list."""
    from sqlalchemy import event

    _as(client, "caseworker", district=DONG_ANH)
    counted: list[int] = []

    def count(*_args):
        counted[-1] += 1

    def statements(codes: str) -> int:
        counted.append(0)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.post(URL, data={"codes": codes}).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return counted[-1]

    statements("0100123457")  # the first request's own look-ups (the programme) are not the list's
    few = statements("0100123456")
    many = statements("\n".join(["0100123456", "0100123457", *(f"02{n:08d}" for n in range(300))]))
    assert many == few


def test_nothing_typed_nor_sent_is_said(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    response = client.post(URL, data={"codes": "  \n "})
    assert response.status_code == 422
    assert "Danh sách không có mã nào." in _text(response)
    assert (
        db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "people.bulk_lookup"))
        == 0
    )


def test_a_csv_without_a_header_is_read_from_its_first_row(client, world):
    _as(client, "caseworker", district=DONG_ANH)
    body = "0100123457,ghi chú\n001190012345,\n\n".encode("utf-8-sig")
    response = client.post(URL, data={"file": (io.BytesIO(body), "list.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert [row.split()[0] for row in _rows(response, "people-list")] == ["0100123457", "001190012345"]
    headed = "Mã số BHXH (10 chữ số)\n0100123457\n".encode()
    response = client.post(URL, data={"file": (io.BytesIO(headed), "list.csv")}, content_type="multipart/form-data")
    assert [row.split()[0] for row in _rows(response, "people-list")] == ["0100123457"]


def test_several_codes_in_the_one_person_box_are_put_into_the_lists_box(client, world):
    """ "0100123456 0100123457" was taken for one code of 20 digits and refused for its length: a list in the one-person
    box goes into the list's box (the page says so); a code typed in groups is still one code."""
    _as(client, "caseworker", district=DONG_ANH)
    response = client.get(URL, query_string={"q": "0100123456, 0100123457;001190012345"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Các mã đã được chép vào ô “Danh sách mã số BHXH hoặc số CMND/CCCD” bên dưới" in _text(response)
    box = page.split('id="codes"', 1)[1].split("</textarea>", 1)[0]
    assert box.split(">", 1)[1].split() == ["0100123456", "0100123457", "001190012345"]
    assert len(_rows(client.get(URL, query_string={"q": "0100 123 456"}), "people")) == 1
