"""A Form 03 file of more rows than its check page reads back (:data:`~disburse.claims.employer_views.CHECKS_SHOWN`):
the page said nothing of the rows past its table, which "Xác nhận điều chỉnh" recorded all the same. It now counts
them, as what the confirmation will record (not the rows already so, nor the refused ones); the refused rows past
the page's list are counted as before, in the errors file."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from disburse.claims.employer_views import CHECKS_SHOWN, REFUSED_SHOWN
from disburse.claims.models import Claim
from disburse.extensions import db
from tests.claims.test_employer_pages import _employer, _person, _si, _text
from tests.claims.test_employer_pages import unit as unit
from tests.factories import create_employee

MORE, REFUSED_MORE = 7, 3


def _file(rows: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


@pytest.mark.parametrize(
    ("locale", "more", "refused_more"),
    [
        ("vi", "Và 7 dòng nữa sẽ được ghi nhận khi bạn chọn “Xác nhận điều chỉnh”", "Còn 3 lỗi nữa trong tệp lỗi."),
        ("en", "And 7 more rows will be recorded when you choose “Confirm the adjustment”", "3 more errors are in"),
    ],
)
def test_the_rows_past_the_check_pages_table_are_counted(client, unit, locale, more, refused_more):
    listed = _person(unit, "Lê Thị Đã Có")  # first in the file, and already on the list: nothing to record
    added = [create_employee(employer_id=unit.id) for _ in range(CHECKS_SHOWN + MORE)]
    rows = [["si_code", "action", "bank_code", "bank_account"], [_si(listed), "add", "", ""]]
    rows += [[person.si_code, "add", "", ""] for person in added]
    rows += [[f"12{n}", "add", "", ""] for n in range(REFUSED_SHOWN + REFUSED_MORE)]  # an SI code too short
    client = _employer(client, unit, locale)
    url = f"/employers/{unit.unit_code}/form-03/upload"

    checked = client.post(url, data={"file": (_file(rows), "mau03.csv")}, content_type="multipart/form-data")
    page = _text(checked)
    assert checked.status_code == 200
    table = re.search(r'<table id="form-03-checks"[^>]*>.*?</table>', page)
    assert table and table[0].count("<tr>") == 1 + CHECKS_SHOWN  # the header, the first rows to record
    assert _si(listed) not in table[0]  # not taking a row of the table: it records nothing
    assert added[CHECKS_SHOWN - 1].si_code in table[0] and added[CHECKS_SHOWN].si_code not in table[0]
    assert f'<p id="form-03-checks-more">{more}' in page
    assert refused_more in page
    assert db.session.scalar(select(func.count()).where(Claim.employee_id.in_([p.id for p in added]))) == 0

    if locale == "vi":  # the confirmation records every row the page counted
        token = re.search(r'name="rows" type="hidden" value="([^"]+)"', page)
        assert token
        done = _text(client.post(url, data={"rows": token[1], "confirmed": "1"}))
        assert f"Bổ sung: {CHECKS_SHOWN + MORE} người" in done and "Không thay đổi: 1 người" in done
        assert f"Dòng bị từ chối: {REFUSED_SHOWN + REFUSED_MORE}" in done
        assert "form-03-checks-more" not in done


def test_a_file_that_fits_the_table_counts_nothing_more(client, unit):
    person = create_employee(employer_id=unit.id)
    rows = [["si_code", "action", "bank_code", "bank_account"], [person.si_code, "add", "", ""]]
    client = _employer(client, unit)
    page = _text(
        client.post(
            f"/employers/{unit.unit_code}/form-03/upload",
            data={"file": (_file(rows), "mau03.csv")},
            content_type="multipart/form-data",
        )
    )
    assert person.si_code in page and "form-03-checks-more" not in page and "dòng nữa" not in page
