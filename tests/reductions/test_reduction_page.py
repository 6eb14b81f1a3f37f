"""The unit's contribution reduction page, month by month, in both languages and within the user's scope."""

from __future__ import annotations

import re
from datetime import date

from disburse.extensions import db
from disburse.reductions.service import book_reductions
from tests.factories import create_employer, create_salary_fund, create_user, nq116


def _as(client, user, locale="vi"):
    user.locale = locale
    db.session.flush()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_reductions_month_by_month(client, db_session):
    unit = create_employer(name="Công ty TNHH Giảm Thử")
    create_salary_fund(unit, date(2021, 10, 1), 150_000_000, participants=12)
    create_salary_fund(unit, date(2021, 11, 1), 160_000_050, participants=13)
    book_reductions(nq116())
    user = create_user("employer", employer_unit=unit.unit_code)
    response = _as(client, user).get(f"/employers/{unit.unit_code}/reductions")
    page = _text(response)
    assert response.status_code == 200
    assert "<title>Giảm mức đóng vào Quỹ BHTN · Công ty TNHH Giảm Thử" in page
    assert (
        '<td>10/2021</td> <td class="num">12</td> <td class="num">150.000.000 ₫</td> <td class="num">1.500.000 ₫</td>'
        in page
    )
    assert "<td>11/2021</td>" in page and "1.600.001 ₫" in page  # half up to whole VND
    assert "3.100.001 ₫" in page  # the total
    assert "Chương trình giảm mức đóng 12 tháng: từ tháng 10/2021 đến tháng 09/2022." in page  # across the year
    page = _text(_as(client, user, "en").get(f"/employers/{unit.unit_code}/reductions"))
    assert "<title>Contribution reduction · Công ty TNHH Giảm Thử" in page and "VND 3,100,001" in page
    assert "The programme reduces the contribution for 12 months: from 10/2021 to 09/2022." in page


def test_a_unit_without_reductions_says_why(client, db_session):
    unit = create_employer(sector="state_agency")
    page = _text(
        _as(client, create_user("employer", employer_unit=unit.unit_code)).get(
            f"/employers/{unit.unit_code}/reductions"
        )
    )
    assert "Đơn vị chưa có tháng nào được giảm mức đóng" in page
    assert "từ tháng 10/2021 đến tháng 09/2022" in page  # the programme's months, which the unit has none of


def test_another_units_reductions_are_not_found(client, db_session):
    unit, other = create_employer(), create_employer(district_code="760")
    client = _as(client, create_user("employer", employer_unit=unit.unit_code))
    assert client.get(f"/employers/{other.unit_code}/reductions").status_code == 404
    supervisor = _as(client, create_user("supervisor", province="01"))
    assert supervisor.get(f"/employers/{unit.unit_code}/reductions").status_code == 200
