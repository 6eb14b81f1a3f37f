"""Recoveries on the supervisors' pages: money a payee's bank returned after it had settled, listed by the place of
its claim with totals by state, and moved on (recovered, written off, closed) in two steps, each move audited."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from disburse.auth.models import AuditLog
from disburse.claims import service as claims
from disburse.claims.states import ClaimAction
from disburse.extensions import db
from disburse.payments import recoveries as recovery_service
from disburse.payments.models import Recovery, RecoveryEvent
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.programs.calendar import VIETNAM_TZ
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _returned(district: str, amount: int = 2_100_000, provider: str = "sandbox") -> Recovery:
    """A payment to a person of ``district`` that settled and was then returned by their bank: its recovery."""
    unit = create_employer(district_code=district)
    employee = create_employee(employer_id=unit.id, district_code=district, full_name=f"Người {district} {amount}")
    claim = create_claim("payment_pending", employee=employee, amount_vnd=amount)
    payment = create_payment(claim, state="sent", provider=provider)
    for status in (ProviderStatus.PAID, ProviderStatus.RETURNED):
        apply_updates(provider, [StatusUpdate(payment.provider_reference, status, "AC04")], source="poll")
    return db.session.scalars(select(Recovery).where(Recovery.payment_id == payment.id)).one()


@pytest.fixture
def hanoi_supervisor(db_session):
    return create_user("supervisor", province="01", password=PASSWORD)


def test_a_province_supervisor_sees_its_provinces_recoveries_with_totals_by_state(client, hanoi_supervisor):
    near, far = _returned(DONG_ANH, 2_100_000), _returned(QUAN_1, 3_300_000)
    sign_in(client, hanoi_supervisor)
    page = client.get("/dashboard/recoveries")
    assert page.status_code == 200
    text = _text(page)
    assert f"Khoản số {near.id}" in text and "Người 017 2100000" in text
    assert f"Khoản số {far.id}" not in text and "Người 760" not in text
    assert "Tài khoản đã đóng" in text and "AC04" not in text  # the bank's code in words
    totals = _text(page).split("Theo trạng thái", 1)[1].split("Mọi trạng thái", 1)[0]
    assert "Chờ thu hồi 1 2.100.000 ₫ 0 ₫" in totals and "Đã xoá nợ 0 0 ₫ 0 ₫" in totals
    # Another state shows none of them; a state that does not exist is named, not ignored.
    assert f"Khoản số {near.id}" not in _text(client.get("/dashboard/recoveries?state=closed"))
    refused = client.get("/dashboard/recoveries?state=lost")
    assert refused.status_code == 400 and "Trạng thái" in _text(refused)
    # Another province is the same 404 as an unknown one; caseworkers and employers never see the page.
    assert client.get(f"/dashboard/recoveries?district={QUAN_1}").status_code == 404
    assert client.get(f"/dashboard/recoveries/{far.id}").status_code == 404
    assert client.get(f"/dashboard/recoveries/{far.id + 100_000}").status_code == 404


@pytest.mark.parametrize("role", ["caseworker", "employer"])
def test_offices_below_supervisor_and_employers_may_not_open_recoveries(client, db_session, role):
    recovery = _returned(DONG_ANH)
    sign_in(client, create_user(role, password=PASSWORD))
    assert client.get("/dashboard/recoveries").status_code == 403
    assert client.post(f"/dashboard/recoveries/{recovery.id}", data={"to_state": "recovered"}).status_code == 403
    assert db.session.get(Recovery, recovery.id).state == "owed"


def test_recording_money_back_takes_a_check_page_then_a_confirmation_and_is_audited(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH, 2_100_000)
    sign_in(client, hanoi_supervisor)
    url = f"/dashboard/recoveries/{recovery.id}"
    form = client.get(url)
    assert form.status_code == 200 and 'name="to_state"' in form.get_data(as_text=True)

    checking = client.post(url, data={"to_state": "recovered", "note": "Sao kê ngày 20/11"})
    assert checking.status_code == 200
    assert 'id="kiem-tra-lai"' in checking.get_data(as_text=True)
    assert "Ghi nhận Quỹ đã nhận lại đủ 2.100.000 ₫" in _text(checking) and "Người 017 2100000" in _text(checking)
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).state == "owed", "the first post changes nothing"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "recovery.move")) is None

    edited = client.post(url, data={"to_state": "recovered", "note": "Sao kê ngày 20/11", "edit": "1"})
    assert 'id="kiem-tra-lai"' not in edited.get_data(as_text=True) and 'name="to_state"' in edited.get_data(True)

    done = client.post(url, data={"to_state": "recovered", "note": "Sao kê ngày 20/11", "confirmed": "1"})
    assert done.status_code == 302 and "/dashboard/recoveries" in done.headers["Location"]
    db.session.expire_all()
    moved = db.session.get(Recovery, recovery.id)
    assert (moved.state, moved.recovered_vnd) == ("recovered", 2_100_000)
    # Its history: opened by the system, then the supervisor's move, in words and in Vietnam's time (not UTC).
    history = _text(client.get(url)).split("Các lần chuyển trạng thái", 1)[1]
    opened, recorded = re.findall(r"(\d\d/\d\d/\d{4} \d\d:\d\d):\d\d", history)[:2]
    assert "Hệ thống Mở: Chờ thu hồi" in history
    assert f"{hanoi_supervisor.email} Chờ thu hồi → Đã thu hồi 2.100.000 ₫ Sao kê ngày 20/11" in history
    written = datetime.strptime(recorded, "%d/%m/%Y %H:%M").replace(tzinfo=VIETNAM_TZ)
    assert abs(datetime.now(UTC) - written) < timedelta(minutes=2) and opened <= recorded
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "recovery.move"))
    assert (entry.actor_id, entry.object_type, entry.object_id) == (hanoi_supervisor.id, "recovery", str(recovery.id))
    assert entry.data["to"] == "recovered" and entry.data["from"] == "owed"
    # Recovered while its claim still waits to be paid again: nothing to do yet, and closing is refused (the person is
    # still owed their support). Once the claim has ended (here the person declines), it may only be closed.
    waiting = client.get(url)
    assert 'name="to_state"' not in waiting.get_data(as_text=True)
    assert f"Khoản thu hồi đóng được khi hồ sơ số {recovery.claim_id} đã được chi trả lại" in _text(waiting)
    early = client.post(url, data={"to_state": "closed", "confirmed": "1"})
    assert early.status_code == 422  # not among the choices offered
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).state == "recovered"
    with pytest.raises(recovery_service.RecoveryRefused, match=f"Claim {recovery.claim_id} still waits to be paid"):
        recovery_service.move(recovery.id, "closed", hanoi_supervisor, "")
    db.session.rollback()
    claims.transition(recovery.claim_id, ClaimAction.DECLINE, data={"source": "office"})
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert '<option value="closed">Đã đóng</option>' in page and 'value="written_off"' not in page
    assert client.post(url, data={"to_state": "closed", "confirmed": "1"}).status_code == 302
    closed = client.get(url)
    assert 'id="recovery-closed"' in closed.get_data(as_text=True) and 'name="to_state"' not in closed.get_data(True)
    again = client.post(url, data={"to_state": "written_off", "note": "x", "confirmed": "1"})
    assert again.status_code == 422
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).state == "closed"


def test_a_write_off_without_a_note_is_refused_on_the_page_and_changes_nothing(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH)
    sign_in(client, hanoi_supervisor)
    refused = client.post(f"/dashboard/recoveries/{recovery.id}", data={"to_state": "written_off", "confirmed": "1"})
    assert refused.status_code == 409 and "Xoá nợ cần ghi lý do." in _text(refused)
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).state == "owed"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "recovery.move")) is None
    too_long = client.post(
        f"/dashboard/recoveries/{recovery.id}", data={"to_state": "written_off", "note": "x" * 501, "confirmed": "1"}
    )
    assert too_long.status_code == 422 and "Tối đa 500 ký tự." in _text(too_long)


def test_part_of_the_sum_back_leaves_the_rest_owed_until_all_of_it_is_back(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH, 2_100_000)
    sign_in(client, hanoi_supervisor)
    url = f"/dashboard/recoveries/{recovery.id}"
    checking = client.post(url, data={"to_state": "recovered", "amount": "1.000.000"})
    assert "Ghi nhận Quỹ đã nhận lại 1.000.000 ₫" in _text(checking) and "còn phải thu 1.100.000 ₫" in _text(checking)
    assert 'name="amount" value="1000000"' in checking.get_data(as_text=True)
    done = client.post(url, data={"to_state": "recovered", "amount": "1000000", "note": "Nộp lần 1", "confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("state=owed")
    db.session.expire_all()
    part = db.session.get(Recovery, recovery.id)
    assert (part.state, part.recovered_vnd) == ("owed", 1_000_000)
    page = _text(client.get(url))
    assert "Còn phải thu 1.100.000 ₫" in page and "Thu hồi một phần 1.000.000 ₫ Nộp lần 1" in page
    # More than is still owed, nothing, or not a sum: refused with the reason, nothing changes.
    for amount, status, message in (
        ("1.100.001", 409, "Số tiền thu hồi phải từ 1 ₫ đến 1.100.000 ₫"),
        ("0", 422, "Số tiền phải lớn hơn 0."),
        ("một triệu", 422, "Số tiền ghi bằng số đồng"),
        ("-5", 422, "Số tiền ghi bằng số đồng"),
    ):
        refused = client.post(url, data={"to_state": "recovered", "amount": amount, "confirmed": "1"})
        assert refused.status_code == status and message in _text(refused), amount
    refused = client.post(url, data={"to_state": "written_off", "amount": "5", "note": "x", "confirmed": "1"})
    assert refused.status_code == 409 and "Chỉ ghi số tiền khi thu hồi." in _text(refused)
    db.session.expire_all()
    assert (db.session.get(Recovery, recovery.id).state, db.session.get(Recovery, recovery.id).recovered_vnd) == (
        "owed",
        1_000_000,
    )
    # The rest, with no sum given: all of what is still owed.
    assert client.post(url, data={"to_state": "recovered", "confirmed": "1"}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(Recovery, recovery.id).state, db.session.get(Recovery, recovery.id).recovered_vnd) == (
        "recovered",
        2_100_000,
    )
    moves = db.session.scalars(
        select(AuditLog.data).where(AuditLog.action == "recovery.move").order_by(AuditLog.id)
    ).all()
    assert [m["recovered_vnd"] for m in moves] == [1_000_000, 1_100_000]


def test_a_confirmation_sent_twice_records_once_and_a_stale_one_is_refused(client, hanoi_supervisor):
    """A double click (or a reload) on "confirm" of a part recorded must not record it twice: the second is the
    same step, done already. A confirmation decided before someone else's step is refused and says why."""
    recovery = _returned(DONG_ANH, 2_100_000)
    sign_in(client, hanoi_supervisor)
    url = f"/dashboard/recoveries/{recovery.id}"
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"', client.get(url).get_data(as_text=True)).group(1)
    confirm = {"to_state": "recovered", "amount": "1000000", "note": "Lần 1", "seen": seen, "confirmed": "1"}
    checking = client.post(url, data={k: v for k, v in confirm.items() if k != "confirmed"})
    assert f'name="seen" type="hidden" value="{seen}"' in checking.get_data(as_text=True)
    for _ in range(2):
        done = client.post(url, data=confirm)
        assert done.status_code == 302, _text(done)
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).recovered_vnd == 1_000_000
    assert len(db.session.scalars(select(AuditLog).where(AuditLog.action == "recovery.move")).all()) == 1
    # Another part decided on the page as it was before the first: refused, nothing recorded, the page starts over.
    stale = client.post(url, data={**confirm, "amount": "500000", "note": "Lần 2"})
    assert stale.status_code == 409 and "vừa được ghi nhận thêm sau khi bạn mở trang" in _text(stale)
    assert f'name="seen" type="hidden" value="{seen}"' not in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).recovered_vnd == 1_000_000
    # "All that is still owed" decided on the page as it was before the part, with the same note: not the part
    # recorded already (it was all, as the page said then), so refused too, never reported done with nothing recorded.
    everything = client.post(url, data={**confirm, "amount": ""})
    assert everything.status_code == 409 and "vừa được ghi nhận thêm sau khi bạn mở trang" in _text(everything)
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).recovered_vnd == 1_000_000


