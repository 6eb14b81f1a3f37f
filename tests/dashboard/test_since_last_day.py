"""The dashboard's summary says how the area moved since the last count of an earlier day (the daily snapshots):
people paid and the money since then, signed, naming the day and the time of that count; nothing when there is no
earlier count. Supervisors watch this figure every day (the news reported each day's gain)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text

from disburse.formatting import signed
from disburse.reports.rollups import take_snapshots
from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.dashboard.test_figures_once import repeated, summary_of
from tests.factories import create_claim, create_employee, create_user, nq116

TODAY = date(2021, 11, 20)


@pytest.fixture(autouse=True)
def _clock(app):
    app.config["DISBURSE_TODAY"] = TODAY.isoformat()
    app.config["DISBURSE_DASHBOARD_CACHE_S"] = 0  # each request reads the figures as they are
    yield


def _since(client, query: str = "") -> str | None:
    html = client.get(f"/dashboard/{query}").get_data(as_text=True)
    found = re.search(r'<p class="muted" id="since">(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else None


def _taken(day: date, at: str) -> None:
    take_snapshots(nq116().id, day)
    from disburse.extensions import db

    db.session.execute(text("UPDATE completion_snapshots SET taken_at = :at WHERE day = :day"), {"at": at, "day": day})


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_summary_counts_the_people_and_money_paid_since_the_last_earlier_count(client, country, locale):
    _taken(date(2021, 11, 18), "2021-11-18 16:05:00+00")  # 23:05 in Hà Nội
    _taken(date(2021, 11, 19), "2021-11-19 16:05:00+00")
    _taken(TODAY, "2021-11-20 02:05:00+00")  # today's own count is not what "since" compares with
    for _ in range(2):  # two more paid in Đông Anh since: 2 × 2,100,000 (24 months: NQ116's tier)
        create_claim("paid", employee=create_employee(employer_id=country["near"].id, district_code=DONG_ANH))
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    expected = {
        "vi": "So với số liệu ngày 19/11/2021 (đếm lúc 23:05): +2 người được chi trả, +4.200.000 ₫.",
        "en": "Since the figures of 19/11/2021 (counted at 23:05): +2 people paid, VND +4,200,000.",
    }[locale]
    assert _since(client) == expected
    assert _since(client, f"?district={DONG_ANH}") == expected
    # Quận 1 had nobody paid since: a zero, not a blank.
    assert _since(client, "?district=760").startswith({"vi": "So với số liệu ngày 19/11/2021", "en": "Since"}[locale])
    assert " 0 " in _since(client, "?district=760")
    # Marked figures, each once, in the summary with the others.
    summary = summary_of(client.get("/dashboard/").get_data(as_text=True))
    assert repeated(summary) == []
    assert re.findall(r'data-figure="([^"]+)"', summary)[3:5] == ["paid_since", "paid_amount_vnd_since"]


def test_a_payment_come_back_since_reads_as_a_fall(client, country, db_session):
    _taken(date(2021, 11, 19), "2021-11-19 16:05:00+00")
    # One paid claim of Sóc Sơn taken out of the rollups' paid (its bank returned the money: back to unpaid).
    db_session.execute(
        text(
            "UPDATE completion_snapshots SET paid = paid + 1, paid_amount_vnd = paid_amount_vnd + 2100000 "
            "WHERE day = '2021-11-19' AND (area_code IN ('', '01', '016'))"
        )
    )
    sign_in(client, create_user("supervisor", password=PASSWORD), "vi")
    assert _since(client, "?district=016") == (
        "So với số liệu ngày 19/11/2021 (đếm lúc 23:05): \u22121 người được chi trả, \u22122.100.000 ₫."
    )


def test_without_an_earlier_count_the_summary_says_nothing_of_it(client, country):
    _taken(TODAY, "2021-11-20 02:05:00+00")  # only today's
    sign_in(client, create_user("supervisor", password=PASSWORD), "vi")
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="since"' not in html
    assert "So với số liệu ngày" not in html


@pytest.mark.parametrize(
    ("value", "money", "vi", "en"),
    [
        (1234, False, "+1.234", "+1,234"),
        (-3, False, "\u22123", "\u22123"),
        (0, False, "0", "0"),
        (2_100_000, True, "+2.100.000 ₫", "VND +2,100,000"),
        (-1_800_000, True, "\u22121.800.000 ₫", "VND \u22121,800,000"),
    ],
)
def test_a_change_is_signed_with_a_minus_sign_on_its_digits(app, value, money, vi, en):
    for locale, shown in (("vi", vi), ("en", en)):
        with app.test_request_context(headers={"Accept-Language": locale}):
            from flask_babel import force_locale

            with force_locale(locale):
                assert signed(value, money=money) == shown


def _column(html: str, header_starts: str) -> list[str]:
    """The cells of the table's column whose header starts with ``header_starts``, row by row."""
    table = html.split('id="dashboard-table"', 1)[1].split("</table>", 1)[0]
    head, body = table.split("</thead>", 1)
    headers = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", th)).strip() for th in re.findall(r"<th\b.*?</th>", head, re.S)
    ]
    index = next(i for i, words in enumerate(headers) if words.startswith(header_starts))
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [re.sub(r"<[^>]+>", "", re.findall(r"<td\b.*?</td>", row, re.S)[index]).strip() for row in rows]


