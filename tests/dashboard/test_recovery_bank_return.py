"""A recovery still owed says that the bank's return is normally back in the fund's account already and that the next
reconciliation (named when it runs by itself) marks it recovered, and that a refund is recorded here only for money
handed in at the office: the page said "Chờ thu hồi" (Owed) until the reconciliation, inviting an office refund of
money the bank had already credited back (found by the explorer)."""

from __future__ import annotations

from datetime import datetime

import pytest

from disburse.dashboard.views import next_reconciliation
from disburse.programs.calendar import VIETNAM_TZ
from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.dashboard.test_recoveries import _returned, _text
from tests.factories import create_user


@pytest.fixture
def hanoi_supervisor(db_session):
    return create_user("supervisor", province="01", password=PASSWORD)


_OFFICE = "Chỉ ghi nhận thu hồi ở đây cho số tiền người nhận thực sự nộp lại tại cơ quan."


def test_the_nightly_run_is_the_next_0130_in_vietnam(app):
    with app.app_context():
        assert next_reconciliation("sandbox", datetime(2026, 12, 7, 0, 10, tzinfo=VIETNAM_TZ)) == datetime(
            2026, 12, 7, 1, 30, tzinfo=VIETNAM_TZ
        )
        assert next_reconciliation("sandbox", datetime(2026, 12, 7, 1, 30, tzinfo=VIETNAM_TZ)) == datetime(
            2026, 12, 8, 1, 30, tzinfo=VIETNAM_TZ
        )
        assert next_reconciliation("sandbox", datetime(2026, 12, 31, 22, 0, tzinfo=VIETNAM_TZ)) == datetime(
            2027, 1, 1, 1, 30, tzinfo=VIETNAM_TZ
        )


def test_an_owed_recovery_says_the_reconciliation_will_confirm_the_bank_return(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH)
    sign_in(client, hanoi_supervisor)
    page = _text(client.get(f"/dashboard/recoveries/{recovery.id}"))
    at = next_reconciliation("sandbox")
    assert at is not None
    assert (
        "Khoản này mở khi ngân hàng trả lại tiền đã chi. Tiền trả lại thường đã về tài khoản của Quỹ; lần đối soát "
        f"tới (lúc 01:30 ngày {at:%d/%m/%Y}) sẽ xác nhận và ghi khoản này là “Đã thu hồi”. {_OFFICE}"
    ) in page
    listing = _text(client.get("/dashboard/recoveries"))
    assert "Tiền của một khoản “Chờ thu hồi” thường đã được ngân hàng trả về tài khoản của Quỹ" in listing


def test_a_provider_reconciled_by_hand_names_no_time(app, client, hanoi_supervisor, monkeypatch):
    recovery = _returned(DONG_ANH)
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_PROVIDER", "bankfile")
    sign_in(client, hanoi_supervisor)
    page = _text(client.get(f"/dashboard/recoveries/{recovery.id}"))
    assert "lần đối soát tới với sao kê của ngân hàng sẽ xác nhận" in page and "01:30" not in page
    assert _OFFICE in page


def test_a_payment_of_a_provider_not_reconciled_nightly_names_no_time(client, hanoi_supervisor):
    """The nightly run reconciles the configured provider alone (sandbox here): a payment that went by bank file,
    returned, is reconciled by hand with the bank's statement file, and its page named the sandbox's 01:30."""
    recovery = _returned(DONG_ANH, provider="bankfile")
    sign_in(client, hanoi_supervisor)
    page = _text(client.get(f"/dashboard/recoveries/{recovery.id}"))
    assert "lần đối soát tới với sao kê của ngân hàng sẽ xác nhận" in page and "01:30" not in page


def test_a_recovery_no_longer_owed_says_nothing_of_it(client, hanoi_supervisor):
    recovery = _returned(DONG_ANH)
    sign_in(client, hanoi_supervisor)
    url = f"/dashboard/recoveries/{recovery.id}"
    client.post(url, data={"to_state": "written_off", "note": "Người đã mất"})
    form = client.get(url)  # the check page's seen, then the confirmation
    seen = form.get_data(as_text=True).split('name="seen"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    done = client.post(url, data={"to_state": "written_off", "note": "Người đã mất", "seen": seen, "confirmed": "1"})
    assert done.status_code == 302
    assert 'id="recovery-bank-return"' not in client.get(url).get_data(as_text=True)
