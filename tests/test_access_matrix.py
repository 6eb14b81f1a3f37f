"""Every route × every role × an in-scope, an out-of-scope and an unknown record.

The routes come from app.url_map: a new route fails this test until ROUTES says how to call it and, if it takes a
record, how to make one of each kind. The rule it checks: in scope the route's success (200; 201 or 202 where the
route creates or queues); out of scope the same 404 as unknown (the API never tells whether a record the caller may
not see exists); 403 only where the role may never use the route; signed out, 401 from the API and the pages' JSON
(a job's progress) and the sign-in page from pages. Admins and national supervisors see everything: for them the
"out-of-scope" record is in scope.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from disburse.api.errors import JSON_RESOURCES
from disburse.auth.permissions import PERMISSION_ATTR
from disburse.auth.service import create_token
from disburse.extensions import db
from disburse.reference.models import District
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_duplicate_group,
    create_employee,
    create_employer,
    create_offer,
    create_payment,
    create_user,
)

ROLES = {
    "caseworker": {"district": "017"},  # Đông Anh, Hà Nội
    "employer": {},  # its unit is the in-scope unit (see _user)
    "supervisor": {"province": "01"},  # Hà Nội
    "national supervisor": {},
    "admin": {},
}
#: Roles that see every record: for them nothing is out of scope.
SEES_EVERYTHING = {"national supervisor", "admin"}
SIGNED_OUT = "signed out"
#: The programme clock inside the employers' review window, so that the forms are open.
TODAY = "2021-10-25"


@dataclass
class World:
    """What the records are made from: a unit in Đông Anh (the employer user's) and one in Hồ Chí Minh City."""

    unit: Any
    far_unit: Any
    far_district: str
    exports: Path

    def person(self, far: bool = False) -> Any:
        unit = self.far_unit if far else self.unit
        return create_employee(employer_id=unit.id, district_code=unit.district_code)

    def claim_in_review(self, far: bool = False) -> Any:
        """A claim in needs_review, one of a duplicate pair: every review action applies to it."""
        if far:
            return create_duplicate_group("needs_review", districts=(self.far_district, self.far_district))[0]
        return create_duplicate_group("needs_review", employer_id=self.unit.id)[0]

    def refused_claim(self, far: bool = False) -> Any:
        return create_claim("rejected", employee=self.person(far))

    def claim_awaiting_details(self, far: bool = False) -> Any:
        return create_claim("awaiting_payment_details", employee=self.person(far))

    def cash_claim(self, far: bool = False) -> Any:
        employee = self.person(far)
        return create_cash_payment(employee=employee).claim_id


@dataclass
class Records:
    """One value per kind of record (what goes in the URL or the body)."""

    in_scope: Any
    out_of_scope: Any
    unknown: Any


@dataclass
class Route:
    #: The URL, given the record's value (routes without a record get None).
    url: Callable[[Any], str]
    #: Routes without a record: the status per method for a role that may use the route, and signed out.
    signed_in: dict[str, int] = field(default_factory=dict)
    signed_out: dict[str, int] = field(default_factory=dict)
    #: Routes with a record: how to make each kind, and the status in scope (per method where they differ: a
    #: page's form is a 200, its post a 302 back to the case).
    records: Callable[[World], Records] | None = None
    success: int | dict[str, int] = 200
    #: The request body: form fields, form fields given the record (made afresh for each request: a file to upload
    #: is read once), or JSON (given the record).
    data: dict[str, str] | None = None
    form: Callable[[Any], dict[str, Any]] | None = None
    json: Callable[[Any], Any] | None = None
    #: Records that belong to a user, not to a place (a job is its starter's): the in-scope record is given to the
    #: caller (``owner(record, user)``), and only ``sees_everything`` see another's.
    owner: Callable[[Any, Any], None] | None = None
    sees_everything: frozenset[str] = frozenset(SEES_EVERYTHING)


def _people(world: World) -> Records:
    return Records(world.person().si_code, world.person(far=True).si_code, "9999999999")


def _units(world: World) -> Records:
    return Records(world.unit.unit_code, world.far_unit.unit_code, "ZZ9999999")


def _claims_in_review(world: World) -> Records:
    far = world.claim_in_review(far=True)
    return Records(world.claim_in_review().id, far.id, far.id + 100_000)


def _claims_to_approve(world: World) -> Records:
    """Claims in needs_review of one person each (a claim with an undecided duplicate is not approved)."""
    far = create_claim("needs_review", employee=world.person(far=True))
    return Records(create_claim("needs_review", employee=world.person()).id, far.id, far.id + 100_000)


def _refused_claims(world: World) -> Records:
    far = world.refused_claim(far=True)
    return Records(world.refused_claim().id, far.id, far.id + 100_000)


def _districts(world: World) -> Records:
    return Records("017", world.far_district, "999")


def _form_02_file(_: Any) -> dict[str, Any]:
    """A Form 02 spreadsheet with one row (an SI code not on the list: a row error, still a 200 with the results)."""
    return {"file": (io.BytesIO(b"si_code,bank_code,bank_account\n0100000000,,\n"), "mau02.csv")}


def _form_03_file(_: Any) -> dict[str, Any]:
    """A Form 03 spreadsheet with one row (a removal of someone not on the list: a row error, still a 200)."""
    return {"file": (io.BytesIO(b"si_code,action\n0100000000,remove\n"), "mau03.csv")}


def _form_02_rows(_: Any) -> dict[str, Any]:
    """Form 02 in the browser for one person not on the list: a row error, still a 200 with the row's error."""
    return {"rows-0-si_code": "0100000000", "rows-0-choice": "cash"}


def _form_02_errors(unit_code: str) -> dict[str, Any]:
    """The errors the results page hands back for the file (signed for the unit in the URL)."""
    from disburse.claims.employer_views import sign_errors

    return {"errors": sign_errors(unit_code, [(2, "si_code", "0100000000", "not_on_list", "vi", "en")])}


def _claims_awaiting_details(world: World) -> Records:
    far = world.claim_awaiting_details(far=True)
    return Records(world.claim_awaiting_details().id, far.id, far.id + 100_000)


def _requests_to_units(world: World) -> Records:
    """The office's requests for information addressed to each unit (its unit code and the request's event id)."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimNote

    def asked(unit: Any) -> tuple[str, int]:
        person = create_employee(employer_id=unit.id, district_code=unit.district_code)
        claim = create_claim("needs_review", employee=person)
        data = {"addressee": "employer", "note": "Bản sao hợp đồng lao động."}
        return unit.unit_code, claims.note(claim, ClaimNote.REQUEST_INFO, None, data=data).id

    return Records(asked(world.unit), asked(world.far_unit), (world.unit.unit_code, 999_999_999))


def _claims_with_offers(world: World) -> Records:
    """Claims waiting for payment details, each with the person's offer of new ones."""
    near, far = world.claim_awaiting_details(), world.claim_awaiting_details(far=True)
    for claim in (near, far):
        create_offer(claim)
    return Records(near.id, far.id, far.id + 100_000)


def _open_offer_of(claim_id: int) -> dict[str, str]:
    """The dismissal's form for the claim's offer (any id for a claim that has none: the claim is not found first)."""
    from disburse.claims.models import ClaimEvent

    offer_id = db.session.scalar(
        select(ClaimEvent.id).where(ClaimEvent.claim_id == claim_id, ClaimEvent.action == "offer_details")
    )
    return {"offer": str(offer_id or 1), "reason": "Đã gọi điện: người lao động không gửi đề nghị này."}


def _people_without_claims(world: World) -> Records:
    far = world.person(far=True).id
    return Records(world.person().id, far, far + 100_000)


def _cash_claims(world: World) -> Records:
    far = world.cash_claim(far=True)
    return Records(world.cash_claim(), far, far + 100_000)


def _page_action(action: str, data: dict[str, str], records: Callable[[World], Records] = _claims_in_review) -> Route:
    """A caseworker's page with a form: its GET is the form (200), its POST acts and goes back to the case (302)."""
    return Route(
        lambda claim_id: f"/caseworker/claims/{claim_id}/{action}",
        records=records,
        success={"GET": 200, "POST": 302},
        form=lambda claim_id: {key: value.replace("SELF", str(claim_id)) for key, value in data.items()},
    )


def _claim_action(action: str, body: dict[str, Any], records: Callable[[World], Records] = _claims_in_review) -> Route:
    return Route(
        lambda claim_id: f"/api/v1/claims/{claim_id}/{action}",
        records=records,
        json=lambda claim_id: {key: (claim_id if value == "SELF" else value) for key, value in body.items()},
    )


def _reconciliations(world: World) -> Records:
    from disburse.payments.models import Reconciliation

    runs = [
        Reconciliation(provider="sandbox", day=date(2021, 11, d), matched=3, differences=0, details=[]) for d in (1, 2)
    ]
    db.session.add_all(runs)
    db.session.flush()
    return Records(runs[0].id, runs[1].id, runs[1].id + 100_000)


def _recoveries(world: World) -> Records:
    """A payment returned after it settled, in each district: each opens a recovery."""
    from disburse.payments.models import Recovery
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    ids = []
    for far in (False, True):
        payment = create_payment(create_claim("payment_pending", employee=world.person(far)), state="sent")
        for status in (ProviderStatus.PAID, ProviderStatus.RETURNED):
            apply_updates("sandbox", [StatusUpdate(payment.provider_reference, status, "AC04")], source="poll")
        ids.append(db.session.scalar(select(Recovery.id).where(Recovery.payment_id == payment.id)))
    return Records(ids[0], ids[1], ids[1] + 100_000)


def _job(world: World, **fields: Any) -> int:
    from disburse.jobs import service as jobs

    job = jobs.create_job(fields.pop("kind", "import.employees"), fields.pop("params", {}))
    for key, value in fields.items():
        setattr(job, key, value)
    db.session.flush()
    return job.id


def _jobs(world: World) -> Records:
    far = _job(world, state="running", done=1, total=2)
    return Records(_job(world, state="running", done=1, total=2), far, far + 100_000)


def _jobs_with_files(world: World) -> Records:
    """Finished jobs whose result offers a file in the export folder (the world's temporary one)."""
    world.exports.mkdir(exist_ok=True)
    (world.exports / "ket-qua.csv").write_text("a\n1\n", encoding="utf-8")
    result = {"file": "ket-qua.csv", "filename": "ket-qua.csv"}
    far = _job(world, state="succeeded", result=result)
    return Records(_job(world, state="succeeded", result=result), far, far + 100_000)


def _failed_jobs(world: World) -> Records:
    """Failed lists builds: a retry sends the task again (to the test's Redis; the job rows are rolled back, so a
    worker that takes the message finds nothing to do)."""
    params = {"program": "NQ116"}
    far = _job(world, kind="lists.build", params=params, state="failed", error="x")
    return Records(_job(world, kind="lists.build", params=params, state="failed", error="x"), far, far + 100_000)


def _own_job(job_id: int, user: Any) -> None:
    from disburse.jobs.models import Job

    job = db.session.get(Job, job_id)
    assert job is not None
    job.created_by = user.id
    # About the user's own place: a job is seen by its starter while its subject is within their scope.
    job.params = {
        **job.params,
        "scope": {
            "units": [user.employer_id] if user.employer_id else [],
            "districts": [user.district_code] if user.district_code else [],
            "provinces": [user.province_code] if user.province_code else [],
        },
    }
    db.session.flush()


def _users(world: World, active: bool = True) -> Records:
    near, far = create_user("caseworker"), create_user("caseworker", district=world.far_district)
    near.active = far.active = active
    db.session.flush()
    return Records(near.id, far.id, far.id + 100_000)


def _tokens(world: World) -> Records:
    """(user id, the id of one of their API tokens)."""
    from disburse.auth.models import ApiToken
    from disburse.auth.service import create_token

    near, far = create_user("caseworker"), create_user("caseworker", district=world.far_district)
    pairs = []
    for user in (near, far):
        create_token(user)
        pairs.append((user.id, db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))))
    return Records(pairs[0], pairs[1], (far.id + 100_000, 2_000_000_000))


