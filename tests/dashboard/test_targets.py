"""Completion targets: a supervisor sets one per district and date (CSRF-protected form); the dashboard shows
progress against it ("50,0% / 80%"); an invalid value is said beside its field in both languages and saves nothing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, func, select, text

from disburse.dashboard.views import TARGET_HISTORY_SHOWN
from disburse.extensions import db
from disburse.reference.models import District
from disburse.reports.dashboard import set_target
from disburse.reports.models import CompletionTarget
from disburse.reports.rollups import take_snapshots
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, sign_in
from tests.factories import create_user, nq116


@pytest.fixture(autouse=True)
def before_the_targets(app, monkeypatch):
    """The programme clock before the targets these tests set (30/11/2021): a target is for a day to come."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")


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
        "Ngày mục tiêu phải là một ngày sắp tới trong thời gian chương trình chi trả, từ ngày mai 03/11/2021 đến "
        "ngày chi trả cuối cùng 10/09/2022."
        if locale == "vi"
        else "a day to come within the programme&#39;s payment period, from tomorrow, 03/11/2021, to the last "
        "payable day, 10/09/2022."
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
    nobody = "chưa có ai đủ điều kiện hưởng"  # no claims there: no completion to fall short of
    assert [row for row in in_force if row[0] == last.name] == [[last.name, "15/11/2021", "— / 60%", nobody]]
    history = _rows(html, "target-history")
    assert len(history) == TARGET_HISTORY_SHOWN and history[0][:4] == [last.name, "30/11/2021", "60%", "—"]
    capped = html.split('id="history-capped">', 1)[1].split("</p>", 1)[0]
    assert capped == f"{TARGET_HISTORY_SHOWN} mục tiêu đặt gần đây nhất trên tổng số {2 + 2 + 57 * 2}."


@pytest.mark.parametrize(("day", "saved"), [("03/11/2021", True), ("02/11/2021", False), ("21/10/2021", False)])
def test_a_target_is_for_a_day_to_come_from_tomorrow_by_the_programme_clock(client, country, db_session, day, saved):
    """On 02/11/2021 (the programme clock) a target for tomorrow is taken; today, or a day already past (even one
    after the list deadline, which the range used to start at), is refused, the message naming the range."""
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    response = client.post("/dashboard/targets", data={"district": DONG_ANH, "target_date": day, "percent": "80"})
    assert (response.status_code == 302) is saved and _targets(db_session) == int(saved)
    if not saved:
        error = response.get_data(as_text=True).split('id="target_date-error"', 1)[1].split("</p>", 1)[0]
        assert "từ ngày mai 03/11/2021 đến ngày chi trả cuối cùng 10/09/2022" in error


