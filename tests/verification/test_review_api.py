"""The review queue's API over real HTTP requests and tokens: for every route in scope, out of scope (404), unknown
(404), a role that may never use it (403) and signed out (401); the error shape and every field's error; no input
makes a 500."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disburse.auth.service import create_token
from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.registry.models import Employee, Employer
from disburse.verification import review
from tests.factories import PAYING_DAY, create_claim, create_duplicate_group, create_employer, create_offer, create_user

#: These tests approve and pay: the programme clock is a day of its payment period (the real one is past it).
pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH, QUAN_1 = "017", "760"


def _auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user)}"}


#: A due date for an information request: between the programme's today (PAYING_DAY, set for that action) and its
#: last payable day (it refuses one outside).
DUE_ON = "2021-12-15"

#: Every action route: (path after /api/v1/claims/<id>, a valid body).
ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("assign", {}),
    ("release", {}),
    ("contacts", {"channel": "phone", "outcome": "reached", "note": "Đã gọi, hẹn nộp bổ sung."}),
    ("information-requests", {"addressee": "person", "note": "Nộp bản sao sổ BHXH.", "due_on": DUE_ON}),
    ("approve", {"note": "Đã xác minh.", "checked": ["possible_duplicate"]}),
    ("reject", {"reason_code": "not_employed_on_cutoff", "reason_text": "Đã nghỉ việc từ tháng 08/2021."}),
    ("resolve-duplicate", {"keep": "SELF"}),
]


def _body(body: dict[str, Any], claim: Claim) -> dict[str, Any]:
    return {key: (claim.id if value == "SELF" else value) for key, value in body.items()}


@pytest.fixture
def unit(db_session):
    return create_employer(district_code=DONG_ANH)


@pytest.fixture
def claim(db_session, unit):
    """A claim in needs_review in Đông Anh, one of a duplicate pair (so that every action applies to it)."""
    return create_duplicate_group("needs_review", employer_id=unit.id)[0]


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH)


# ------------------------------------------------------------------------------------------------------ actions


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_an_action_in_scope_is_done_by_the_tokens_user(app, monkeypatch, client, claim, caseworker, action, body):
    if action == "information-requests":  # a due date inside the programme: on a day it still pays
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    if action == "release":
        client.post(f"/api/v1/claims/{claim.id}/assign", json={}, headers=_auth(caseworker))
    if action == "approve":  # one person is paid once: the other SI code's claim is refused first
        for other, _si in db.session.execute(review.duplicate_group_statement(claim)).all():
            if other.id != claim.id:
                claims.transition(other, "reject", reason="Trùng với hồ sơ kia.")
    response = client.post(f"/api/v1/claims/{claim.id}/{action}", json=_body(body, claim), headers=_auth(caseworker))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["changed"] is True and answer["claim"]["id"] == claim.id and answer["event_ids"]
    last = claims.claim_events(claim.id)[-1]
    assert last.actor_id == caseworker.id


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_an_action_outside_the_scope_is_the_same_404_as_an_unknown_claim(client, caseworker, action, body):
    elsewhere = create_duplicate_group("needs_review", districts=(QUAN_1, QUAN_1))[0]
    outside = client.post(
        f"/api/v1/claims/{elsewhere.id}/{action}", json=_body(body, elsewhere), headers=_auth(caseworker)
    )
    unknown = client.post(
        f"/api/v1/claims/{elsewhere.id + 100_000}/{action}", json=_body(body, elsewhere), headers=_auth(caseworker)
    )
    assert outside.status_code == unknown.status_code == 404
    assert (
        outside.get_json() == unknown.get_json() == {"error": "not_found", "message": "Không tìm thấy.", "fields": {}}
    )
    db_claim = claims.get_claim(elsewhere.id)
    assert db_claim is not None and db_claim.state == "needs_review" and db_claim.assigned_to_id is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        *[(f"/api/v1/claims/{{id}}/{action}", body) for action, body in ACTIONS],
        ("/api/v1/claims/assign-next", {"count": 1}),
        ("/api/v1/notices/batches", {"district": DONG_ANH, "date": "2021-11-02"}),
    ],
)
def test_employers_may_never_act_and_nobody_signed_out_may(client, claim, unit, path, body):
    employer = create_user("employer", employer_unit=unit.unit_code)
    path = path.format(id=claim.id)
    forbidden = client.post(path, json=_body(body, claim), headers=_auth(employer))
    assert forbidden.status_code == 403 and forbidden.get_json()["error"] == "forbidden"
    signed_out = client.post(path, json=_body(body, claim))
    assert signed_out.status_code == 401 and signed_out.get_json()["error"] == "unauthorized"
    assert claims.claim_events(claim.id)[-1].action == "flag_for_review"


def test_a_signed_in_caseworker_acts_as_themselves(client, claim):
    from disburse.auth.service import create_user as create_user_with_password

    lan = create_user_with_password("lan.dong-anh@bhxh.vn", "caseworker", password="mat-khau-rat-dai", district="017")
    client.post("/login", data={"email": "lan.dong-anh@bhxh.vn", "password": "mat-khau-rat-dai"})
    response = client.post(f"/api/v1/claims/{claim.id}/assign", json={})
    assert response.status_code == 200 and response.get_json()["claim"]["assigned_to_id"] == lan.id


def test_assigning_twice_to_yourself_is_a_no_op_and_someone_elses_claim_a_409(client, claim, caseworker):
    headers = _auth(caseworker)
    assert client.post(f"/api/v1/claims/{claim.id}/assign", json={}, headers=headers).get_json()["changed"] is True
    again = client.post(f"/api/v1/claims/{claim.id}/assign", headers=headers)  # no body at all is {}
    assert again.status_code == 200 and again.get_json()["changed"] is False
    other = create_user("caseworker", district=DONG_ANH)
    taken = client.post(f"/api/v1/claims/{claim.id}/assign", json={}, headers={**_auth(other), "Accept-Language": "en"})
    assert taken.status_code == 409
    assert taken.get_json()["error"] == "assigned_to_another" and "Another caseworker" in taken.get_json()["message"]
    boss = create_user("supervisor", province="01")
    moved = client.post(f"/api/v1/claims/{claim.id}/assign", json={"user_id": other.id}, headers=_auth(boss))
    assert moved.status_code == 200 and moved.get_json()["claim"]["assigned_to_id"] == other.id


def test_assign_next(client, caseworker):
    queue = [create_claim("needs_review", district_code=DONG_ANH) for _ in range(3)]
    response = client.post("/api/v1/claims/assign-next", json={"count": 2}, headers=_auth(caseworker))
    assert response.status_code == 200
    taken = [c["id"] for c in response.get_json()["claims"]]
    assert len(taken) == 2 and set(taken) <= {c.id for c in queue} | set(_unassigned_in_review())
    too_many = client.post("/api/v1/claims/assign-next", json={"count": 51}, headers=_auth(caseworker))
    assert too_many.status_code == 422 and "count" in too_many.get_json()["fields"]


def _unassigned_in_review() -> list[int]:
    from sqlalchemy import select

    from disburse.extensions import db

    return list(db.session.scalars(select(Claim.id).where(Claim.state == "needs_review")).all())


def test_a_duplicate_decision_names_no_claim_outside_the_viewers_scope(client, caseworker):
    """A national supervisor keeps another city's claim and refuses ours: our caseworker and our unit read in the
    timeline that a claim outside their scope was kept, never its number nor its SI code in the events' data; and
    whatever claim a caseworker names to keep, a group reaching outside their scope answers the same."""
    mine, far = create_duplicate_group("needs_review", districts=(DONG_ANH, QUAN_1))  # each at a unit of its own
    national = create_user("supervisor")
    decided = client.post(f"/api/v1/claims/{mine.id}/resolve-duplicate", json={"keep": far.id}, headers=_auth(national))
    assert decided.status_code == 200, decided.get_json()
    employer = create_user("employer", employer_unit=db.session.get(Employer, mine.employer_id).unit_code)
    for viewer in (caseworker, employer):
        detail = client.get(f"/api/v1/claims/{mine.id}", headers=_auth(viewer)).get_json()
        assert detail["state"] == "rejected"
        data = [e["data"] or {} for e in detail["timeline"]]
        assert not [d for d in data if "kept_claim_id" in d or "kept_si_code" in d], data
        assert str(far.id) not in json.dumps(data) and _si(far) not in json.dumps(data)
        assert {"reason_code": "duplicate", "kept_out_of_scope": True, "claims_out_of_scope": 1} in data
    supervisor_sees = client.get(f"/api/v1/claims/{mine.id}", headers=_auth(national)).get_json()["timeline"]
    assert any((e["data"] or {}).get("kept_claim_id") == far.id for e in supervisor_sees)

    again, mine2 = create_duplicate_group("needs_review", districts=(QUAN_1, DONG_ANH))
    url = f"/api/v1/claims/{mine2.id}/resolve-duplicate"
    answers = [client.post(url, json={"keep": keep}, headers=_auth(caseworker)) for keep in (again.id, 999_999_999)]
    # A claim of the group they cannot see is not one they can keep, as any other number (the case page offers
    # neither): which hidden claims are in the group is not told. One they see is refused for the group's scope.
    assert [(a.status_code, list(a.get_json()["fields"])) for a in answers] == [(422, ["keep"])] * 2
    assert answers[0].get_json()["fields"]["keep"].replace(str(again.id), "N") == answers[1].get_json()["fields"][
        "keep"
    ].replace("999999999", "N")
    kept_mine = client.post(url, json={"keep": mine2.id}, headers=_auth(caseworker))
    assert (kept_mine.status_code, kept_mine.get_json()["error"]) == (409, "outside_scope")


def test_keeping_a_claim_outside_the_duplicate_group_is_a_422_on_keep(client, claim, caseworker):
    """{"keep": 12345} was a 409 outside_scope; the case page refuses a claim it does not offer on the field too."""
    for language, words in (
        ("vi", "Hồ sơ số 12345 không phải là một hồ sơ trong nhóm nghi trùng của hồ sơ này (các hồ sơ bạn xem được)."),
        ("en", "Claim 12345 is not one of this claim's possible duplicates (those you can see)."),
    ):
        answer = client.post(
            f"/api/v1/claims/{claim.id}/resolve-duplicate",
            json={"keep": 12345},
            headers={**_auth(caseworker), "Accept-Language": language},
        )
        assert answer.status_code == 422 and answer.get_json()["fields"] == {"keep": words}
    assert db.session.get(Claim, claim.id).state == "needs_review"


def test_the_unit_reads_no_note_the_office_wrote_for_itself_but_a_refusals_reason(client, caseworker, unit):
    """An approval's note and how the office learnt of a decline are the office's words; a refusal's reason is the
    notice's, and the unit reads it. Staff read them all."""
    approved, refused = (
        create_claim("needs_review", employer_id=unit.id),
        create_claim("needs_review", employer_id=unit.id),
    )
    headers = _auth(caseworker)
    note = "GHI CHÚ NỘI BỘ: đã gọi điện, nghi vấn."
    assert client.post(f"/api/v1/claims/{approved.id}/approve", json={"note": note}, headers=headers).status_code == 200
    said = "Đơn đề nghị không nhận hỗ trợ ngày 12/10/2021."
    declined = client.post(f"/api/v1/claims/{approved.id}/decline", json={"note": said}, headers=headers)
    assert declined.status_code == 200 and declined.get_json()["claim"]["state"] == "declined"
    why = "Đã nghỉ việc và chốt sổ BHXH từ tháng 08/2021."
    body = {"reason_code": "not_employed_on_cutoff", "reason_text": why}
    assert client.post(f"/api/v1/claims/{refused.id}/reject", json=body, headers=headers).status_code == 200
    employer = create_user("employer", employer_unit=unit.unit_code)

    def reasons(claim: Claim, viewer) -> dict[str, Any]:
        detail = client.get(f"/api/v1/claims/{claim.id}", headers=_auth(viewer)).get_json()
        return {e["action"]: e["reason"] for e in detail["timeline"]}

    assert {"approve": None, "decline": None}.items() <= reasons(approved, employer).items()
    assert note not in json.dumps(reasons(approved, employer)) and said not in json.dumps(reasons(approved, employer))
    assert reasons(refused, employer)["reject"] == why
    assert {"approve": note, "decline": said}.items() <= reasons(approved, caseworker).items()


