"""Written refusal notices: every refusal has one, with the person's details, the reason in plain words, the legal
basis and how to appeal; a district's refusals of a day make one printable document, written by a background job."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from disburse.auth.service import create_token
from disburse.claims.service import claim_events
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from disburse.registry.models import Employee
from disburse.verification import notices, reasons, review
from disburse.verification import service as verification
from disburse.verification.reasons import OTHER
from tests.factories import create_claim, create_claim_refusable_for, create_employee, create_employer, create_user
from workers.notices import district_day_notices

DONG_ANH, QUAN_1 = "017", "760"
LEGAL_BASIS = (
    "Nghị quyết số 116/NQ-CP ngày 24/9/2021 của Chính phủ; "
    "Quyết định số 28/2021/QĐ-TTg ngày 01/10/2021 của Thủ tướng Chính phủ"
)


def _auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user)}"}


def _today_in_vietnam(db_session) -> date:
    """The day the test transaction's events carry (now() is the transaction's start)."""
    return db_session.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"))


@pytest.fixture
def unit(db_session):
    return create_employer(district_code=DONG_ANH, name="Công ty TNHH May Đông Anh")


def _refused(unit, caseworker, *, code="not_employed_on_cutoff", reason="Đã nghỉ việc từ tháng 8/2021.", **person):
    claim = create_claim_refusable_for(code, unit, **person)
    review.reject(claim.id, caseworker, code, reason)
    return claim, db.session.get(Employee, claim.employee_id)


def _notice_count(html: str) -> int:
    return len(re.findall(r'<article class="notice"', html))


def test_the_notice_has_the_persons_details_the_reason_the_legal_basis_and_how_to_appeal(client, db_session, unit):
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim, employee = _refused(
        unit,
        caseworker,
        full_name="Nguyễn Thị Hoa",
        gender="female",
        date_of_birth=date(1985, 3, 7),
        national_id="001185012345",
        address="Thôn Đoài, xã Nam Hồng",
    )

    response = client.get(f"/api/v1/claims/{claim.id}/notice", headers=_auth(caseworker))

    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>") and '<html lang="vi">' in page and "<script" not in page
    assert 'href="/static/notice.css"' in page and "<style>" not in page
    assert "THÔNG BÁO" in page and "về việc không giải quyết hỗ trợ" in page
    assert "Kính gửi: Bà Nguyễn Thị Hoa" in page
    for detail in (employee.si_code, "001185012345", "07/03/1985", "Công ty TNHH May Đông Anh", unit.unit_code):
        assert detail in page
    assert reasons.label("not_employed_on_cutoff")[0] in page  # the reason code's plain words
    assert "Đã nghỉ việc từ tháng 8/2021." in page  # the caseworker's written reason
    assert LEGAL_BASIS in page
    assert "khiếu nại" in page and "Luật Khiếu nại năm 2011" in page
    assert "trong thời hạn 90 ngày kể từ ngày nhận được thông báo này" in page
    assert "Bảo hiểm xã hội huyện Đông Anh" in page and "BẢO HIỂM XÃ HỘI THÀNH PHỐ HÀ NỘI" in page
    assert f"Đông Anh, ngày {_today_in_vietnam(db_session):%d/%m/%Y}" in page


@pytest.mark.parametrize("code", sorted(review.refusal_reasons()))
def test_every_refusal_reason_has_its_notice_in_plain_words(client, unit, code):
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim, _ = _refused(unit, caseworker, code=code, reason="Chi tiết do cán bộ ghi.")
    page = client.get(f"/api/v1/claims/{claim.id}/notice", headers=_auth(caseworker)).get_data(as_text=True)
    vi, _en = review.refusal_reasons()[code]
    assert "Chi tiết do cán bộ ghi." in page
    # "Another reason" is the written reason itself: its label ("… nêu cụ thể trong thông báo gửi người lao động")
    # speaks to the caseworker, and printed it told the person to look in the letter they were reading.
    assert (vi in page) is (code != OTHER)


def test_a_refusal_without_a_reason_code_still_has_its_notice_and_text_is_escaped(client):
    claim = create_claim("rejected", district_code=DONG_ANH)  # the factory refuses with a written reason only
    page = client.get(f"/api/v1/claims/{claim.id}/notice", headers=_auth(create_user("admin"))).get_data(as_text=True)
    assert "Không đủ điều kiện (thử nghiệm)" in page and _notice_count(page) == 1

    caseworker = create_user("caseworker", district=DONG_ANH)
    other = create_claim("needs_review", district_code=DONG_ANH)
    review.reject(other.id, caseworker, "excluded_sector", "<script>alert(1)</script>")
    page = client.get(f"/api/v1/claims/{other.id}/notice", headers=_auth(caseworker)).get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;" in page


def _reason_section(page: str) -> str:
    """The notice's "Lý do không giải quyết" section, up to the next heading."""
    return page.split("<h2>Lý do không giải quyết</h2>", 1)[1].split("<h2>", 1)[0]