def test_no_target_can_be_set_once_the_last_payable_day_is_reached(app, client, country, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-09-10")
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    data = {"district": DONG_ANH, "target_date": "11/09/2022", "percent": "80"}
    response = client.post("/dashboard/targets", data=data)
    error = response.get_data(as_text=True).split('id="target_date-error"', 1)[1].split("</p>", 1)[0]
    assert response.status_code == 400 and _targets(db_session) == 0
    assert "Không thể đặt mục tiêu mới: ngày chi trả cuối cùng của chương trình là 10/09/2022." in error


def _snapshot(db_session, day: date, paid: int) -> None:
    """Đông Anh's snapshot of ``day`` as if ``paid`` of its 9 eligible had been paid then (4 are now)."""
    take_snapshots(nq116().id, day)
    db_session.execute(
        text(
            "UPDATE completion_snapshots SET paid = :paid WHERE level = 'district' AND area_code = :code AND day = :day"
        ),
        {"paid": paid, "code": DONG_ANH, "day": day},
    )


def test_a_passed_target_is_judged_by_the_completion_on_its_date_not_today(app, client, country, db_session):
    """Đông Anh had 3 of 9 paid (33,3%) on 30/11/2021, the day of its 40% target; 4 of 9 (44,4%) now, on 05/12. The
    target was missed on its date: today's completion (shown beside it) does not make it met after the fact."""
    program = nq116()
    set_target(program.id, DONG_ANH, date(2021, 11, 30), 4_000, user_id=None)
    _snapshot(db_session, date(2021, 11, 30), 3)
    app.config["DISBURSE_TODAY"] = "2021-12-05"  # the autouse fixture's monkeypatch puts it back
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    verdict = "không đạt vào ngày 30/11/2021, thiếu 6,7%; hôm nay 44,4%"
    assert _rows(client.get("/dashboard/targets").get_data(as_text=True), "targets") == [
        ["Huyện Đông Anh", "30/11/2021", "33,3% / 40%", verdict]
    ]
    district = client.get(f"/dashboard/?district={DONG_ANH}").get_data(as_text=True)
    target = district.split('id="target">', 1)[1].split("</p>", 1)[0]
    assert "33,3% / 40%" in target and verdict in target and "đã đạt" not in target
    province = client.get("/dashboard/?sort=target_gap&order=desc").get_data(as_text=True)
    assert "33,3% / 40% (ngày 30/11/2021)" in province


def test_a_passed_target_without_a_snapshot_that_day_is_judged_by_the_last_one_before_it_or_not_at_all(
    app, client, country, db_session
):
    program = nq116()
    set_target(program.id, DONG_ANH, date(2021, 11, 30), 3_000, user_id=None)
    app.config["DISBURSE_TODAY"] = "2021-12-05"
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    unknown = _rows(client.get("/dashboard/targets").get_data(as_text=True), "targets")
    assert unknown == [
        [
            "Huyện Đông Anh",
            "30/11/2021",
            "— / 30%",
            "không đánh giá được: không có số liệu ngày 30/11/2021 hay trước đó; hôm nay 44,4%",
        ]
    ]
    _snapshot(db_session, date(2021, 12, 1), 1)  # after the target's date: not its figure
    _snapshot(db_session, date(2021, 11, 28), 3)
    judged = _rows(client.get("/dashboard/targets").get_data(as_text=True), "targets")
    assert judged == [
        [
            "Huyện Đông Anh",
            "30/11/2021",
            "33,3% / 30%",
            "đã đạt vào ngày 30/11/2021 (theo số liệu ngày 28/11/2021); hôm nay 44,4%",
        ]
    ]


def test_a_target_for_a_district_with_nobody_eligible_says_so_not_a_shortfall(client, country, db_session):
    """Ba Đình (001) has no claims: its target of 50% said "còn thiếu 50%", a shortfall of people it does not have."""
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    client.post("/dashboard/targets", data={"district": "001", "target_date": "30/11/2021", "percent": "50"})
    listed = re.sub(r"\s+", " ", client.get("/dashboard/targets").get_data(as_text=True))
    assert "— / 50%" in listed and "chưa có ai đủ điều kiện hưởng" in listed and "còn thiếu 50" not in listed


def test_a_passed_target_of_a_district_with_nobody_eligible_is_not_missed(app, client, country, db_session):
    """Ba Đình (001) had nobody eligible on the day of its 80% target: it said "không đạt …, thiếu 80%" and sorted
    first among the districts behind theirs."""
    program = nq116()
    set_target(program.id, "001", date(2021, 11, 30), 8_000, user_id=None)
    set_target(program.id, DONG_ANH, date(2021, 11, 30), 4_000, user_id=None)
    _snapshot(db_session, date(2021, 11, 30), 3)
    # Ba Đình's row of that day, as a district whose claims were all declined or removed has it: nobody eligible.
    db_session.execute(
        text(
            """INSERT INTO completion_snapshots
               SELECT (jsonb_populate_record(s, jsonb_build_object('area_code', '001', 'eligible', 0, 'paid', 0))).*
               FROM completion_snapshots s WHERE level = 'district' AND area_code = :code AND day = :day"""
        ),
        {"code": DONG_ANH, "day": date(2021, 11, 30)},
    )
    app.config["DISBURSE_TODAY"] = "2021-12-05"  # the autouse fixture's monkeypatch puts it back
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    rows = _rows(client.get("/dashboard/targets").get_data(as_text=True), "targets")
    ba_dinh = next(row for row in rows if row[1:3] == ["30/11/2021", "— / 80%"])
    assert ba_dinh[3].startswith("không đánh giá được: ngày 30/11/2021 chưa có ai đủ điều kiện hưởng")
    assert "không đạt" not in ba_dinh[3] and "thiếu 80" not in ba_dinh[3]


def test_the_date_hint_gives_an_example_the_form_takes(app, client, country, db_session, monkeypatch):
    """It said "ví dụ 30/11/2021" whatever the programme (the demo's took 12/2026 to 10/2027): the example is the
    programme's last payable day while days are left, none after."""
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    assert "Dạng dd/mm/yyyy, ví dụ 10/09/2022." in client.get("/dashboard/targets").get_data(as_text=True)
    saved = client.post("/dashboard/targets", data={"district": DONG_ANH, "target_date": "10/09/2022", "percent": "80"})
    assert saved.status_code == 302
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-09-10")
    page = client.get("/dashboard/targets").get_data(as_text=True)
    assert "Dạng dd/mm/yyyy." in page and "ví dụ" not in page.split('id="target_date-hint"', 1)[-1].split("<", 1)[0]