def test_a_duplicate_pair_resolved_over_the_api_refuses_the_other_with_its_notice(client, caseworker, unit):
    kept, other = create_duplicate_group("needs_review", employer_id=unit.id)
    headers = _auth(caseworker)
    response = client.post(f"/api/v1/claims/{other.id}/resolve-duplicate", json={"keep": kept.id}, headers=headers)
    assert response.status_code == 200
    detail = client.get(f"/api/v1/claims/{other.id}", headers=headers).get_json()
    assert detail["state"] == "rejected"
    assert [e["action"] for e in detail["timeline"]][-2:] == ["resolve_duplicate", "reject"]
    notice = client.get(f"/api/v1/claims/{other.id}/notice", headers=headers)
    assert notice.status_code == 200
    kept_si = _si(kept)
    assert kept_si in notice.get_data(as_text=True) and _si(other) in notice.get_data(as_text=True)


def _si(claim: Claim) -> str:
    from disburse.extensions import db

    employee = db.session.get(Employee, claim.employee_id)
    assert employee is not None
    return employee.si_code


# -------------------------------------------------------------------------------------------------------- reads


def test_reads_in_scope_out_of_scope_unknown_and_signed_out(client, claim, unit, caseworker):
    elsewhere = create_claim("needs_review", district_code=QUAN_1)
    readers = [caseworker, create_user("employer", employer_unit=unit.unit_code), create_user("supervisor")]
    for reader in readers:
        headers = _auth(reader)
        assert client.get(f"/api/v1/claims/{claim.id}", headers=headers).status_code == 200
        listed = client.get(f"/api/v1/claims?limit=200&state=needs_review&district={DONG_ANH}", headers=headers)
        assert listed.status_code == 200 and claim.id in [c["id"] for c in listed.get_json()["claims"]]
    for path in (f"/api/v1/claims/{elsewhere.id}", f"/api/v1/claims/{elsewhere.id + 100_000}"):
        assert client.get(path, headers=_auth(caseworker)).get_json() == {
            "error": "not_found",
            "message": "Không tìm thấy.",
            "fields": {},
        }
    assert client.get("/api/v1/claims").status_code == 401
    assert client.get(f"/api/v1/claims/{claim.id}").status_code == 401
    assert client.get(f"/api/v1/claims/{claim.id}/notice").status_code == 401


