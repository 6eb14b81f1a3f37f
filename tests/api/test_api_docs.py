"""docs/api.md says what the API does: the examples it gives work as shown, the fields it lists are the answers' fields,
and what it says of the rate-limit headers is what they carry. Real PostgreSQL and Redis, the real routes."""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

from disburse.auth.service import create_token
from disburse.extensions import db
from tests.factories import create_claim, create_employee, create_employer, create_user

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _section(heading: str) -> str:
    """The text of docs/api.md from the heading that starts with ``heading`` to the next heading."""
    text = API_MD.read_text(encoding="utf-8")
    start = text.index("\n" + heading)
    end = re.search(r"\n#{1,4} ", text[start + 1 :])
    return text[start : start + 1 + end.start()] if end else text[start:]


def _curls(text: str) -> list[list[str]]:
    """Every ``curl`` command of the ```sh blocks of ``text``, as its words."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [shlex.split(command.replace("\\\n", " ")) for block in blocks for command in block.split("\n\n")]


def test_the_reject_example_is_a_refusal_the_server_takes_for_a_listed_person(client, db_session, paying_clock):
    """The example refuses claim 41 of the claims list's example, a group A person on their unit's list: the reason
    it gives must be one that can be true of such a claim (pension_decision is group B's: a 422)."""
    (command,) = [words for words in _curls(_section("### The actions: POST")) if words[-1].endswith("/reject")]
    body = json.loads(command[command.index("-d") + 1])
    unit = create_employer(district_code="017")
    claim = create_claim("needs_review", employee=create_employee(employer_id=unit.id))
    assert (claim.track, claim.support_group) == ("A", "A")
    caseworker = create_user("caseworker", district="017")
    answer = client.post(
        f"/api/v1/claims/{claim.id}/reject",
        json=body,
        headers={"Authorization": f"Bearer {create_token(caseworker)}", "Accept-Language": "en"},
    )
    assert answer.status_code == 200, answer.get_json()
    db.session.refresh(claim)
    assert claim.state == "rejected"


def _example_json(section: str) -> Any:
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, "the section has a JSON example"
    return json.loads(block.group(1))


def test_the_claims_list_example_has_every_field_of_a_row(client):
    from disburse.verification.api import QueueRow

    section = _section("### GET /api/v1/claims?")
    row = _example_json(section)["claims"][0]
    assert set(row) == set(QueueRow.model_fields), "document the row's fields in the example"
    assert "`received_on`" in section, "say what received_on is"


def test_the_rate_limit_reset_is_an_absolute_unix_time_as_documented(client, db_session):
    user = create_user("admin")
    before = int(time.time())
    answer = client.get("/api/v1/claims", headers={"Authorization": f"Bearer {create_token(user)}"})
    assert answer.status_code == 200
    after = int(time.time())
    reset = int(answer.headers["X-RateLimit-Reset"])
    # The end of the window the request opened, in seconds since 1970: a minute after it was counted, whenever in
    # the request that was (a loaded machine took over a second: 62 s after "before", in the CI rehearsal).
    assert before <= reset <= after + 61
    text = " ".join(API_MD.read_text(encoding="utf-8").split())
    assert re.search(r"`X-RateLimit-Reset` is (an absolute|the) Unix time", text), "say what X-RateLimit-Reset is"