def test_the_pages_read_in_english(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH, 1_800_000)
    sign_in(client, hanoi_supervisor, "en")
    listing = _text(client.get("/dashboard/recoveries"))
    assert "Recoveries:" in listing and f"Recovery {recovery.id}" in listing and "VND 1,800,000" in listing
    checking = _text(
        client.post(f"/dashboard/recoveries/{recovery.id}", data={"to_state": "written_off", "note": "Người đã mất"})
    )
    assert "Write off VND 1,800,000 of payment" in checking and "Note: Người đã mất" in checking
    assert "Once confirmed, this cannot be undone." in checking
    page = _text(client.get(f"/dashboard/recoveries/{recovery.id}"))
    assert "The system Opened: Owed" in page and "Still owed VND 1,800,000" in page
    assert "Sum received back (VND)" in page and "When Recorded by" in page


def test_the_case_page_links_a_supervisor_to_the_recovery_and_the_dashboard_to_the_list(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH)
    sign_in(client, hanoi_supervisor)
    case = client.get(f"/caseworker/claims/{recovery.claim_id}").get_data(as_text=True)
    assert f'href="/dashboard/recoveries/{recovery.id}"' in case
    assert 'href="/dashboard/recoveries?province=01"' in client.get("/dashboard/").get_data(as_text=True)