def test_the_list_pages_by_keyset(client):
    admin = create_user("admin")
    made = [create_claim("needs_review", district_code="018") for _ in range(3)]
    first = client.get("/api/v1/claims?district=018&limit=2", headers=_auth(admin)).get_json()
    assert [c["id"] for c in first["claims"]] == [c.id for c in made[:2]] and first["next_after"] == made[1].id
    second = client.get(f"/api/v1/claims?district=018&limit=2&after={first['next_after']}", headers=_auth(admin))
    assert [c["id"] for c in second.get_json()["claims"]] == [made[2].id] and second.get_json()["next_after"] is None


def _all_pages(client, user, query: str, limit: int = 2) -> list[int]:
    """Every claim id the API lists for ``query``, page after page."""
    ids: list[int] = []
    after = 0
    while True:
        response = client.get(f"/api/v1/claims?{query}&limit={limit}&after={after}", headers=_auth(user))
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        ids += [row["id"] for row in page["claims"]]
        if page["next_after"] is None:
            return ids
        after = page["next_after"]


def _the_page(client, query: str) -> tuple[int, set[int]]:
    """What the caseworkers' queue page says for ``query``: how many claims match, and the claims it lists."""
    response = client.get(f"/caseworker/queue?{query}")
    assert response.status_code == 200, query
    html = response.get_data(as_text=True)
    assert 'rel="next"' not in html, query  # all on one page
    total = re.search(r'<p id="queue-total">([\d.,]+) ', html)
    assert total, "the page says how many claims match"
    return int(re.sub(r"[.,]", "", total.group(1))), {
        int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', html)
    }


