"""The programme's parameters (read-only, admins and supervisors), the health page without a worker (the queues'
lengths from real Redis; the page with a real worker is in tests/workers), and the audit log's search."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from disburse.auth.models import AuditLog
from disburse.auth.service import audit
from disburse.deployment import BEAT_LOCK_KEY
from disburse.extensions import db
from disburse.programs.models import Program
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user


def test_the_programmes_parameters_in_dates_and_vnd_read_only(admin_client, admin, client):
    html = admin_client.get("/admin/programme").get_data(as_text=True)
    assert "<title>Tham số chương trình · disburse</title>" in html
    assert "NQ116" in html and "30/09/2021" in html  # the cut-off date, dd/mm/yyyy
    assert re.search(r"[0-9]\.[0-9]{3}\.000 ₫", html)  # the tiers in VND
    assert "Số lần chi trả lỗi trước khi đề nghị nhận tiền mặt" in html
    assert "Cơ quan nhà nước" in html and "state_agency" not in html  # the excluded sectors in words
    sign_in(admin_client, admin, "en")
    html = admin_client.get("/admin/programme").get_data(as_text=True)
    assert (
        "Programme parameters" in html and "VND 1,800,000" in html and "Failed payments before cash is offered" in html
    )
    assert "Unit of the people&#39;s armed forces" in html and "armed_forces" not in html


def test_every_sector_has_words():
    from disburse.programs.models import SECTOR_LABELS, SECTORS

    assert set(SECTOR_LABELS) == set(SECTORS)


def test_supervisors_read_the_parameters_others_may_not(client, db_session):
    supervisor = create_user("supervisor", password=PASSWORD)
    sign_in(client, supervisor)
    page = client.get("/admin/programme")
    assert page.status_code == 200 and "<form" not in page.get_data(as_text=True).split("<main")[1]  # read-only
    program = db.session.scalar(select(Program).where(Program.code == "NQ116"))
    assert (
        client.post(
            f"/admin/programme/{program.id}", data={f"program-{program.id}-max_payment_failures": "5"}
        ).status_code
        == 403
    )
    assert client.get("/admin/").status_code == 403
    client.post("/logout")
    sign_in(client, create_user("caseworker", password=PASSWORD))
    assert client.get("/admin/programme").status_code == 403


def test_the_health_page_shows_providers_and_the_queues_lengths(admin_client, admin, app, redis_url):
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    before = client.llen("notifications")
    client.rpush("notifications", "a", "b")  # a queue no worker takes in these tests
    try:
        html = admin_client.get("/admin/health").get_data(as_text=True)
        assert "Không có beat nào giữ khoá" in html
        assert client.set(BEAT_LOCK_KEY, "test", nx=True, ex=30)  # what disburse beat holds while it runs
        try:
            assert "Một beat đang chạy" in admin_client.get("/admin/health").get_data(as_text=True)
        finally:
            client.delete(BEAT_LOCK_KEY)
    finally:
        client.rpop("notifications", 2)  # the two pushed above, from the tail
        client.close()
    assert "<title>Tình trạng hệ thống · disburse</title>" in html
    assert "sandbox" in html and "http://127.0.0.1:5001" in html and "cash" in html
    assert "sandbox-test-token" not in html
    row = re.search(r"<td>notifications</td><td class=\"num\">([0-9.]+)</td>", html)
    assert row and int(row.group(1).replace(".", "")) == before + 2
    assert "payments.batch" in html and "<td>cron 30 1 * * *</td>" in html  # beat's schedule
    # PostgreSQL's autovacuum as the server has it (the CI machine's is off, the embedded server's on).
    autovacuum = db.session.scalar(text("SHOW autovacuum"))
    said = re.search(r'<p id="autovacuum"[^>]*>([^<]*)</p>', html)
    assert said and ("đang bật" in said.group(1)) == (autovacuum == "on"), (autovacuum, said)


def _entry(actor, action: str, record: str, when: str) -> AuditLog:
    audit(actor, action, "user", record, {"note": action})
    db.session.flush()
    entry = db.session.query(AuditLog).order_by(AuditLog.id.desc()).first()
    db.session.execute(text("UPDATE audit_log SET created_at = :t WHERE id = :i"), {"t": when, "i": entry.id})
    db.session.expire(entry)
    return entry


def test_the_audit_log_filters_by_actor_kind_record_and_days_newest_first(admin_client, admin, monkeypatch):
    from disburse.admin import views

    other = create_user("admin")
    early = _entry(admin, "user.update", "501", "2021-11-01T10:00:00+07:00")
    late = _entry(admin, "user.update", "501", "2021-11-03T23:30:00+07:00")
    theirs = _entry(other, "user.deactivate", "502", "2021-11-02T09:00:00+07:00")
    html = admin_client.get(f"/admin/audit?actor={admin.email.upper()}&since=01/11/2021&until=03/11/2021").get_data(
        as_text=True
    )
    assert "<title>Nhật ký thao tác · disburse</title>" in html
    assert "03/11/2021 23:30:00" in html and "01/11/2021 10:00:00" in html and "502" not in html
    assert html.index("03/11/2021 23:30:00") < html.index("01/11/2021 10:00:00")  # newest first
    html = admin_client.get("/admin/audit?action=user.deactivate&record=502").get_data(as_text=True)
    assert other.email in html and "02/11/2021 09:00:00" in html and "user.update" not in html.split("<tbody>")[1]
    html = admin_client.get("/admin/audit?since=02/11/2021&until=02/11/2021").get_data(as_text=True)
    assert "02/11/2021 09:00:00" in html and "03/11/2021" not in html.split("<tbody>")[1]

    monkeypatch.setattr(views, "PAGE", 1)
    html = admin_client.get("/admin/audit?record=501").get_data(as_text=True)
    following = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)" rel="next"', html)
    assert following and f"before={late.id}" in following.group(1)
    html = admin_client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "01/11/2021 10:00:00" in html and "03/11/2021 23:30:00" not in html
    assert early.id < late.id and theirs.id > early.id


def test_a_users_audit_link_shows_that_users_entries_not_a_job_or_programme_of_the_same_number(admin_client, admin):
    """User 2, job 2 and programme 2 are three records: the user page's link names the kind, and the log's filter
    keeps to it (the kind's menu lists every kind in words); a record's number alone still finds every kind."""
    user = create_user("caseworker")
    number = str(user.id)
    audit(admin, "user.update", "user", number, {"note": "người dùng"})
    audit(admin, "job.retry", "job", number, {"note": "công việc"})
    audit(admin, "program.update", "program", number, {"note": "chương trình"})
    db.session.flush()
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    link = re.search(r'<a href="(/admin/audit\?[^"]*)">Nhật ký thao tác của tài khoản này</a>', page)
    assert link, page
    html = admin_client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    rows = html.split("<tbody>", 1)[1]
    assert "người dùng" in rows and "công việc" not in rows and "chương trình" not in rows
    assert '<option selected value="user">Người dùng (user)</option>' in html
    assert '<option value="job">Công việc (job)</option>' in html
    html = admin_client.get(f"/admin/audit?object_type=job&record={number}").get_data(as_text=True)
    rows = html.split("<tbody>", 1)[1]
    assert "công việc" in rows and "người dùng" not in rows and "chương trình" not in rows
    rows = admin_client.get(f"/admin/audit?record={number}").get_data(as_text=True).split("<tbody>", 1)[1]
    assert "người dùng" in rows and "công việc" in rows and "chương trình" in rows
    bad = admin_client.get("/admin/audit?object_type=nothing")
    assert bad.status_code == 400 and "Hãy chọn một trong các lựa chọn có trên trang." in bad.get_data(as_text=True)


def test_the_audit_logs_data_reads_in_vietnamese_letters(admin_client, admin):
    audit(admin, "user.update", "user", "503", {"full_name": ["Lê Văn Đức", "Lê Văn Đức <b>"]})
    db.session.flush()
    html = admin_client.get("/admin/audit?record=503").get_data(as_text=True)
    assert "Lê Văn Đức" in html and "\\u0110" not in html and "\\u00ea" not in html
    assert "Đức &lt;b&gt;" in html  # escaped like any text


def _data_cell(html: str) -> list[str]:
    """The lines of the first entry's data, as text."""
    cell = html.split('<ul class="audit-data">', 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"<[^>]+>", "", line).strip() for line in re.findall(r"<li>(.*?)</li>", cell, re.S)]