def _a_caseworker_of(claim_id: int) -> str:
    """A new caseworker of the claim's district (of Đông Anh for a claim that does not exist), as the form posts."""
    from disburse.claims.models import Claim

    claim = db.session.get(Claim, claim_id)
    return str(create_user("caseworker", district=claim.district_code if claim else "017").id)


def _confirmed(_: Any) -> dict[str, str]:
    """The post from the page that asks to confirm (a deactivation, a new password)."""
    return {"confirmed": "1"}


def _batches(world: World) -> Records:
    """Batches belong to no place (one batch pays people of every district): admins see them all."""
    from disburse.payments.models import PaymentBatch
    from disburse.programs.models import Program

    program = db.session.scalar(select(Program.id).where(Program.code == "NQ116"))
    batch = PaymentBatch(program_id=program, channel="bank", provider="sandbox", state="sent", item_count=1)
    db.session.add(batch)
    db.session.flush()
    create_payment(create_claim("payment_pending", employee=world.person(True)), state="sent", batch_id=batch.id)
    return Records(batch.id, batch.id, batch.id + 100_000)


def _programs(world: World) -> Records:
    """Programmes belong to no place: admins (the only ones who change one) see them all."""
    from disburse.programs.models import Program

    program = db.session.scalar(select(Program.id).where(Program.code == "NQ116"))
    return Records(program, program, 999_999)