def test_offered_lists_the_claims_the_queue_page_counts_and_lists(client):
    """``offered=true``: the claims with bank details the person sent that nobody has dealt with yet, exactly as the
    caseworkers' queue page filters them (``offered=y``): the page's count, its rows and the API's rows, page after
    page, are the same claims, whatever the other filters; ``false`` is no filter, as the page's box unticked."""
    from tests.casework.test_queue_filters import _offered_claims
    from tests.conftest import PASSWORD, sign_in

    caseworker = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    made = _offered_claims(caseworker)  # open offers: awaiting, in_review, failed; dealt with: the others
    review.assign(made["failed"].id, caseworker)
    far = create_claim("awaiting_payment_details", district_code=QUAN_1)
    create_offer(far)  # another district's
    open_ids = {made[name].id for name in ("awaiting", "in_review", "failed")}
    sign_in(client, caseworker)

    assert set(_all_pages(client, caseworker, "offered=true", limit=1)) == open_ids
    assert _the_page(client, "state=&offered=y") == (3, open_ids)
    every = _all_pages(client, caseworker, "state=")
    assert _all_pages(client, caseworker, "offered=false") == every == _all_pages(client, caseworker, "offered=")
    assert {claim.id for claim in made.values()} <= set(every)

    values = {
        "state": ["", "needs_review", "awaiting_payment_details", "payment_failed", "approved"],
        "reason": ["", "bank_details_missing"],
        "assigned": ["", "me", "none"],
        "district": ["", DONG_ANH],
    }
    for combination in itertools.product(*values.values()):
        filters = "&".join(f"{name}={value}" for name, value in zip(values, combination, strict=True))
        count, listed = _the_page(client, f"{filters}&offered=y")
        api = _all_pages(client, caseworker, f"{filters}&offered=true")
        assert len(api) == len(set(api)) == count and set(api) == listed <= open_ids, filters

    # A national supervisor's queue has the other district's too.
    assert set(_all_pages(client, create_user("supervisor"), "offered=true")) == open_ids | {far.id}


