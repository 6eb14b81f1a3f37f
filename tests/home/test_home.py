from __future__ import annotations

import re

from sqlalchemy import text

from tests.factories import create_claim, create_employee, create_program, nq116


def test_home_is_vietnamese_by_default_with_dates_dd_mm_yyyy(client):
    page = client.get("/").get_data(as_text=True)
    assert "Hỗ trợ người lao động từ Quỹ bảo hiểm thất nghiệp" in page
    assert "30/09/2021" in page  # NQ116 cut-off date
    assert 'lang="vi"' in page


def test_home_in_english_after_switching_language(client):
    response = client.post("/language/en", data={"next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Support for workers from the unemployment-insurance fund" in page
    assert 'lang="en"' in page


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post("/language/vi", data={"next": target})
        assert response.headers["Location"] == "/"


def test_home_reads_completion_from_the_rollups(client, db_session):
    program = nq116()
    for state in ("paid", "listed", "declined"):
        person = create_employee()
        db_session.execute(
            text(
                "INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,"
                " unused_months, amount_vnd, state) VALUES (:p, :e, :er, '017', 'A', 'A', 24, 2100000, :s)"
            ),
            {"p": program.id, "e": person.id, "er": person.employer_id, "s": state},
        )
    page = client.get("/", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert "2.100.000 ₫" in page  # paid amount, Vietnamese style
    assert "50,0%" in page  # 1 paid of 2 eligible (declined is outside the eligible group)
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "VND 2,100,000" in page
    assert "50.0%" in page


def test_unknown_api_url_answers_json_in_the_callers_language(client):
    response = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": "Not found.", "fields": {}}
    response = client.get("/api/v1/nothing-here")
    assert response.get_json()["message"] == "Không tìm thấy."


def _programme_order(page: str) -> list[str]:
    return re.findall(r'<h2 id="program-\d+">[^<]*\(([^)]+)\)</h2>', page)


def test_the_current_programme_first_then_those_with_people_then_the_empty(app, client, db_session, monkeypatch):
    """The signed-out home page lists the current programme (DISBURSE_PROGRAM) first, then the programmes with people
    listed, then the empty ones; each table starts with its completion, the figure people watch, so that it is in
    view on a phone; each table's scroll box is named by its programme."""
    empty = create_program()
    started = create_program()
    create_claim("paid", program_id=started.id)
    current = create_program()
    monkeypatch.setitem(app.config, "DISBURSE_PROGRAM", current.code)
    page = client.get("/").get_data(as_text=True)
    order = _programme_order(page)
    assert order[0] == current.code
    assert order.index(started.code) < order.index(empty.code)
    assert order.index(started.code) < order.index("NQ116") or nq116_has_people(db_session)
    head = page.split(f"({started.code})</h2>", 1)[1].split("</thead>", 1)[0]
    assert re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', head)[0] == "Tỷ lệ đã chi trả"
    row = page.split(f"({started.code})</h2>", 1)[1].split("<tbody>", 1)[1].split("</td>", 1)[0]
    assert "100,0%" in row  # the first cell: 1 paid of 1 eligible
    assert f'tabindex="0" role="region" aria-label="Tiến độ chi trả {started.code}"' in page


def nq116_has_people(db_session) -> bool:
    return bool(
        db_session.scalar(
            text("SELECT EXISTS (SELECT 1 FROM province_counters WHERE program_id = :p AND claims > 0)"),
            {"p": nq116().id},
        )
    )


def test_home_gives_the_programmes_payment_deadline_and_its_extension(client):
    """The home page said "Hạn chi trả 31/12/2021" alone while NQ116 pays until its extension's end, 10/09/2022, the day
    the case pages, the cash receipt and the notices give: both, each named for what it is."""
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<dt>Hạn chi trả của chương trình</dt><dd>31/12/2021</dd>", page)
    assert re.search(r"<dt>Gia hạn chi trả đến</dt><dd>10/09/2022</dd>", page)