def test_each_province_and_district_says_how_many_more_were_paid_and_sorts_by_it(client, country):
    _taken(date(2021, 11, 19), "2021-11-19 16:05:00+00")
    for _ in range(3):
        create_claim("paid", employee=create_employee(employer_id=country["near"].id, district_code=DONG_ANH))
    sign_in(client, create_user("supervisor", password=PASSWORD), "vi")
    # The country's provinces: Hà Nội +3, Hồ Chí Minh 0; Hà Nội's districts: Đông Anh +3, Sóc Sơn 0.
    assert _column(client.get("/dashboard/").get_data(as_text=True), "Chi trả thêm từ ngày 19/11/2021") == ["+3", "0"]
    page = client.get("/dashboard/?province=01&sort=paid_since&order=desc").get_data(as_text=True)
    assert _column(page, "Mã") == [DONG_ANH, "016"]
    assert _column(page, "Chi trả thêm từ ngày 19/11/2021") == ["+3", "0"]
    page = client.get("/dashboard/?province=01&sort=paid_since&order=asc").get_data(as_text=True)
    assert _column(page, "Mã") == ["016", DONG_ANH]
    # A district's units have no daily counts: no such column (and sorting by it is by code).
    units = client.get(f"/dashboard/?district={DONG_ANH}&sort=paid_since").get_data(as_text=True)
    assert "Chi trả thêm từ ngày" not in units.split('id="dashboard-table"', 1)[1]
    # The file has the column after the money paid, as the page: signed numbers as numbers.
    exported = client.get("/dashboard/export?province=01&format=csv").get_data(as_text=True).lstrip("\ufeff")
    lines = [line.split(",") for line in exported.strip().splitlines()]
    at = lines[0].index("Chi trả thêm từ lần đếm của ngày trước / Paid since the last count of an earlier day")
    assert lines[0][at - 1].startswith("Số tiền đã chi trả")
    assert {line[0]: line[at] for line in lines[1:]} == {DONG_ANH: "3", "016": "0"}


def test_without_an_earlier_count_neither_the_page_nor_the_file_has_the_column(client, country):
    _taken(TODAY, "2021-11-20 02:05:00+00")  # only today's
    sign_in(client, create_user("supervisor", password=PASSWORD), "vi")
    assert "Chi trả thêm từ" not in client.get("/dashboard/").get_data(as_text=True)
    assert "Chi trả thêm từ" not in client.get("/dashboard/export?format=csv").get_data(as_text=True)


def test_an_area_not_counted_that_day_is_a_dash_and_a_blank_cell(client, country, db_session):
    _taken(date(2021, 11, 19), "2021-11-19 16:05:00+00")
    db_session.execute(text("DELETE FROM completion_snapshots WHERE level = 'district' AND area_code = '016'"))
    sign_in(client, create_user("supervisor", password=PASSWORD), "vi")
    page = client.get("/dashboard/?province=01").get_data(as_text=True)
    assert dict(zip(_column(page, "Mã"), _column(page, "Chi trả thêm từ ngày 19/11/2021"), strict=True)) == {
        DONG_ANH: "0",
        "016": "—",
    }
    exported = client.get("/dashboard/export?province=01&format=csv").get_data(as_text=True).lstrip("\ufeff")
    lines = [line.split(",") for line in exported.strip().splitlines()]
    at = lines[0].index("Chi trả thêm từ lần đếm của ngày trước / Paid since the last count of an earlier day")
    assert {line[0]: line[at] for line in lines[1:]} == {DONG_ANH: "0", "016": ""}


def test_the_api_gives_the_same_since_the_last_earlier_count(client, country):
    from disburse.auth.service import create_token

    _taken(date(2021, 11, 19), "2021-11-19 16:05:00+00")
    create_claim("paid", employee=create_employee(employer_id=country["near"].id, district_code=DONG_ANH))
    token = create_token(create_user("admin"))
    body = client.get("/api/v1/progress?province=01", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["since_last_count"] == {
        "day": "2021-11-19",
        "taken_at": "2021-11-19T16:05:00+00:00",
        "paid": 1,
        "paid_amount_vnd": 2_100_000,
    }
    assert {area["code"]: area["paid_since"] for area in body["areas"]} == {DONG_ANH: 1, "016": 0}
    # Before any earlier count: null, for the area and its children.
    from disburse.extensions import db

    db.session.execute(text("DELETE FROM completion_snapshots"))
    body = client.get("/api/v1/progress?province=01", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["since_last_count"] is None
    assert {area["paid_since"] for area in body["areas"]} == {None}