def _job_route(suffix: str, records: Callable[[World], Records] = _jobs) -> Route:
    return Route(
        lambda job_id: f"/jobs/{job_id}{suffix}",
        records=records,
        owner=_own_job,
        sees_everything=frozenset({"admin"}),
    )


ROUTES: dict[str, Route] = {
    # Pages and the public API.
    "home.index": Route(lambda _: "/", {"GET": 200}, {"GET": 200}),
    "home.favicon": Route(lambda _: "/favicon.ico", {"GET": 302}, {"GET": 302}),  # to the static icon
    "auth.set_language": Route(lambda _: "/language/en", {"POST": 302}, {"POST": 302}, data={"next": "/"}),
    # A person's bank details, public: the same answer for every caller (a wrong date here is a 422).
    "people.payment_details": Route(
        lambda _: "/people/payment-details",
        {"GET": 200, "POST": 422},
        {"GET": 200, "POST": 422},
        data={"si_code": "0123456789", "national_id": "001085012345", "date_of_birth": "31/02/1985"},
    ),
    # A person's own status, public: a wrong date is a 422 (nobody found would be a 404, a match 200).
    "people.status": Route(
        lambda _: "/people/status",
        {"GET": 200, "POST": 422},
        {"GET": 200, "POST": 422},
        data={"si_code": "0123456789", "national_id": "001085012345", "date_of_birth": "31/02/1985"},
    ),
    "auth.login": Route(
        lambda _: "/login",
        {"GET": 302, "POST": 302},  # already signed in: to the home page
        {"GET": 200, "POST": 400},  # the form; a wrong password
        data={"email": "nobody@bhxh.example.vn", "password": "sai-mat-khau-roi"},
    ),
    "auth.logout": Route(lambda _: "/logout", {"POST": 302}, {"POST": 302}),
    "auth.account": Route(
        lambda _: "/account",
        {"GET": 200, "POST": 400},  # the page; a wrong current password
        {"GET": 302, "POST": 302},  # to the sign-in page
        data={"current_password": "sai-mat-khau-roi", "new_password": "mat-khau-moi-rat-dai"},
    ),
    "static": Route(lambda _: "/static/disburse.css", {"GET": 200}, {"GET": 200}),
    "api.health": Route(lambda _: "/api/v1/health", {"GET": 200}, {"GET": 200}),
    "api.openapi_document": Route(lambda _: "/api/v1/openapi.json", {"GET": 200}, {"GET": 200}),  # public: no data
    # Provider callbacks: signed by the provider, not by a user; no signature is a 401 whoever asks.
    "api.providers.provider_event": Route(
        lambda _: "/api/v1/providers/sandbox/events", {"POST": 401}, {"POST": 401}, json=lambda _: {}
    ),
    # The look-up and the forms.
    "api.claims.employee_support": Route(lambda si: f"/api/v1/employees/{si}/support", records=_people),
    "api.forms.confirmations": Route(
        lambda unit: f"/api/v1/employers/{unit}/confirmations",
        records=_units,
        json=lambda _: {"rows": [{"si_code": "0100000000", "decline": True}]},  # a row error: still a 200
    ),
    "api.forms.adjustments": Route(
        lambda unit: f"/api/v1/employers/{unit}/adjustments",
        records=_units,
        json=lambda _: {"rows": [{"si_code": "0100000000", "action": "remove"}]},
    ),
    "api.reports.unit_progress": Route(lambda unit: f"/api/v1/employers/{unit}/progress", records=_units),
    "api.reports.progress": Route(lambda district: f"/api/v1/progress?district={district}", records=_districts),
    # The employer's pages (read-only for the offices; the forms are the employer's).
    "employers.find": Route(lambda _: "/employers/", {"GET": 200}, {"GET": 302}),
    "home.units": Route(lambda _: "/units?unit=thu", {"GET": 200}, {"GET": 302}),
    "employers.status": Route(lambda unit: f"/employers/{unit}?q=nguyen", records=_units),
    "employers.form_01": Route(lambda unit: f"/employers/{unit}/form-01", records=_units),
    "employers.status_file": Route(lambda unit: f"/employers/{unit}/status-file", records=_units),
    "employers.form_02": Route(lambda unit: f"/employers/{unit}/form-02", records=_units),
    "employers.form_02_upload": Route(
        lambda unit: f"/employers/{unit}/form-02/upload", records=_units, form=_form_02_file
    ),
    "employers.form_02_rows": Route(lambda unit: f"/employers/{unit}/form-02/rows", records=_units, form=_form_02_rows),
    "reductions.unit": Route(lambda unit: f"/employers/{unit}/reductions", records=_units),
    "employers.form_03": Route(
        lambda unit: f"/employers/{unit}/form-03",
        records=_units,
        success={"GET": 200, "POST": 400},  # a person not on the list: the form again, saying so
        data={"action": "remove", "si_code": "0100000000"},
    ),
    "employers.form_03_waiting": Route(lambda unit: f"/employers/{unit}/form-03/waiting", records=_units),
    "employers.information_request": Route(
        lambda asked: f"/employers/{asked[0]}/requests/{asked[1]}", records=_requests_to_units
    ),
    "employers.answer_request": Route(
        lambda asked: f"/employers/{asked[0]}/requests/{asked[1]}",
        records=_requests_to_units,
        success=302,
        data={"answer": "Đơn vị đã gửi bản sao hợp đồng qua bưu điện ngày 02/11."},
    ),
    "employers.form_03_upload": Route(
        lambda unit: f"/employers/{unit}/form-03/upload", records=_units, form=_form_03_file
    ),
    "employers.form_02_errors": Route(
        lambda unit: f"/employers/{unit}/form-02/errors", records=_units, form=_form_02_errors
    ),
    "api.forms.application": Route(
        lambda _: "/api/v1/applications", {"POST": 422}, {"POST": 401}, json=lambda _: {}
    ),  # any office takes a Form 04: no scope; an empty one is a 422 naming the fields
    # The review queue.
    "api.review.list_claims": Route(lambda _: "/api/v1/claims", {"GET": 200}, {"GET": 401}),
    "api.review.claim_detail": Route(lambda claim_id: f"/api/v1/claims/{claim_id}", records=_claims_in_review),
    "api.review.claim_notice": Route(lambda claim_id: f"/api/v1/claims/{claim_id}/notice", records=_refused_claims),
    "api.review.assign_next": Route(
        lambda _: "/api/v1/claims/assign-next",
        records=_districts,
        json=lambda district: {"count": 1, "district": district},
    ),
    "api.review.assign": _claim_action("assign", {}),
    "api.review.release": _claim_action("release", {}),
    "api.review.log_contact": _claim_action("contacts", {"channel": "phone", "outcome": "reached"}),
    "api.review.request_info": _claim_action("information-requests", {"addressee": "person", "note": "Nộp sổ BHXH."}),
    "api.review.approve": _claim_action("approve", {"note": "Đã xác minh."}, _claims_to_approve),
    "api.review.reject": _claim_action(
        "reject", {"reason_code": "not_employed_on_cutoff", "reason_text": "Đã nghỉ việc trước ngày chốt danh sách."}
    ),
    "api.review.decline": _claim_action("decline", {"note": "Đơn đề nghị không nhận hỗ trợ ngày 12/10/2021."}),
    "api.review.resolve_duplicate": _claim_action("resolve-duplicate", {"keep": "SELF"}),
    "api.review.notice_batch": Route(
        lambda _: "/api/v1/notices/batches",
        records=_districts,
        success=202,
        json=lambda district: {"district": district, "date": "2021-10-22"},
    ),
    # The case page's other actions, as JSON (disburse/casework/api.py): the pages' records and bodies.
    "api.casework.payment_details": _claim_action(
        "payment-details", {"bank_code": "BIDV", "bank_account": "1234567890"}, _claims_awaiting_details
    ),
    "api.casework.record_phone": _claim_action("phone", {"id_card_seen": True, "phone": "0987 654 321"}),
    "api.casework.dismiss_offer": Route(
        lambda claim_id: f"/api/v1/claims/{claim_id}/offer-dismiss",
        records=_claims_with_offers,
        json=lambda claim_id: {
            "offer_id": int(_open_offer_of(claim_id)["offer"]),
            "reason": _open_offer_of(claim_id)["reason"],
        },
    ),
    "api.casework.offer_cash": _claim_action(
        "cash", {"reason": "Không có tài khoản ngân hàng."}, _claims_awaiting_details
    ),
    "api.casework.cash_receipt": Route(
        lambda claim_id: f"/api/v1/claims/{claim_id}/cash-receipt",
        records=_cash_claims,
        json=lambda claim_id: {"receipt_number": f"BL {claim_id}"},
    ),
    "api.casework.withdraw_cash": _claim_action(
        "cash-withdraw", {"reason": "Xin nhận qua tài khoản ngân hàng."}, _cash_claims
    ),
    # A list of people: no record (a code outside the scope is a row "not found", as an unknown one).
    "api.casework.lookup_people": Route(
        lambda _: "/api/v1/people/lookup", {"POST": 200}, {"POST": 401}, json=lambda _: {"codes": ["0100000001"]}
    ),
    # The caseworker's pages.
    "caseworker.queue": Route(lambda _: "/caseworker/queue", {"GET": 200}, {"GET": 302}),
    "caseworker.assign_next": Route(
        lambda district: f"/caseworker/queue/assign-next?district={district}", records=_districts, success=302
    ),
    "caseworker.case": Route(lambda claim_id: f"/caseworker/claims/{claim_id}", records=_claims_in_review),
    "caseworker.take": Route(
        lambda claim_id: f"/caseworker/claims/{claim_id}/assign", records=_claims_in_review, success=302
    ),
    "caseworker.release": Route(
        lambda claim_id: f"/caseworker/claims/{claim_id}/release", records=_claims_in_review, success=302
    ),
    "caseworker.assign_to": Route(
        lambda claim_id: f"/caseworker/claims/{claim_id}/assign-to",
        records=_claims_in_review,
        success=302,
        form=lambda claim_id: {"user_id": _a_caseworker_of(claim_id)},
    ),
    "caseworker.approve": _page_action("approve", {"note": "Đã xác minh."}, _claims_to_approve),
    "caseworker.reject": _page_action(
        "reject",
        {
            "reason_code": "not_employed_on_cutoff",
            "reason_text": "Đã nghỉ việc trước ngày chốt danh sách.",
            "confirmed": "1",  # the second step: the first reads the refusal back (200)
        },
    ),
    "caseworker.decline": _page_action("decline", {"note": "Đơn đề nghị không nhận hỗ trợ ngày 12/10/2021."}),
    "caseworker.contact": _page_action("contact", {"channel": "phone", "outcome": "reached"}),
    "caseworker.request_info": _page_action("request-info", {"addressee": "person", "note": "Nộp sổ BHXH."}),
    "caseworker.resolve_duplicate": _page_action("duplicates", {"keep": "SELF"}),
    "caseworker.payment_details": _page_action(
        "payment-details",
        {"bank_code": "BIDV", "bank_account": "1234567890", "confirmed": "1"},
        _claims_awaiting_details,
    ),
    "caseworker.record_phone": _page_action("phone", {"id_card_seen": "y", "phone": "0987 654 321"}),
    "caseworker.dismiss_offer": Route(
        lambda claim_id: f"/caseworker/claims/{claim_id}/offer-dismiss",
        records=_claims_with_offers,
        success={"GET": 200, "POST": 302},
        form=_open_offer_of,
    ),
    "caseworker.offer_cash": _page_action(
        "cash", {"reason": "Không có tài khoản ngân hàng."}, _claims_awaiting_details
    ),
    "caseworker.approve_cash": _page_action(
        "approve-cash", {"reason": "Không có tài khoản ngân hàng."}, _claims_to_approve
    ),
    "caseworker.cash_receipt": _page_action(
        "cash-receipt", {"receipt_number": "BL SELF", "confirmed": "1"}, _cash_claims
    ),
    "caseworker.withdraw_cash": _page_action(
        "cash-withdraw", {"reason": "Xin nhận qua tài khoản ngân hàng."}, _cash_claims
    ),
    # Form 04 at the desk: any office takes one (no record); an empty one is a 422 naming the fields.
    "caseworker.application": Route(
        lambda _: "/caseworker/applications/new", {"GET": 200, "POST": 422}, {"GET": 302, "POST": 302}
    ),
    # Finding a person: the look-up answers within the caller's scope (no record: a code out of scope is "not found").
    "caseworker.find_person": Route(lambda _: "/caseworker/people/find?q=0100000001", {"GET": 200}, {"GET": 302}),
    "caseworker.find_people": Route(
        lambda _: "/caseworker/people/find", {"POST": 200}, {"POST": 302}, data={"codes": "0100000001"}
    ),
    "caseworker.outreach_list": Route(lambda district: f"/caseworker/outreach?district={district}", records=_districts),
    "caseworker.cash_desk": Route(lambda district: f"/caseworker/cash-desk?district={district}", records=_districts),
    "caseworker.cash_desk_list": Route(
        lambda district: f"/caseworker/cash-desk/list.xlsx?district={district}", records=_districts
    ),
    "caseworker.person_contact": Route(
        lambda employee_id: f"/caseworker/people/{employee_id}/contact",
        records=_people_without_claims,
        success={"GET": 200, "POST": 302},
        data={"channel": "phone", "outcome": "no_answer"},
    ),
    "caseworker.outreach_export": Route(
        lambda district: f"/caseworker/outreach/export?district={district}&format=csv", records=_districts
    ),
    # Background jobs: their starter's and the admins'.
    "jobs.show": _job_route(""),
    "jobs.status": _job_route(".json"),
    "jobs.download": _job_route("/download", _jobs_with_files),
    "jobs.index": Route(lambda _: "/jobs/?state=failed", {"GET": 200}, {"GET": 302}),
    "jobs.mine": Route(lambda _: "/jobs/mine", {"GET": 200}, {"GET": 302}),
    "jobs.retry": Route(lambda job_id: f"/jobs/{job_id}/retry", records=_failed_jobs, success=302),
    # The admins' pages (the programme's parameters are supervisors' too). Empty forms: 400 with their errors.
    "admin.index": Route(lambda _: "/admin/", {"GET": 200}, {"GET": 302}),
    "admin.imports": Route(lambda _: "/admin/imports", {"GET": 200, "POST": 400}, {"GET": 302, "POST": 302}),
    # Building the lists: NQ116's list deadline (20/10/2021) has passed by TODAY, so the post is refused (409).
    "admin.lists": Route(lambda _: "/admin/lists", {"GET": 200, "POST": 409}, {"GET": 302, "POST": 302}),
    "admin.users": Route(lambda _: "/admin/users?role=caseworker", {"GET": 200}, {"GET": 302}),
    "admin.user_new": Route(lambda _: "/admin/users/new", {"GET": 200, "POST": 400}, {"GET": 302, "POST": 302}),
    "admin.user_edit": Route(
        lambda user_id: f"/admin/users/{user_id}", records=_users, success={"GET": 200, "POST": 400}
    ),
    "admin.user_deactivate": Route(
        lambda user_id: f"/admin/users/{user_id}/deactivate", records=_users, success=302, form=_confirmed
    ),
    "admin.user_reactivate": Route(
        lambda user_id: f"/admin/users/{user_id}/reactivate",
        records=lambda world: _users(world, active=False),
        success=302,
    ),
    "admin.user_password": Route(lambda user_id: f"/admin/users/{user_id}/password", records=_users, form=_confirmed),
    "admin.user_token_new": Route(
        lambda user_id: f"/admin/users/{user_id}/tokens", records=_users, form=lambda _: {"name": "Cổng tỉnh"}
    ),
    "admin.user_token_revoke": Route(
        lambda pair: f"/admin/users/{pair[0]}/tokens/{pair[1]}/revoke", records=_tokens, success=302, form=_confirmed
    ),
    "admin.programme": Route(lambda _: "/admin/programme", {"GET": 200}, {"GET": 302}),
    "admin.programme_update": Route(
        lambda program_id: f"/admin/programme/{program_id}",
        records=_programs,
        success=302,
        form=lambda program_id: {f"program-{program_id}-max_payment_failures": "4"},
    ),
    "admin.health": Route(lambda _: "/admin/health", {"GET": 200}, {"GET": 302}),
    "admin.batches": Route(lambda _: "/admin/batches?channel=bank", {"GET": 200}, {"GET": 302}),
    "admin.batch": Route(lambda batch_id: f"/admin/batches/{batch_id}", records=_batches),
    "admin.audit": Route(lambda _: "/admin/audit?since=01/01/2021", {"GET": 200}, {"GET": 302}),
    # The supervisors' dashboard: an area in scope, another one, an unknown one; its tables as files (a small
    # table is downloaded at once, by GET or by the POST that would start a job for a large one).
    "dashboard.index": Route(lambda district: f"/dashboard/?district={district}", records=_districts),
    "dashboard.charts": Route(lambda district: f"/dashboard/charts?district={district}", records=_districts),
    "dashboard.backlog": Route(lambda district: f"/dashboard/backlog?district={district}", records=_districts),
    "dashboard.overdue_units_file": Route(
        lambda district: f"/dashboard/backlog/overdue-units?district={district}&format=csv", records=_districts
    ),
    "dashboard.reconciliation": Route(
        lambda run_id: f"/dashboard/reconciliations/{run_id}",
        records=_reconciliations,
        # A run is the whole fund's, not a place's: supervisors (a province's too) and admins open any, a province's
        # supervisor seeing only its lines of their province's claims (tests/dashboard/test_charts_backlog_pages.py);
        # caseworkers may never open one (403: payment references, amounts and claims are no district's business).
        sees_everything=frozenset(ROLES),
    ),
    "dashboard.monthly": Route(
        lambda district: f"/dashboard/monthly?month=10/2021&district={district}", records=_districts
    ),
    # Recoveries: supervisors and admins, by the place of the returned payment's claim; the move's confirming post.
    "dashboard.recoveries": Route(lambda district: f"/dashboard/recoveries?district={district}", records=_districts),
    "dashboard.recoveries_file": Route(
        lambda district: f"/dashboard/recoveries/export?district={district}&format=csv", records=_districts
    ),
    "dashboard.close_settled_recoveries": Route(
        lambda district: f"/dashboard/recoveries/close-settled?district={district}",
        records=_districts,
        success={"POST": 302},
    ),
    "dashboard.recovery": Route(
        lambda recovery_id: f"/dashboard/recoveries/{recovery_id}",
        records=_recoveries,
        success={"GET": 200, "POST": 302},
        data={"to_state": "recovered", "confirmed": "1"},
    ),
    # Targets: supervisors and admins, of an area's districts; an empty form is a 400 with its errors.
    "dashboard.targets": Route(
        lambda district: f"/dashboard/targets?district={district}",
        records=_districts,
        success={"GET": 200, "POST": 400},
    ),
    "dashboard.export": Route(lambda district: f"/dashboard/export?district={district}&format=csv", records=_districts),
}


