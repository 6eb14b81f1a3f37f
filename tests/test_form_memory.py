"""A page's own signed payload can always be posted back. Form 03's check step signs the rows of the file it read
into the page (nothing is kept on the server): a unit with many people sends a file whose rows, signed, pass the
500 kB that Flask allows a multipart form's field (MAX_FORM_MEMORY_SIZE). The confirmation is a URL-encoded form,
which that limit does not hold (only MAX_CONTENT_LENGTH does); sent as multipart, it would be refused 413 after the
check page had shown it. This keeps it so."""

from __future__ import annotations

import random

from disburse.claims.employer_views import _rows_serializer
from tests.claims.test_employer_pages import _signed_in, _text
from tests.claims.test_employer_pages import unit as unit
from tests.factories import create_user

#: A Form 03 file of a unit with some 20,000 people (a large factory): about 550 kB signed.
ROWS = 21_000


def test_a_large_form_03_file_read_back_can_be_confirmed(app, client, unit):
    sender = create_user("employer", employer_unit=unit.unit_code)
    client = _signed_in(client, sender)
    pick = random.Random(116)
    rows = [
        [
            n + 2,
            {
                "si_code": f"{pick.randrange(10**9, 10**10)}",
                "action": "correct",
                "bank_code": pick.choice(["VCB", "BIDV", "ICB", "VBA"]),
                "bank_account": f"{pick.randrange(10**11, 10**13)}",
            },
        ]
        for n in range(ROWS)
    ]
    sent = {"unit": unit.unit_code, "user": sender.id, "others": [], "left_blank": 0, "rows": rows}
    token = _rows_serializer().dumps(sent)
    assert len(token) > 500_000
    done = client.post(f"/employers/{unit.unit_code}/form-03/upload", data={"rows": token, "confirmed": "1"})
    # Every row is someone not on the unit's list: each refused on its row, the file's result said.
    assert done.status_code == 200, done.status_code
    assert "Kết quả tiếp nhận tệp Mẫu số 03" in _text(done)