def test_the_audit_logs_data_reads_as_labelled_lines_in_both_languages(admin_client, admin):
    """An entry's data reads as "label: value" lines, not JSON: a change as "old → new" per field that changed, a role
    and a place by their names, yes or no, a target as a percentage and a day as dd/mm/yyyy."""
    from disburse.admin.service import update_user

    user = create_user("caseworker", district="017", email="dong.anh@bhxh.example.vn")
    update_user(
        user, role="supervisor", full_name=user.full_name, district=None, province="79", employer_unit=None, actor=admin
    )
    audit(admin, "target.set", "district", "017", {"date": "2021-12-15", "percent_bp": 8000})
    db.session.flush()
    html = admin_client.get(f"/admin/audit?action=user.update&record={user.id}").get_data(as_text=True)
    assert "{" not in html.split('<ul class="audit-data">', 1)[1].split("</ul>", 1)[0]
    assert _data_cell(html) == [
        "E-mail: dong.anh@bhxh.example.vn",
        "Vai trò: Cán bộ nghiệp vụ → Lãnh đạo, giám sát",
        "Tỉnh/thành phố: Thành phố Hà Nội (01) → Thành phố Hồ Chí Minh (79)",
        "Quận/huyện: Huyện Đông Anh (017) → —",
    ]
    html = admin_client.get("/admin/audit?action=target.set&record=017").get_data(as_text=True)
    assert _data_cell(html) == ["Ngày: 15/12/2021", "Mục tiêu: 80%"]
    assert "Quận/huyện</span> Huyện Đông Anh (017)</td>" in html  # the record, by its name
    admin.locale = "en"
    db.session.flush()
    html = admin_client.get("/admin/audit?action=target.set&record=017").get_data(as_text=True)
    assert _data_cell(html) == ["Date: 15/12/2021", "Target: 80%"]