def test_every_bad_parameter_is_named_in_the_callers_language(client, caseworker):
    response = client.get(
        "/api/v1/claims?state=lost&district=17a&employer=%00&reason=Zero!&assigned=someone&offered=yes&after=-1"
        "&limit=201",
        headers={**_auth(caseworker), "Accept-Language": "en"},
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid" and body["message"] == "Some fields are not valid; see each field."
    assert set(body["fields"]) == {"state", "district", "employer", "reason", "assigned", "offered", "after", "limit"}
    assert body["fields"]["limit"] == "A page holds 1 to 200 claims."
    assert body["fields"]["offered"] == "Must be true or false."
    vietnamese = client.get("/api/v1/claims?limit=500", headers=_auth(caseworker)).get_json()
    assert vietnamese["fields"] == {"limit": "Mỗi trang từ 1 đến 200 hồ sơ."}


@pytest.mark.parametrize("value", ["y", "yes", "1", "0", "on", "True", "FALSE", "true%20", "null"])
def test_offered_is_true_or_false_and_nothing_else(client, caseworker, value):
    """The queue page's checkbox sends ``offered=y``; the API takes exactly true or false, and says so."""
    response = client.get(f"/api/v1/claims?offered={value}", headers=_auth(caseworker))
    assert response.status_code == 422 and response.mimetype == "application/json"
    assert response.get_json() == {
        "error": "invalid",
        "message": "Dữ liệu chưa đúng; xem từng trường.",
        "fields": {"offered": "Phải là true hoặc false."},
    }


def test_every_bad_field_of_a_body_is_named(client, claim, caseworker):
    response = client.post(
        f"/api/v1/claims/{claim.id}/reject",
        json={"reason_code": "not_a_reason", "reason_text": "x" * 1001},
        headers=_auth(caseworker),
    )
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"reason_code", "reason_text"}
    missing = client.post(f"/api/v1/claims/{claim.id}/contacts", json={"note": 5}, headers=_auth(caseworker))
    assert set(missing.get_json()["fields"]) == {"channel", "outcome", "note"}
    assert missing.get_json()["fields"]["channel"] == "Trường này là bắt buộc."
    not_json = client.post(
        f"/api/v1/claims/{claim.id}/approve", data="{not json", headers=_auth(caseworker), content_type="text/plain"
    )
    assert not_json.status_code == 422 and "body" in not_json.get_json()["fields"]
    override = client.post(
        f"/api/v1/claims/{claim.id}/resolve-duplicate",
        json={"keep": claim.id, "override": True},
        headers=_auth(caseworker),
    )
    assert override.status_code == 422 and set(override.get_json()["fields"]) == {"note"}