def test_after_a_part_the_check_page_names_what_is_still_owed_and_a_bad_sum_says_one_thing(client, hanoi_supervisor):
    """500.000 ₫ of 2.100.000 ₫ back at the office: writing off, or recording the rest, concerns 1.600.000 ₫, which
    the check page says (it said 2.100.000 ₫). A sum that is not whole đồng is said once, not also "more than 0"."""
    recovery = _returned(DONG_ANH, 2_100_000)
    sign_in(client, hanoi_supervisor)
    url = f"/dashboard/recoveries/{recovery.id}"
    part = {"to_state": "recovered", "amount": "500.000", "note": "Nộp tại cơ quan", "confirmed": "1"}
    assert client.post(url, data=part).status_code == 302
    write_off = _text(client.post(url, data={"to_state": "written_off", "note": "Không liên lạc được"}))
    assert "Xoá nợ 1.600.000 ₫ của khoản chi" in write_off and "2.100.000 ₫ của khoản chi" not in write_off
    rest = _text(client.post(url, data={"to_state": "recovered", "note": "Sao kê"}))
    assert "Ghi nhận Quỹ đã nhận lại đủ 1.600.000 ₫ của khoản chi" in rest
    for typed in ("1.5", "99999999999999999999999", "năm trăm"):
        bad = client.post(url, data={"to_state": "recovered", "amount": typed})
        assert bad.status_code == 422, typed
        assert "Số tiền ghi bằng số đồng" in _text(bad) and "Số tiền phải lớn hơn 0." not in _text(bad), typed
    assert "Số tiền phải lớn hơn 0." in _text(client.post(url, data={"to_state": "recovered", "amount": "0"}))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_recoveries_with_nothing_left_to_do_are_closed_at_once(client, hanoi_supervisor, locale):
    """After a reconciliation marked hundreds of recoveries recovered, each had to be closed on its page, in two
    steps. The list offers to close, at once, those of its area recovered or written off whose claim has ended, each
    with its event and audit entry under the supervisor's name; the others, and other provinces', stay."""
    admin = create_user("admin", password=PASSWORD)
    done, given_up, waiting, owed, far = (_returned(d) for d in (DONG_ANH, DONG_ANH, DONG_ANH, DONG_ANH, QUAN_1))
    moves = [(done, "recovered", ""), (given_up, "written_off", "Đã mất."), (waiting, "recovered", "")]
    for recovery, to_state, note in [*moves, (far, "recovered", "")]:
        recovery_service.move(recovery.id, to_state, admin, note)
    for recovery in (done, given_up, owed, far):  # their claims end (the people decline); ``waiting``'s still waits
        claims.transition(recovery.claim_id, ClaimAction.DECLINE, data={"source": "office"})
    db.session.commit()
    sign_in(client, hanoi_supervisor, locale)

    page = client.get("/dashboard/recoveries")
    action = "/dashboard/recoveries/close-settled?province=01"  # the list's area
    form = page.get_data(as_text=True).split(f'<form method="post" action="{action}"', 1)[1].split("</form>", 1)[0]
    said = {
        "vi": ("2 khoản đã thu hồi hoặc đã xoá nợ", "Đóng cả 2 khoản này"),
        "en": ("2 recoveries are", "Close all 2"),
    }
    assert all(words in form for words in said[locale]), form

    seen = re.search(r'name="seen" value="([0-9a-f]+)"', form).group(1)
    response = client.post(action, data={"seen": seen})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/dashboard/recoveries?province=01&state=closed"
    )
    closed = _text(client.get(response.headers["Location"]))
    assert ("Đã đóng 2 khoản thu hồi." if locale == "vi" else "2 recoveries closed.") in closed
    db.session.expire_all()
    states = [db.session.get(Recovery, r.id).state for r in (done, given_up, waiting, owed, far)]
    assert states == ["closed", "closed", "recovered", "owed", "recovered"]
    for recovery, was in ((done, "recovered"), (given_up, "written_off")):
        last = recovery_service.history(recovery.id)[-1]
        assert (last.who, last.from_state, last.to_state) == (hanoi_supervisor.email, was, "closed")
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.object_id == str(recovery.id), AuditLog.action == "recovery.move")
        ).all()[-1]
        assert entry.actor_id == hanoi_supervisor.id and (entry.data["from"], entry.data["to"]) == (was, "closed")
    assert db.session.get(Recovery, done.id).closed_at is not None

    # Nothing more to close: no button, and a post sent again (a second click, a stale page) closes nothing.
    assert 'id="close-settled"' not in client.get("/dashboard/recoveries").get_data(as_text=True)
    events = db.session.scalar(select(func.count()).select_from(RecoveryEvent))
    again = client.post(action, data={"seen": seen}, follow_redirects=True)
    assert ("Không có khoản thu hồi nào cần đóng." if locale == "vi" else "No recovery needed closing.") in _text(again)
    assert db.session.scalar(select(func.count()).select_from(RecoveryEvent)) == events