def test_the_action_filter_offers_every_labelled_action(admin_client, admin):
    """Every action that has a label can be chosen, whether or not the log holds one yet."""
    from disburse.admin.views import AUDIT_ACTIONS

    html = admin_client.get("/admin/audit").get_data(as_text=True)
    offered = set(re.findall(r'<option value="([^"]+)"', html.split('name="action"', 1)[1].split("</select>", 1)[0]))
    assert set(AUDIT_ACTIONS) <= offered and len(AUDIT_ACTIONS) > 10


def test_the_audit_logs_bad_filters_are_named_in_both_languages(admin_client, admin):
    answer = admin_client.get("/admin/audit?since=2021/11/01")
    assert answer.status_code == 400
    assert "Ngày ghi theo dạng dd/mm/yyyy, ví dụ 20/11/2021." in answer.get_data(as_text=True)
    # A day as programs write it (copied from the API or an export) is a day too, as the API and the imports take it.
    assert admin_client.get("/admin/audit?since=2021-11-01").status_code == 200
    assert admin_client.get("/admin/audit?since=2021-13-01").status_code == 400  # not in the calendar
    answer = admin_client.get("/admin/audit?since=03/11/2021&until=01/11/2021")
    assert answer.status_code == 400 and "Ngày kết thúc phải sau ngày bắt đầu." in answer.get_data(as_text=True)
    sign_in(admin_client, admin, "en")
    html = admin_client.get("/admin/audit?since=03/11/2021&until=01/11/2021").get_data(as_text=True)
    assert "There is a problem" in html and "The end date must not be before the start date." in html
    html = admin_client.get("/admin/audit?since=32/13/2021").get_data(as_text=True)
    assert "dd/mm/yyyy" in html and "There is a problem" in html


def test_an_admin_changes_the_failures_before_cash_audited_and_nothing_else(admin_client, admin):
    program = db.session.scalar(select(Program).where(Program.code == "NQ116"))
    before = program.max_payment_failures
    name = f"program-{program.id}-max_payment_failures"
    html = admin_client.get("/admin/programme").get_data(as_text=True)
    assert f'action="/admin/programme/{program.id}"' in html and f'name="{name}"' in html
    new = 5 if before != 5 else 4
    answer = admin_client.post(f"/admin/programme/{program.id}", data={name: str(new)})
    assert answer.status_code == 302
    db.session.refresh(program)
    assert program.max_payment_failures == new
    entry = db.session.query(AuditLog).filter_by(action="program.update", object_id=str(program.id)).one()
    assert entry.actor_id == admin.id
    assert entry.data == {"code": "NQ116", "field": "max_payment_failures", "before": before, "after": new}

    for bad in ("0", "11", "ba", ""):
        answer = admin_client.post(f"/admin/programme/{program.id}", data={name: bad})
        assert answer.status_code == 400, bad
        assert "Hãy ghi số lần, từ 1 đến 10." in answer.get_data(as_text=True), bad
    sign_in(admin_client, admin, "en")
    html = admin_client.post(f"/admin/programme/{program.id}", data={name: "11"}).get_data(as_text=True)
    assert "There is a problem" in html and "Give a number from 1 to 10." in html
    db.session.refresh(program)
    assert program.max_payment_failures == new
    assert db.session.query(AuditLog).filter_by(action="program.update").count() == 1
    assert admin_client.post("/admin/programme/999999", data={name: "3"}).status_code == 404


