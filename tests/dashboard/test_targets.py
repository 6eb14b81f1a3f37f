"""Completion targets: a supervisor sets one per district and date (CSRF-protected form); the dashboard shows
progress against it ("50,0% / 80%"); an invalid value is said beside its field in both languages and saves nothing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, func, select

from disburse.dashboard.views import TARGET_HISTORY_SHOWN
from disburse.extensions import db
from disburse.reference.models import District
from disburse.reports.dashboard import set_target
from disburse.reports.models import CompletionTarget
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, sign_in
from tests.factories import create_user, nq116


def _targets(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(CompletionTarget))


def test_a_supervisor_sets_a_target_and_the_dashboard_shows_progress_against_it(client, country, db_session):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    page = client.get("/dashboard/targets")
    assert page.status_code == 200 and "Huyện Đông Anh (017)" in page.get_data(as_text=True)
    assert "Quận 1 (760)" not in page.get_data(as_text=True)  # another province's district is no choice
    saved = client.post("/dashboard/targets", data={"district": DONG_ANH, "target_date": "30/11/2021", "percent": "80"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/dashboard/targets"
    listed = client.get("/dashboard/targets").get_data(as_text=True)
    assert "Đã đặt mục tiêu 80% cho Huyện Đông Anh đến ngày 30/11/2021." in listed
    assert "30/11/2021" in listed and "44,4% / 80%" in listed  # Đông Anh: 4 of 9 eligible paid
    # The same district and date again replaces the target.
    client.post("/dashboard/targets", data={"district": DONG_ANH, "target_date": "30/11/2021", "percent": "74,5"})
    assert _targets(db_session) == 1
    province = client.get("/dashboard/?sort=target_gap&order=desc").get_data(as_text=True)
    assert "44,4% / 74,5%" in province and 'aria-sort="descending"' in province
    district = client.get(f"/dashboard/?district={DONG_ANH}").get_data(as_text=True)
    assert 'id="target"' in district and "44,4% / 74,5%" in district and "còn thiếu 30,1%" in district


@pytest.mark.parametrize(
    ("fields", "field", "vi", "en"),
    [
        ({"percent": "120"}, "percent", "Tỷ lệ cần đạt từ 0 đến 100%.", "The target is between 0 and 100%."),
        ({"percent": "tám mươi"}, "percent", "Ghi tỷ lệ từ 0 đến 100", "Write a percentage from 0 to 100"),
        ({"percent": ""}, "percent", "Hãy ghi tỷ lệ cần đạt.", "Enter the target percentage."),
        (
            {"target_date": "31/02/2021"},
            "target_date",
            "Ngày 31/02/2021 không có trong lịch",
            "31/02/2021 is not a date",
        ),
        ({"district": QUAN_1}, "district", "Hãy chọn một trong các lựa chọn", "Choose one of the options"),
        ({"district": ""}, "district", "Hãy chọn quận/huyện.", "Choose a district."),
    ],
)
@pytest.mark.parametrize("locale", ["vi", "en"])
def test_invalid_targets_are_said_beside_their_field(client, country, db_session, fields, field, vi, en, locale):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)
    data = {"district": DONG_ANH, "target_date": "30/11/2021", "percent": "80", **fields}
    response = client.post("/dashboard/targets", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    error = html.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert (vi if locale == "vi" else en) in error
    assert f'aria-describedby="{field}-hint {field}-error"' in html or f'aria-describedby="{field}-error"' in html
    assert _targets(db_session) == 0


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_date_outside_the_programme_is_said_with_the_other_errors(client, country, db_session, locale):
    """Every error of one submit at once: the programme's dates are checked even when the percentage is wrong."""
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)
    data = {"district": DONG_ANH, "target_date": "01/01/2099", "percent": "120"}
    html = client.post("/dashboard/targets", data=data).get_data(as_text=True)
    percent = html.split('id="percent-error"', 1)[1].split("</p>", 1)[0]
    day = html.split('id="target_date-error"', 1)[1].split("</p>", 1)[0]
    assert ("Tỷ lệ cần đạt từ 0 đến 100%." if locale == "vi" else "The target is between 0 and 100%.") in percent
    assert (
        "Ngày mục tiêu phải trong thời gian chương trình chi trả"
        if locale == "vi"
        else "within the programme&#39;s payment period"
    ) in day
    assert 'value="01/01/2099"' in html and _targets(db_session) == 0


@pytest.mark.parametrize("role", ["caseworker", "employer"])
def test_only_supervisors_and_admins_set_targets(client, db_session, role):
    sign_in(client, create_user(role, password=PASSWORD))
    assert client.get("/dashboard/targets").status_code == 403
    assert client.post("/dashboard/targets", data={"district": DONG_ANH}).status_code == 403


def _statements(app, client, path: str) -> tuple[int, str]:
    """The SQL statements a page runs, and the page."""
    ran: list[str] = []

    def count(conn, cursor, statement, *args):
        ran.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(ran), response.get_data(as_text=True)


def _rows(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_targets_page_reads_the_targets_in_force_at_once_and_only_the_latest_targets_set(
    app, client, country, db_session, monkeypatch
):
    """A national supervisor's page: each district's target in force with its completion, in the same few
    statements for 3 districts as for 60 (not one more per district), and of the targets ever set the latest
    TARGET_HISTORY_SHOWN, saying how many there are."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")
    program = nq116()
    supervisor = create_user("supervisor", password=PASSWORD)
    sign_in(client, supervisor)
    codes = list(db_session.scalars(select(District.code).where(District.code != DONG_ANH).order_by(District.code)))
    set_target(program.id, DONG_ANH, date(2021, 11, 30), 8_000, user_id=supervisor.id)
    set_target(program.id, DONG_ANH, date(2021, 12, 31), 9_500, user_id=supervisor.id)  # later: not yet in force
    for code in codes[:2]:
        set_target(program.id, code, date(2021, 11, 30), 5_000, user_id=None)
    few, html = _statements(app, client, "/dashboard/targets")
    assert len(_rows(html, "targets")) == 3 and 'id="history-capped"' not in html
    for code in codes[2:59]:
        for day in (date(2021, 11, 15), date(2021, 11, 30)):
            set_target(program.id, code, day, 6_000, user_id=None)
    many, html = _statements(app, client, "/dashboard/targets")
    assert many == few
    in_force = _rows(html, "targets")
    assert len(in_force) == 60
    dong_anh = next(row for row in in_force if row[0] == "Huyện Đông Anh")
    assert dong_anh == ["Huyện Đông Anh", "30/11/2021", "44,4% / 80%", "còn thiếu 35,6%"]  # 4 of 9 paid
    last = db_session.get(District, codes[58])
    assert [row for row in in_force if row[0] == last.name] == [[last.name, "15/11/2021", "— / 60%", "còn thiếu 60%"]]
    history = _rows(html, "target-history")
    assert len(history) == TARGET_HISTORY_SHOWN and history[0][:4] == [last.name, "30/11/2021", "60%", "—"]
    capped = html.split('id="history-capped">', 1)[1].split("</p>", 1)[0]
    assert capped == f"{TARGET_HISTORY_SHOWN} mục tiêu đặt gần đây nhất trên tổng số {2 + 2 + 57 * 2}."