def test_an_unknown_program_is_a_clear_404(client, caseworker):
    response = client.get("/api/v1/claims?program=NOPE", headers=_auth(caseworker))
    assert response.status_code == 404 and response.get_json()["error"] == "program_not_found"


def test_a_decision_the_state_does_not_allow_is_a_409_saying_the_state(client, caseworker):
    listed = create_claim("listed", district_code=DONG_ANH)
    response = client.post(f"/api/v1/claims/{listed.id}/approve", json={}, headers=_auth(caseworker))
    assert response.status_code == 409 and response.get_json()["error"] == "invalid_state"
    assert "Đã lập danh sách" in response.get_json()["message"]
    assert claims.get_claim(listed.id).state == ClaimState.LISTED


def test_an_approval_lists_what_it_checked_or_is_refused_naming_what_was_not(client, claim, caseworker):
    """The pages' rule, in the service the API calls: a claim that needs something checked is approved only when the
    caller says it checked every one (``checked``); refused, nothing changed, the 422 names what was not checked."""
    for other, _si in db.session.execute(review.duplicate_group_statement(claim)).all():
        if other.id != claim.id:
            claims.transition(other, "reject", reason="Trùng với hồ sơ kia.")
    claim.reasons = ["possible_duplicate", "zero_months"]
    db.session.flush()
    before = len(claims.claim_events(claim.id))
    url = f"/api/v1/claims/{claim.id}/approve"

    for checked in ([], ["possible_duplicate"]):
        refused = client.post(url, json={"checked": checked}, headers=_auth(caseworker))
        assert refused.status_code == 422 and set(refused.get_json()["fields"]) == {"checked"}
        assert "tháng đóng BHTN" in refused.get_json()["fields"]["checked"]
    assert ("trùng" in refused.get_json()["fields"]["checked"]) is False  # only what is still missing is named
    assert claims.get_claim(claim.id).state == ClaimState.NEEDS_REVIEW
    assert len(claims.claim_events(claim.id)) == before

    done = client.post(url, json={"checked": ["zero_months", "possible_duplicate"]}, headers=_auth(caseworker))
    assert done.status_code == 200 and done.get_json()["claim"]["state"] == "approved"
    # What was checked: the months; the duplicate was settled by refusing the other claim.
    assert claims.claim_events(claim.id)[-1].data["checked"] == ["zero_months"]
    unknown = client.post(url, json={"checked": ["no_such_reason"]}, headers=_auth(caseworker))
    assert unknown.status_code == 422 and set(unknown.get_json()["fields"]) == {"checked"}