def test_the_recoveries_to_close_at_once_are_those_the_page_showed(client, hanoi_supervisor):
    """The button said "1 recovery … Close it"; meanwhile another was written off and its claim ended: the post
    closed two. A post finding another set than the page showed closes nothing and says so; the page then offers
    the new set."""
    admin = create_user("admin", password=PASSWORD)
    shown, later = _returned(DONG_ANH), _returned(DONG_ANH)
    recovery_service.move(shown.id, "recovered", admin, "")
    claims.transition(shown.claim_id, ClaimAction.DECLINE, data={"source": "office"})
    db.session.commit()
    sign_in(client, hanoi_supervisor, "en")
    page = client.get("/dashboard/recoveries").get_data(as_text=True)
    assert "Close it" in page
    seen = re.search(r'name="seen" value="([0-9a-f]+)"', page).group(1)

    recovery_service.move(later.id, "written_off", admin, "Đã mất.")
    claims.transition(later.claim_id, ClaimAction.DECLINE, data={"source": "office"})
    db.session.commit()
    refused = client.post("/dashboard/recoveries/close-settled?province=01", data={"seen": seen}, follow_redirects=True)
    assert "The recoveries to close have changed since you opened the page (2 now)" in _text(refused)
    assert "Close all 2" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert [db.session.get(Recovery, r.id).state for r in (shown, later)] == ["recovered", "written_off"]