@pytest.mark.parametrize(
    ("person", "sector", "applied_on", "codes"),
    [
        ({}, "state_agency", None, ["excluded_sector"]),
        (
            {"ui_status": "stopped", "ui_stopped_on": date(2021, 3, 1)},
            None,
            date(2021, 12, 21),
            ["applied_after_deadline"],
        ),
        (
            {"ui_status": "stopped", "ui_stopped_on": date(2019, 12, 31), "pension_decision": True},
            None,
            None,
            ["pension_decision", "stopped_outside_window"],
        ),
    ],
)
def test_a_refusal_verification_makes_has_a_notice_naming_each_reason_in_plain_vietnamese(
    app, client, db_session, unit, monkeypatch, person, sector, applied_on, codes
):
    """No caseworker wrote these: verification refused the claim on its own (the registry, or a late Form 04). The
    event carries the first refusing code as its reason_code, and the notice prints the plain words of every
    refusing code, once (the event's written reason is those same words)."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-22")
    employee = create_employee(employer_id=unit.id, district_code=DONG_ANH, full_name="Trần Văn Bình", **person)
    if sector is not None:  # the registry was corrected after the listing: the unit is a state agency
        db_session.execute(text("UPDATE employers SET sector = :s WHERE id = :id"), {"s": sector, "id": unit.id})
    if applied_on is None:
        claim = create_claim("employer_confirmed", employee=employee, confirmed_on=date(2021, 10, 25))
    else:
        claim = create_claim("applied", employee=employee, applied_on=applied_on)
    verification.verify(ids=[claim.id])
    db_session.refresh(claim)
    assert claim.state == "rejected"
    event = claim_events(claim.id)[-1]
    assert (event.action, event.actor_id, event.data["reason_code"]) == ("reject", None, codes[0])

    caseworker = create_user("caseworker", district=DONG_ANH)
    response = client.get(f"/api/v1/claims/{claim.id}/notice", headers=_auth(caseworker))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Kính gửi: Ông Trần Văn Bình" in page and LEGAL_BASIS in page
    section = _reason_section(page)
    words = [review.refusal_reasons()[code][0] for code in codes]
    assert re.findall(r'<p class="reason">(.*?)</p>', section) == words  # each reason, in code order
    assert "reason-text" not in section  # the written reason repeats those words: not printed twice
    assert all(section.count(w) == 1 for w in words)
    for vietnamese in ("Đơn vị thuộc khu vực không được hỗ trợ", "sau thời hạn nhận hồ sơ", "lương hưu hằng tháng"):
        assert (vietnamese in section) == any(vietnamese in w for w in words)


def test_a_claim_not_refused_has_no_notice_and_scope_holds(client, unit):
    caseworker = create_user("caseworker", district=DONG_ANH)
    waiting = create_claim("needs_review", district_code=DONG_ANH)
    response = client.get(f"/api/v1/claims/{waiting.id}/notice", headers={**_auth(caseworker), "Accept-Language": "en"})
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "not_rejected",
        "message": "The claim has not been refused, so it has no refusal notice.",
        "fields": {},
    }
    refused, _ = _refused(unit, caseworker)
    elsewhere = create_claim("rejected", district_code=QUAN_1)
    assert client.get(f"/api/v1/claims/{elsewhere.id}/notice", headers=_auth(caseworker)).status_code == 404
    assert client.get(f"/api/v1/claims/{elsewhere.id + 10**6}/notice", headers=_auth(caseworker)).status_code == 404
    employer = create_user("employer", employer_unit=unit.unit_code)
    assert client.get(f"/api/v1/claims/{refused.id}/notice", headers=_auth(employer)).status_code == 200
    assert client.get(f"/api/v1/claims/{refused.id}/notice").status_code == 401


def test_the_stylesheet_prints_a4_one_notice_per_page(app):
    css = (Path(app.static_folder) / notices.STYLESHEET).read_text(encoding="utf-8")
    assert "size: A4" in css and "break-after: page" in css and "page-break-after: always" in css


def _signed_in(client, user, locale: str):
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    user.locale = locale
    db.session.commit()
    return client


@pytest.mark.parametrize(("locale", "words"), [("vi", "Quay lại hồ sơ số {id}"), ("en", "Back to claim {id}")])
def test_the_served_notice_leads_back_to_the_case_in_the_interface_language_and_prints_without_it(
    app, client, unit, locale, words
):
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim, _ = _refused(unit, caseworker)
    page = _signed_in(client, caseworker, locale).get(f"/api/v1/claims/{claim.id}/notice").get_data(as_text=True)

    nav = re.search(
        r'<nav class="way-back" lang="(\w+)" aria-label="([^"]+)"><a href="([^"]+)">([^<]+)</a></nav>', page
    )
    assert nav is not None
    assert nav.group(1) == locale and nav.group(2) == {"vi": "Quay lại", "en": "Back"}[locale]
    assert nav.group(3) == f"/caseworker/claims/{claim.id}" and nav.group(4) == words.format(id=claim.id)
    assert page.index("<nav") < page.index('<article class="notice"')  # the first thing a keyboard reaches
    # The notice itself stays the Vietnamese letter whatever the interface's language.
    assert '<html lang="vi">' in page and "Lý do không giải quyết" in page and "Back to" not in page.split("</nav>")[1]
    # Never printed.
    css = (Path(app.static_folder) / notices.STYLESHEET).read_text(encoding="utf-8")
    assert re.search(r"@media print \{[^@]*\.way-back \{ display: none; \}", css)


def test_the_units_employer_goes_back_to_the_units_page(client, unit):
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim, _ = _refused(unit, caseworker)
    employer = create_user("employer", employer_unit=unit.unit_code)
    page = _signed_in(client, employer, "en").get(f"/api/v1/claims/{claim.id}/notice").get_data(as_text=True)
    assert f'<a href="/employers/{unit.unit_code}">Back to the unit&#39;s payout status</a>' in page


# ------------------------------------------------------------------------------------------------------- batch


def _job(db_session, district: str, day: date) -> int:
    from tests.factories import nq116

    job = jobs.create_job(notices.KIND, {"program_id": nq116().id, "district": district, "date": day.isoformat()})
    db_session.commit()
    return job.id


def test_the_batch_job_writes_one_document_with_one_notice_per_refusal(app, db_session, unit, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIR", str(tmp_path))
    caseworker = create_user("caseworker", district=DONG_ANH)
    refused = [_refused(unit, caseworker, full_name=f"Người Bị Từ Chối {i}")[1] for i in range(3)]
    create_claim("needs_review", district_code=DONG_ANH)
    elsewhere = create_claim("needs_review", district_code=QUAN_1)
    review.reject(elsewhere.id, create_user("admin"), "excluded_sector", "Đơn vị là cơ quan nhà nước.")
    today = _today_in_vietnam(db_session)
    job_id = _job(db_session, DONG_ANH, today)

    district_day_notices(job_id)

    job = db_session.get(Job, job_id)
    db_session.refresh(job)
    assert job.state == "succeeded", job.error
    assert job.result["notices"] == 3 and (job.done, job.total) == (3, 3)
    path = tmp_path / job.result["file"]  # the jobs' one shape for a file to download, in the export folder
    assert path.parent == tmp_path / "notices" and path.is_file() and job.result["filename"] == path.name
    assert not list(path.parent.glob("*.part"))
    document = path.read_text(encoding="utf-8")
    assert _notice_count(document) == 3
    assert "@page" in document and "<link" not in document  # the stylesheet travels with the file
    assert "way-back" not in document.split("</style>", 1)[1]  # a printed batch has no link back
    positions = [document.index(person.si_code) for person in refused]
    assert positions == sorted(positions)  # in claim order
    assert all(person.full_name in document for person in refused)

    district_day_notices(job_id)  # a redelivered task does nothing more
    db_session.refresh(job)
    assert tmp_path / job.result["file"] == path


def test_a_day_without_refusals_gives_no_document(app, db_session, unit, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIR", str(tmp_path))
    _refused(unit, create_user("caseworker", district=DONG_ANH))
    job_id = _job(db_session, DONG_ANH, _today_in_vietnam(db_session) - timedelta(days=1))
    district_day_notices(job_id)
    job = db_session.get(Job, job_id)
    db_session.refresh(job)
    assert job.state == "succeeded" and job.result["notices"] == 0
    assert job.result["file"] is None and job.result["filename"] is None
    assert not (tmp_path / "notices").exists()


def test_starting_a_batch_over_the_api(client, db_session):
    caseworker = create_user("caseworker", district=DONG_ANH)
    response = client.post(
        "/api/v1/notices/batches", json={"district": DONG_ANH, "date": "2021-11-02"}, headers=_auth(caseworker)
    )
    assert response.status_code == 202
    job = db_session.get(Job, response.get_json()["job_id"])
    assert job is not None and (job.kind, job.state, job.created_by) == (
        "notices.district_day",
        "queued",
        caseworker.id,
    )
    assert job.params["district"] == DONG_ANH and job.params["date"] == "2021-11-02"
    # Where to follow it, with the same token: the job's state.
    assert response.headers["Location"] == f"/jobs/{job.id}.json"
    followed = client.get(response.headers["Location"], headers=_auth(caseworker))
    assert followed.status_code == 200 and followed.get_json()["state"] == "queued"

    outside = client.post(
        "/api/v1/notices/batches", json={"district": QUAN_1, "date": "2021-11-02"}, headers=_auth(caseworker)
    )
    unknown = client.post(
        "/api/v1/notices/batches", json={"district": "999", "date": "2021-11-02"}, headers=_auth(caseworker)
    )
    assert outside.status_code == unknown.status_code == 404
    assert outside.get_json() == unknown.get_json()
    bad = client.post(
        "/api/v1/notices/batches", json={"district": "17a", "date": "02/11/21"}, headers=_auth(caseworker)
    )
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"district", "date"}
    assert "năm hai chữ số" in bad.get_json()["fields"]["date"]
    as_people_write_it = client.post(
        "/api/v1/notices/batches", json={"district": DONG_ANH, "date": "3/11/2021"}, headers=_auth(caseworker)
    )
    assert as_people_write_it.status_code == 202
    assert db_session.get(Job, as_people_write_it.get_json()["job_id"]).params["date"] == "2021-11-03"
    for far in ("9999-12-31", "0001-01-01"):  # the day after 9999-12-31 does not exist: refused, never a failed job
        absurd = client.post(
            "/api/v1/notices/batches", json={"district": DONG_ANH, "date": far}, headers=_auth(caseworker)
        )
        assert absurd.status_code == 422 and set(absurd.get_json()["fields"]) == {"date"}, absurd.get_json()
    supervisor = create_user("supervisor", province="79")
    assert (
        client.post(
            "/api/v1/notices/batches", json={"district": QUAN_1, "date": "2021-11-02"}, headers=_auth(supervisor)
        )
    ).status_code == 202


def test_a_batch_for_a_day_that_has_not_come_is_refused_naming_the_date(app, client, db_session, monkeypatch):
    """2099-12-07 started a job that could never find a refusal: a day after today is a 422 on date, in both
    languages; today itself is taken. Today is Vietnam's, when refusals are recorded, whatever the programme's clock
    says (a rehearsal's clock in 2021 refused today's notices)."""
    from datetime import datetime

    from disburse.programs.calendar import VIETNAM_TZ

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")
    caseworker = create_user("caseworker", district=DONG_ANH)
    today = datetime.now(VIETNAM_TZ).date()
    words = {
        "vi": f"Ngày 07/12/2099 chưa đến (hôm nay là {today:%d/%m/%Y}): chưa có hồ sơ nào bị từ chối ngày đó.",
        "en": f"07/12/2099 has not come yet (today is {today:%d/%m/%Y}): nothing was refused on that day.",
    }
    for language, said in words.items():
        later = client.post(
            "/api/v1/notices/batches",
            json={"district": DONG_ANH, "date": "2099-12-07"},
            headers={**_auth(caseworker), "Accept-Language": language},
        )
        assert later.status_code == 422 and later.get_json()["fields"] == {"date": said}
    assert db_session.scalar(select(func.count()).select_from(Job)) == 0
    taken = client.post(
        "/api/v1/notices/batches", json={"district": DONG_ANH, "date": today.isoformat()}, headers=_auth(caseworker)
    )
    assert taken.status_code == 202