def test_the_audit_log_names_a_unit_by_its_name_and_code_not_its_row_number(admin_client, admin):
    """Users and roles shows "Công ty … (DN…)"; the audit log showed "Unit (number): 163" for the same user."""
    from tests.factories import create_employer

    unit = create_employer(name="Công ty TNHH Nhật Ký")
    audit(admin, "user.create", "user", "504", {"role": "employer", "employer_id": unit.id})
    audit(admin, "user.update", "user", "505", {"employer_id": 999_999_999})  # a unit since gone: its number
    db.session.flush()
    for locale, label in (("vi", "Đơn vị"), ("en", "Unit")):
        sign_in(admin_client, admin, locale)
        html = admin_client.get("/admin/audit?record=504").get_data(as_text=True)
        assert f'<span class="muted">{label}:</span> Công ty TNHH Nhật Ký ({unit.unit_code})</li>' in html
        assert str(unit.id) not in re.sub(r"<[^>]+>", " ", html.split("<tbody>")[1]).split()
    html = admin_client.get("/admin/audit?record=505").get_data(as_text=True)
    assert '<span class="muted">Unit:</span> 999999999</li>' in html


def test_the_audit_logs_actor_filter_finds_a_part_of_the_e_mail_or_the_name_in_any_case(admin_client, admin):
    """ "giamsat.hanoi" found nothing (only a whole e-mail did), while the users page finds parts of e-mails and names:
    the log's actor filter finds them as the users page does, any case, a name with or without its marks."""
    hanoi = create_user("supervisor", province="01", email="giamsat.hanoi@bhxh.example.vn", full_name="Trần Giám Sát")
    saigon = create_user("supervisor", province="79", email="giamsat.hcm@bhxh.example.vn", full_name="Lê Văn Hùng")
    entries = {
        "hanoi": _entry(hanoi, "user.update", "601", "2021-11-01T10:00:00+07:00"),
        "saigon": _entry(saigon, "user.update", "602", "2021-11-02T10:00:00+07:00"),
        "admin": _entry(admin, "user.update", "603", "2021-11-03T10:00:00+07:00"),
        "system": _entry(None, "user.update", "604", "2021-11-04T10:00:00+07:00"),
    }

    def found(actor: str) -> set[str]:
        answer = admin_client.get("/admin/audit", query_string={"actor": actor, "since": "01/11/2021"})
        assert answer.status_code == 200, actor
        body = answer.get_data(as_text=True).partition("<tbody>")[2]
        return {name for name, entry in entries.items() if f"> {entry.object_id}</td>" in body}

    assert found("giamsat.hanoi") == {"hanoi"}
    assert found("GiamSat") == {"hanoi", "saigon"}
    assert found(" giamsat.hcm@bhxh.example.vn ") == {"saigon"}  # the whole address, as before
    assert found("giám sát") == found("GIAM SAT") == {"hanoi"}  # the name, with or without its marks
    assert found("bhxh.example.vn") >= {"hanoi", "saigon"} and "system" not in found("bhxh.example.vn")
    assert found("%") == found("giamsat_hanoi") == set()  # typed characters, not patterns
    assert found("khong.ai.ca") == set()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Người thực hiện (e-mail hoặc họ tên)" in page and "Một phần cũng được, ví dụ giamsat.hanoi" in page
    sign_in(admin_client, admin, "en")
    page = admin_client.get("/admin/audit", query_string={"actor": "giamsat.hanoi"}).get_data(as_text=True)
    assert "Done by (e-mail or name)" in page and "A part will do, e.g. giamsat.hanoi" in page
    assert hanoi.email in page and saigon.email not in page.split("<tbody>")[1]