@pytest.fixture
def world(app, db_session, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIR", str(tmp_path / "exports"))
    far_district = db_session.scalar(
        select(District.code).where(District.province_code == "79").order_by(District.code)
    )
    return World(
        create_employer(district_code="017"),
        create_employer(district_code=far_district),
        far_district,
        tmp_path / "exports",
    )


def _caller(app, role_name: str, world: World, auth: str) -> tuple[Any, dict[str, str], Any]:
    """A client acting as a new user of ``role_name`` (signed in by session or holding a token), and the user."""
    client = app.test_client()
    if role_name == SIGNED_OUT:
        return client, {}, None
    if role_name == "employer":
        user = create_user("employer", employer_unit=world.unit.unit_code)
    else:
        user = create_user(role_name.split()[-1], **ROLES[role_name])
    if auth == "token":
        return client, {"Authorization": f"Bearer {create_token(user)}"}, user
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client, {}, user


def _may_use(app, endpoint: str, role: str) -> bool:
    # Static files are Flask's own route, without a declaration (tests/test_routes_guarded.py leaves it out too).
    permission = "public" if endpoint == "static" else getattr(app.view_functions[endpoint], PERMISSION_ATTR)
    return permission == "public" or role in permission.removeprefix("roles:").split(",")


def _expected(
    app, endpoint: str, route: Route, method: str, url: str, role_name: str, role: str | None, kind: str | None
) -> int:
    if route.records is None:  # routes without a record
        if role is None:
            return route.signed_out[method]
        return route.signed_in[method] if _may_use(app, endpoint, role) else 403
    if role is None:  # a program (no cookie) is told 401 by the API and the pages' JSON; a page sends it to sign in
        return 401 if url.startswith("/api/") or endpoint in JSON_RESOURCES else 302
    if not _may_use(app, endpoint, role):
        return 403
    if kind == "in_scope" or (kind == "out_of_scope" and role_name in route.sees_everything):
        return route.success if isinstance(route.success, int) else route.success[method]
    return 404


def _cases(app, world: World) -> Iterator[tuple[str, str, str, str | None, Any, Any, Route, Any]]:
    """(endpoint, method, url, record kind or None, JSON body, form fields, route, record) for every route in
    app.url_map; every record is made afresh, so that no action sees what another did."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), "add the new route to ROUTES (how to call it, its records)"
    for rule in app.url_map.iter_rules():
        route = ROUTES[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if route.records is None:
                body = route.json(None) if route.json else None
                yield rule.endpoint, method, route.url(None), None, body, route.data, route, None
                continue
            records = route.records(world)
            for kind in ("in_scope", "out_of_scope", "unknown"):
                record = getattr(records, kind)
                body = route.json(record) if route.json else None
                fields = route.form(record) if route.form else route.data
                yield rule.endpoint, method, route.url(record), kind, body, fields, route, record


@pytest.mark.parametrize(
    ("role_name", "auth"), [(role, auth) for role in ROLES for auth in ("session", "token")] + [(SIGNED_OUT, "none")]
)
def test_route_role_record_matrix(app, client, world, role_name, auth):
    wrong = []
    not_found: dict[str, dict[str | None, tuple[int, Any]]] = {}
    for endpoint, method, url, kind, body, fields, route, record in _cases(app, world):
        if auth == "token" and not url.startswith("/api/"):
            continue  # tokens are for the API; pages use the session
        caller, headers, user = _caller(app, role_name, world, auth)
        role = user.role if user is not None else None
        if route.owner is not None and kind == "in_scope" and user is not None:
            route.owner(record, user)
        with caller.open(url, method=method, headers=headers, data=fields, json=body) as response:
            expected = _expected(app, endpoint, route, method, url, role_name, role, kind)
            if response.status_code != expected:
                wrong.append(f"{method} {url} ({kind}): {response.status_code}, expected {expected}")
            if role is None and endpoint == "auth.logout":
                # Pages send you to sign in; a POST-only URL is nothing to come back to (its GET would be a 405).
                assert response.headers["Location"] == "/login"
            if expected == 404:
                not_found.setdefault(f"{method} {endpoint}", {})[kind] = (
                    response.status_code,
                    _body(response, url, user),
                )
    assert wrong == []
    # Out of scope is indistinguishable from a record that does not exist: the same status and the same body, JSON
    # or page, but for the request's own path and the caller's name where a page shows them.
    for endpoint, answers in not_found.items():
        if "out_of_scope" in answers:
            assert answers["out_of_scope"] == answers["unknown"], endpoint


_CSRF = re.compile(r'(name="csrf_token" value=|name="csrf-token" content=)"[^"]*"')


def _body(response: Any, url: str, user: Any) -> Any:
    """A 404's body, for comparing out of scope with unknown: JSON as it is; a page without what differs from one
    request to the next whatever the record (the caller, a new user each time, and their form tokens) and without
    the request's path (a page may echo it)."""
    if response.is_json:
        return response.get_json()
    page = response.get_data(as_text=True)
    path = url.split("?", 1)[0]
    as_next = quote(url, safe="/?")  # the language links' next= (the page with its query)
    for echoed in (as_next, html.escape(as_next), url, html.escape(url), path):
        page = page.replace(echoed, "<path>")
    # After a post to a URL without a page, the language links' next= is the nearest page above it (the record's).
    for above in (path.rsplit("/", n)[0] for n in range(1, path.count("/"))):
        page = page.replace(f'value="{above}"', 'value="<path>"')
    if user is not None:
        page = page.replace(user.email, "<user>")
    return _CSRF.sub(r"\1<token>", page)
