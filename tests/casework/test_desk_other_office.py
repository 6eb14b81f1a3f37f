"""Form 04 at the desk: the look-up says whether a code not found is in nobody's records or another office's person
(and never promises what the form refuses)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.casework.test_application import TODAY, _form, _person
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user

CHUONG_MY = "277"
NEW = "/caseworker/applications/new"


@pytest.fixture
def desk(client, app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_user("caseworker", district="017", password=PASSWORD)


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.mark.parametrize(
    ("locale", "nowhere", "elsewhere", "refused"),
    [
        (
            "vi",
            "Không tìm thấy mã số BHXH này trong dữ liệu của cơ quan BHXH. Hãy kiểm tra lại sổ BHXH: không thể ghi "
            "đề nghị cho một mã số không có trong dữ liệu.",
            "Mã số BHXH này có trong dữ liệu của cơ quan BHXH nhưng người này không thuộc phạm vi của bạn",
            "Không tìm thấy mã số BHXH này trong dữ liệu của cơ quan BHXH; hãy kiểm tra lại sổ BHXH.",
        ),
        (
            "en",
            "This SI code is not in the social security records. Check the social insurance book: an application "
            "cannot be taken for a code that is not in the records.",
            "This SI code is in the social security records, but the person is outside your scope",
            "This SI code is not in the social security records; check the social insurance book.",
        ),
    ],
)
def test_the_look_up_says_whether_the_code_is_unknown_or_another_offices(
    client, desk, locale, nowhere, elsewhere, refused
):
    sign_in(client, desk, locale)
    far = _person(district_code=CHUONG_MY)

    unknown = _text(client.get(f"{NEW}?si_code=0199999991"))
    assert nowhere in unknown and elsewhere not in unknown
    assert "vẫn có thể ghi đề nghị" not in unknown and "can still take" not in unknown  # nothing the form refuses
    # ... and the form refuses it in the same sense.
    posted = client.post(NEW, data=_form(far, si_code="0199999991"))
    assert posted.status_code == 422 and refused in _text(posted)

    other = _text(client.get(f"{NEW}?si_code={far.si_code}"))
    assert elsewhere in other and nowhere not in other
    assert far.national_id not in other  # nothing of the person is shown