def test_a_claim_with_no_casework_is_neither_taken_nor_asked_information_for(client, caseworker):
    """Approved, the claim waits for the payment run: the API refuses to take it, or to record a request for
    information on it, as the pages do (409 ``no_casework``), and nothing is written."""
    approved = create_claim("approved", district_code=DONG_ANH)
    before = len(claims.claim_events(approved.id))
    for action, body in (("assign", {}), ("information-requests", ACTIONS[3][1])):
        response = client.post(f"/api/v1/claims/{approved.id}/{action}", json=body, headers=_auth(caseworker))
        assert response.status_code == 409 and response.get_json()["error"] == "no_casework", response.get_json()
        assert "Đã duyệt" in response.get_json()["message"]
    assert claims.get_claim(approved.id).assigned_to_id is None
    assert len(claims.claim_events(approved.id)) == before


# ------------------------------------------------------------------------------------------------ hypothesis

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=8,
)
_FIELDS = [
    "channel",
    "outcome",
    "note",
    "addressee",
    "due_on",
    "reason_code",
    "reason_text",
    "keep",
    "override",
    "checked",
    "user_id",
    "count",
    "district",
    "date",
    "program",
]
_BODIES = st.one_of(
    st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=5).map(json.dumps),
    _JSON.map(json.dumps),
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
_PARAMS = ["state", "district", "employer", "reason", "assigned", "offered", "after", "limit", "program"]
_ROUTES = [f"/api/v1/claims/{{id}}/{action}" for action, _ in ACTIONS] + [
    "/api/v1/claims/assign-next",
    "/api/v1/notices/batches",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(_PARAMS), st.text(max_size=30), max_size=5),
    route=st.sampled_from(_ROUTES),
    body=_BODIES,
)
def test_no_input_makes_a_server_error(client, claim, caseworker, params, route, body):
    headers = {**_auth(caseworker), "Content-Type": "application/json"}
    listed = client.get("/api/v1/claims", query_string=params, headers=headers)
    assert listed.status_code in (200, 404, 422), listed.get_data(as_text=True)
    acted = client.post(route.format(id=claim.id), data=body.encode(), headers=headers)
    assert acted.status_code in (200, 202, 404, 409, 422), acted.get_data(as_text=True)
    for response in (listed, acted):
        if response.status_code >= 400:
            assert set(response.get_json()) == {"error", "message", "fields"}


def test_a_route_that_reads_no_query_string_refuses_one(client, caseworker, claim):
    """docs/api.md: query strings take only the documented fields. Routes with none took any (?zzz=1 answered)."""
    headers = _auth(caseworker)
    for method, path in [("GET", f"/api/v1/claims/{claim.id}"), ("POST", f"/api/v1/claims/{claim.id}/assign")]:
        answer = client.open(f"{path}?zzz=1", method=method, json={} if method == "POST" else None, headers=headers)
        assert answer.status_code == 422, (path, answer.get_json())
        assert answer.get_json()["fields"] == {"zzz": "Trường này không được nhận."}
    assert client.get(f"/api/v1/claims/{claim.id}", headers=headers).status_code == 200
    # The document and the health check pass over one (a tool's or a probe's cache-buster): their documented answers.
    for path in ("/api/v1/openapi.json", "/api/v1/health"):
        assert client.get(f"{path}?v=2026-12-06").status_code == 200, path
