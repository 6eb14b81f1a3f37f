"""The review queue's JSON API and the refusal notices (mounted under /api/v1 by :mod:`disburse.api`).

GET  /claims                                  the queue: filters, orders, keyset pages
GET  /claims/<id>                             one claim with its whole timeline
GET  /claims/<id>/notice                      the written refusal notice (HTML, A4)
POST /claims/assign-next                      take the next N unassigned claims in needs_review
POST /claims/<id>/assign | /release           take, give or hand back a case
POST /claims/<id>/contacts                    log a contact attempt
POST /claims/<id>/information-requests        record a request for information
POST /claims/<id>/approve | /reject           decide
POST /claims/<id>/resolve-duplicate           decide a possible duplicate
POST /notices/batches                         all refusal notices of a district on a day, as a background job

Each route declares its schemas (:func:`~disburse.api.schemas.endpoint`), which check the input (every field's error
at once, 422) and make the OpenAPI document; the view calls one service and commits. The services raise
:class:`~disburse.verification.review.ReviewError`, turned here into the API's one error shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal, cast

from flask import Blueprint, current_app, jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BeforeValidator, Field, StringConstraints

from disburse.api.errors import api_error, message
from disburse.api.schemas import (
    BLANK_IS_ABSENT,
    BLANK_IS_MISSING,
    COMPOSED,
    CONTROL_MSG,
    NO_CONTROL,
    QUERY_BOOL,
    QUERY_INT,
    WORDLESS_IS_BLANK,
    ApiModel,
    Day,
    Msg,
    OneOf,
    ProgramCode,
    QueryModel,
    Reason,
    ResponseModel,
    endpoint,
)
from disburse.auth.models import ROLES, User
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import visible_unit
from disburse.claims.models import Claim
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.formatting import dmy
from disburse.programs.calendar import VIETNAM_TZ
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.service import area_code
from disburse.registry.codes import UNIT_CODE_PATTERN, UNIT_CODE_WORDS
from disburse.registry.models import Employer
from disburse.verification import notices, reasons, review
from disburse.verification.review import (
    ACTING_ROLES,
    CONTACT_CHANNELS,
    CONTACT_OUTCOMES,
    DEFAULT_PAGE,
    INFO_ADDRESSEES,
    MAX_ASSIGN_NEXT,
    MAX_DUPLICATE_NOTE,
    MAX_ID,
    MAX_PAGE,
    MAX_TEXT,
    QUEUE_SORTS,
    ActionResult,
    QueueQuery,
    ReviewError,
)

bp = Blueprint("review", __name__)


class ProgramUnknown(ReviewError):
    status = 404
    code = "program_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(
            f"Không có chương trình mã '{code}'.",
            f"There is no program with code '{code}'.",
            fields={"program": (f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")},
        )


@bp.errorhandler(ReviewError)
def review_error(exc: ReviewError) -> ResponseReturnValue:
    db.session.rollback()  # nothing half done survives a refused action
    fields = {name: message(vi, en) for name, (vi, en) in exc.fields.items()}
    return api_error(exc.status, exc.code, message(exc.vi, exc.en), fields)


# ------------------------------------------------------------------------------------------------------ schemas

_DISTRICT_MSG = Msg(
    "Mã quận/huyện gồm đúng 3 chữ số (ví dụ 017).", "A district code has exactly 3 digits (for example 017)."
)
#: A district code, its leading zeros put back ("17" is 017, :func:`~disburse.reference.service.area_code`).
_DISTRICT = Annotated[str, BeforeValidator(partial(area_code, width=3)), StringConstraints(pattern=r"^[0-9]{3}$")]
#: A claim or user id: a positive whole number that fits PostgreSQL's bigint.
_Id = Annotated[int, Field(ge=1, le=MAX_ID)]
_Note = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT, pattern=NO_CONTROL)] | None,
    BLANK_IS_ABSENT,
    Field(default=None, description=f"A note for the claim's timeline (at most {MAX_TEXT} characters)."),
    CONTROL_MSG,
    COMPOSED,
]

#: A note the action needs (an information request's, a decline's): some text, up to MAX_TEXT characters.
_RequiredNote = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT, pattern=NO_CONTROL),
    CONTROL_MSG,
    BLANK_IS_MISSING,
    WORDLESS_IS_BLANK,
    COMPOSED,
]


#: The queue's orders as ``sort`` names them, as the caseworkers' queue page does: each of the service's orders
#: (:data:`~disburse.verification.review.QUEUE_SORTS`), and with a "-" before it, the same order backwards.
SORTS = tuple(order for name in QUEUE_SORTS for order in (name, f"-{name}"))
_SORT_CHOICES = ", ".join(QUEUE_SORTS)


def _sort_words(sort: str) -> tuple[str, str]:
    """What a ``sort`` that is none of :data:`SORTS` is told: the value given (cut short) and the choices."""
    given = sort if len(sort) <= 40 else sort[:40] + "…"
    return (
        f"Không sắp xếp được theo “{given}”. Chọn một trong: {_SORT_CHOICES}; thêm “-” ở trước để đảo chiều "
        "(ví dụ -amount).",
        f"The queue cannot be sorted by “{given}”. Choose one of: {_SORT_CHOICES}; put “-” before it for the other "
        "way (for example -amount).",
    )


#: A page's cursor in an order other than ``id``: the order, a dot, the last claim's id (``-amount.41``). In ``id``
#: order it is the id alone, as it always was. The order goes with the cursor so that a cursor is never read in an
#: order it was not made for (the claims after claim 41 by amount are not the next page of a list by name).
_CURSOR = rf"^-?({'|'.join(QUEUE_SORTS)})\.[0-9]{{1,19}}$"


def _cursor_of(sort: str, claim_id: int) -> int | str:
    """The ``next_after`` that goes on after claim ``claim_id`` in the order ``sort``."""
    return claim_id if sort == "id" else f"{sort}.{claim_id}"


_AFTER_WORDS = (
    "after là next_after của trang trước: một số (thứ tự id), hoặc thứ tự và số như amount.41.",
    "after is the previous page's next_after: a number (the id order), or an order and a number such as amount.41.",
)


def _after(sort: str, after: int | str | None) -> int:
    """The claim id the page goes on after (0: the first page); :class:`review.Invalid` naming ``after`` for a
    cursor made for another order than ``sort`` (a plain id is one of the ``id`` order), or past the ids a claim can
    have."""
    if after is None or after == 0:
        return 0
    if isinstance(after, int):
        made_for, claim_id = "id", after
    else:
        made_for, digits = after.rsplit(".", 1)
        claim_id = int(digits)
    if made_for != sort:
        raise review.Invalid(
            {
                "after": (
                    f"Giá trị after này là của thứ tự sắp xếp “{made_for}”, không phải “{sort}”: hãy dùng next_after "
                    "của trang trước theo cùng thứ tự, hoặc bỏ after để đọc lại từ trang đầu.",
                    f"This after belongs to the order “{made_for}”, not “{sort}”: pass the next_after of the previous "
                    "page in the same order, or leave after out to start again from the first page.",
                )
            }
        )
    if claim_id > MAX_ID:
        raise review.Invalid({"after": _AFTER_WORDS})
    return claim_id


class ClaimsQuery(QueryModel):
    state: Annotated[
        Annotated[str, OneOf(s.value for s in ClaimState)] | None, Field(default=None, description="The claims' state.")
    ]
    district: Annotated[
        _DISTRICT | None,
        Field(default=None, description="A district code (3 digits) within the caller's scope (another is a 404)."),
        _DISTRICT_MSG,
    ]
    employer: Annotated[
        Annotated[str, StringConstraints(pattern=rf"^{UNIT_CODE_PATTERN}$")] | None,
        Field(default=None, description="A unit code within the caller's scope (another is a 404)."),
        Msg(*UNIT_CODE_WORDS),
    ]
    reason: Annotated[
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")] | None,
        Field(default=None, description="A reason code the claims carry (e.g. zero_months)."),
        Msg("Mã lý do không hợp lệ (ví dụ zero_months).", "Not a reason code (for example zero_months)."),
    ]
    assigned: Annotated[
        Literal["me", "none"] | Annotated[int, Field(ge=1, le=MAX_ID), QUERY_INT] | None,
        Field(default=None, description="me, none (unassigned) or a user's id."),
        Msg("Phải là me, none hoặc mã số một người dùng.", "Must be me, none or a user's id."),
    ]
    offered: Annotated[
        Annotated[bool, QUERY_BOOL] | None,
        Field(
            default=None,
            description="true: only the claims waiting for payment details (needs_review, payment_failed, "
            "awaiting_payment_details) with bank details the person sent on the public page that nobody has dealt "
            "with yet (used, dismissed, or the claim moved on since), as the caseworkers' queue page filters them; "
            "false, or absent: not filtered on it (every claim).",
        ),
        Msg("Phải là true hoặc false.", "Must be true or false."),
    ]
    sort: Annotated[
        Annotated[str, OneOf(SORTS)] | None,
        Field(
            default=None,
            description="The order, as the caseworkers' queue page sorts it: id (the default), received (the day the "
            "office received the claim, waiting longest first), amount, name (the given name, then the whole name, in "
            "Vietnamese letter order) or unit (the unit's code, claims without a unit first), each then by id; a '-' "
            "before it reads the order backwards (-amount: highest first).",
        ),
        Msg(
            f"Cách sắp xếp là một trong: {_SORT_CHOICES}; thêm “-” ở trước để đảo chiều (ví dụ -amount).",
            f"The order is one of: {_SORT_CHOICES}; put “-” before it for the other way (for example -amount).",
            said=_sort_words,
        ),
    ]
    after: Annotated[
        Annotated[int, Field(ge=0, le=MAX_ID), QUERY_INT] | Annotated[str, StringConstraints(pattern=_CURSOR)] | None,
        Field(
            default=None,
            description="The keyset: the previous page's next_after, read in the same sort. In id order the last id "
            "of the previous page; in another order that order, a dot and the id (e.g. -amount.41). A cursor of "
            "another order is a 422 naming after.",
        ),
        Msg(*_AFTER_WORDS),
    ]
    limit: Annotated[
        Annotated[int, Field(ge=1, le=MAX_PAGE), QUERY_INT] | None,
        Field(default=None, description=f"Claims per page (default {DEFAULT_PAGE})."),
        Msg(f"Mỗi trang từ 1 đến {MAX_PAGE} hồ sơ.", f"A page holds 1 to {MAX_PAGE} claims."),
    ]
    program: ProgramCode


class AssignNextBody(ApiModel):
    count: Annotated[
        _Id,
        Field(le=MAX_ASSIGN_NEXT, description="How many claims to take."),
        Msg(
            f"Số hồ sơ nhận mỗi lần từ 1 đến {MAX_ASSIGN_NEXT}.",
            f"Take between 1 and {MAX_ASSIGN_NEXT} claims at a time.",
        ),
    ]
    district: Annotated[
        _DISTRICT | None,
        Field(default=None, description="Supervisors and admins: the district to take from."),
        _DISTRICT_MSG,
    ]
    program: ProgramCode


class AssignBody(ApiModel):
    user_id: Annotated[_Id | None, Field(default=None, description="Give the claim to this user (default: me).")]


class EmptyBody(ApiModel):
    """No fields: an empty body or ``{}``."""


class ContactBody(ApiModel):
    channel: Annotated[str, OneOf(CONTACT_CHANNELS), Field(description="How the person was contacted.")]
    outcome: Annotated[str, OneOf(CONTACT_OUTCOMES), Field(description="What came of it.")]
    note: _Note


class InformationRequestBody(ApiModel):
    addressee: Annotated[str, OneOf(INFO_ADDRESSEES), Field(description="Who is asked.")]
    note: Annotated[_RequiredNote, Field(description="What is asked for.")]
    due_on: Annotated[Day | None, Field(default=None, description="By when (dd/mm/yyyy or YYYY-MM-DD).")]


_Seen = Annotated[
    _Id | None,
    Field(
        default=None,
        description="Optional: the id of the claim's latest timeline event when the caller decided. If someone else "
        "has moved the claim since, 409 changed_since and nothing is done (the decision was taken on the claim as it "
        "no longer is).",
    ),
]


class ApproveBody(ApiModel):
    seen: _Seen
    note: _Note
    checked: Annotated[
        list[Annotated[str, OneOf(reasons.REVIEW)]],
        Field(
            default_factory=list,
            max_length=len(reasons.REVIEW),
            description="The review reason codes the caller checked before approving (the claim's `reasons`). A claim "
            "being checked (verifying, needs_review) is approved only when every code it needs checked is listed; "
            "otherwise 422 on this field, naming them. Settled already, so not needed: the bank details' codes once "
            "the details can be paid (or the claim is paid in cash), the duplicates' once the group is decided.",
        ),
    ]


class RejectBody(ApiModel):
    seen: _Seen
    reason_code: Annotated[str, OneOf(review.refusal_reasons()), Field(description="Why, as a refusal reason code.")]
    reason_text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT, pattern=NO_CONTROL),
        Field(description="The reason in the caseworker's words (printed on the notice)."),
        CONTROL_MSG,
        BLANK_IS_MISSING,
        WORDLESS_IS_BLANK,
        COMPOSED,
    ]


class DeclineBody(ApiModel):
    seen: _Seen
    note: Annotated[
        _RequiredNote,
        Field(description="How the person told the office they decline the support (their request and its date)."),
    ]


class ResolveDuplicateBody(ApiModel):
    keep: Annotated[_Id, Field(description="The claim of the group that is kept.")]
    override: Annotated[bool, Field(default=False, description="Keep a claim the rules would not (needs a note).")]
    note: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DUPLICATE_NOTE, pattern=NO_CONTROL)]
        | None,
        BLANK_IS_ABSENT,
        Field(default=None, description="Required with override."),
        CONTROL_MSG,
        COMPOSED,
    ]

    def problems(self) -> dict[str, tuple[str, str]]:
        if self.override and self.note is None:
            return {"note": ("Trường này là bắt buộc.", "This field is required.")}
        return {}


class NoticeBatchBody(ApiModel):
    district: Annotated[_DISTRICT, Field(description="The district (3 digits)."), _DISTRICT_MSG]
    date: Annotated[
        Day,
        Field(description="The day of the refusals (Vietnam time), dd/mm/yyyy or YYYY-MM-DD; today at the latest."),
    ]
    program: ProgramCode

    def problems(self) -> dict[str, tuple[str, str]]:
        # A later day has no refusals: its job could never find one. The refusals are dated when they were recorded
        # (Vietnam's calendar), not by the programme's clock, which a rehearsal may set to another day.
        today = datetime.now(VIETNAM_TZ).date()
        if self.date > today:
            return {
                "date": (
                    f"Ngày {dmy(self.date)} chưa đến (hôm nay là {dmy(today)}): chưa có hồ sơ nào bị từ chối ngày đó.",
                    f"{dmy(self.date)} has not come yet (today is {dmy(today)}): nothing was refused on that day.",
                )
            }
        return {}


class ClaimSummary(ResponseModel):
    id: int
    state: str
    assigned_to_id: int | None
    assigned_at: str | None = Field(description="ISO 8601 timestamp.")


class ActionResponse(ResponseModel):
    changed: bool = Field(description="false when the claim was already as asked (nothing recorded).")
    claim: ClaimSummary
    event_ids: list[int]


class AssignNextResponse(ResponseModel):
    claims: list[ClaimSummary]
    count: int


class QueueRow(ResponseModel):
    id: int
    state: str
    track: str
    si_code: str
    full_name: str
    unit_code: str | None
    district_code: str
    amount_vnd: int
    reasons: list[Reason]
    refused_for: list[Reason] = Field(
        description="A refused claim's refusal reasons (its latest refusal: what the notice gives); empty otherwise."
    )
    assigned_to_id: int | None = Field(description="null for employers.")
    assigned_at: str | None
    updated_at: str | None
    received_on: str | None


class ClaimsPage(ResponseModel):
    claims: list[QueueRow]
    next_after: int | str | None = Field(
        description="Pass as ?after= for the next page, with the same sort; null on the last. In id order a claim's "
        "id; in another order the order and the id (e.g. -amount.41)."
    )
    sort: str = Field(description="The order of the page (the sort asked for, id by default).")
    limit: int


class UserRef(ResponseModel):
    id: int
    email: str
    full_name: str
    role: str


class Person(ResponseModel):
    si_code: str
    national_id: str
    full_name: str
    date_of_birth: str | None
    gender: str | None
    phone: str | None
    address: str | None
    district_code: str | None
    possible_duplicate: bool


class UnitRef(ResponseModel):
    unit_code: str
    name: str
    district_code: str


class DuplicateRef(ResponseModel):
    id: int
    si_code: str
    state: str
    district_code: str


class TimelineEvent(ResponseModel):
    id: int
    at: str | None
    action: str
    from_state: str | None
    to_state: str
    actor: UserRef | None = Field(description="null for employers.")
    reason: str | None = Field(
        description="The system's own words (a payment's failure, why a claim went to a caseworker or verification "
        "refused it) in the caller's language (Accept-Language); a person's words as written."
    )
    data: dict[str, Any] | None


class ClaimDetail(ResponseModel):
    id: int
    state: str
    track: str
    support_group: str
    unused_months: int
    amount_vnd: int
    payout: str
    bank_code: str | None
    bank_account: str | None
    reasons: list[Reason]
    district_code: str
    province_code: str | None
    review_due_on: str | None
    payment_due_on: str | None
    confirmed_on: str | None
    applied_on: str | None
    paid_at: str | None
    payment_failures: int = Field(description="Failures of the payment details (towards the cash offer).")
    bank_failures: int = Field(description="Failures on the bank's side (paid again after a wait; not counted above).")
    retry_after: str | None = Field(description="While approved after a bank-side failure: not paid again before this.")
    assigned_to: UserRef | None = Field(description="null for employers.")
    assigned_at: str | None
    created_at: str | None
    updated_at: str | None
    person: Person
    employer: UnitRef | None
    duplicates: list[DuplicateRef]
    timeline: list[TimelineEvent]


class NoticeBatchJob(ResponseModel):
    job_id: int
    kind: str
    state: str


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _program_id(code: str | None) -> int:
    code = code or current_app.config["DISBURSE_PROGRAM"]
    try:
        return get_program(code).id
    except ProgramNotFound:
        raise ProgramUnknown(code) from None


def _claim_summary(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "state": claim.state,
        "assigned_to_id": claim.assigned_to_id,
        "assigned_at": claim.assigned_at.isoformat() if claim.assigned_at else None,
    }


def done(result: ActionResult) -> ResponseReturnValue:
    db.session.commit()
    return jsonify(
        {"changed": result.changed, "claim": _claim_summary(result.claim), "event_ids": [e.id for e in result.events]}
    )


_TAG = "Review"
_SCOPE_404 = "Unknown claim, or outside the caller's scope (the same answer)."
#: Every conflict code of the actions (:mod:`~disburse.verification.review`), with what it means.
CONFLICTS = {
    "invalid_state": "the claim's state does not allow the action (the message names it)",
    "no_casework": "the claim waits for the unit or the system (listed, approved, on its way to the bank)",
    "assigned_to_another": "another caseworker holds the claim",
    "changed_since": "someone else moved the claim after the timeline event given in seen",
    "duplicates_undecided": "another claim of its duplicate group is not refused and the group is not decided",
    "bank_details_invalid": "paid by bank transfer, and its bank details cannot be paid",
    "payment_period_ended": "the programme's last payable day has passed",
    "already_rejected": "the claim is refused already, for another reason",
    "no_duplicates": "the claim has no possible duplicate",
    "outside_scope": "some claims of the group are outside the caller's scope (a supervisor must decide)",
    "money_on_its_way": "another claim of the group is being paid or paid: keep that one",
}


def action(
    summary: str,
    body: type[ApiModel],
    *conflicts: str,
    invalid: str = "",
    meanings: Mapping[str, str] = CONFLICTS,
    forbidden: str = "The employer role, on every action.",
) -> Any:
    """The declaration of a claim action (:func:`endpoint`): its body, the :class:`ActionResponse`, and its errors,
    each 409 code said with its meaning (``meanings``: another feature's actions on a claim add their own codes)."""
    errors = {
        403: forbidden,
        404: _SCOPE_404,
        409: "; ".join(f"{code}: {meanings[code]}" for code in conflicts) + ".",
    }
    if invalid:
        errors[422] = invalid
    return endpoint(tag=_TAG, summary=summary, body=body, response=ActionResponse, errors=errors)


# ------------------------------------------------------------------------------------------------------- reads


@bp.get("/claims")
@roles_required(*ROLES)
@endpoint(
    tag=_TAG,
    summary="The review queue: claims in the caller's scope, filtered, by keyset pages",
    query=ClaimsQuery,
    response=ClaimsPage,
    errors={
        404: "program_not_found: an unknown program; not_found: a district that does not exist or is outside the "
        "caller's scope (caseworkers, supervisors and admins; as /progress and assign-next answer it), or a unit "
        "(employer) that does not exist or is outside it (every role)."
    },
)
def list_claims(query: ClaimsQuery) -> ResponseReturnValue:
    program_id = _program_id(query.program)
    sort = query.sort or "id"
    after = _after(sort, query.after)  # a cursor of another order: a 422, before any look-up
    if query.district is not None and _user().role in ACTING_ROLES:
        # A district the caller may not see is not an empty queue: the same 404 as one that does not exist. (An
        # employer's filter keeps its own unit's claims handled there: its scope is the unit, not a district.)
        review.visible_district(_user(), query.district)
    if query.employer is not None and visible_unit(_user(), query.employer) is None:
        # Nor is a unit the caller may not see (an employer's scope is its own unit): the same 404 as one that does
        # not exist, which an empty list told apart.
        raise review.NotFound()
    queue = QueueQuery(
        program_id=program_id,
        state=query.state,
        district=query.district,
        employer=query.employer,
        reason=query.reason,
        assigned=query.assigned,
        offered=bool(query.offered),
        after=after,
        limit=query.limit or DEFAULT_PAGE,
        sort=sort,
    )
    page = review.list_claims(_user(), queue)
    following = None if page.next_after is None else _cursor_of(sort, page.next_after)
    return jsonify({"claims": page.rows, "next_after": following, "sort": sort, "limit": queue.limit})


@bp.get("/claims/<int:claim_id>")
@roles_required(*ROLES)
@endpoint(
    tag=_TAG,
    summary="One claim: the person, the unit, possible duplicates and the whole timeline",
    response=ClaimDetail,
    errors={404: _SCOPE_404},
)
def claim_detail(claim_id: int) -> ResponseReturnValue:
    detail = review.claim_detail(claim_id, _user())
    for event in detail["timeline"]:
        event["reason"] = review.event_reason(event, lambda words: message(*words))
    return jsonify(detail)


@bp.get("/claims/<int:claim_id>/notice")
@roles_required(*ROLES)
@endpoint(
    tag="Notices",
    summary="The written notice of a refused claim (printable HTML, A4, in Vietnamese)",
    media_type="text/html",
    errors={404: _SCOPE_404, 409: "not_rejected: the claim is not refused."},
)
def claim_notice(claim_id: int) -> ResponseReturnValue:
    user = _user()
    html = notices.notice_html(
        claim_id, user, url_for("static", filename=notices.STYLESHEET), back=_way_back(claim_id, user)
    )
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _way_back(claim_id: int, user: User) -> notices.WayBack | None:
    """Back to the case (staff) or to the unit's page (its employer), in the interface's language."""
    label = _("Quay lại")
    if user.role in ACTING_ROLES:
        href = url_for("caseworker.case", claim_id=claim_id)
        words = _("Quay lại hồ sơ số %(id)s", id=claim_id)
    else:
        unit = db.session.get(Employer, user.employer_id) if user.employer_id is not None else None
        if unit is None:
            return None
        href = url_for("employers.status", unit_code=unit.unit_code)
        words = _("Quay lại trang tình trạng chi trả của đơn vị")
    return notices.WayBack(href=href, words=words, label=label, lang=str(get_locale() or "vi"))


# ----------------------------------------------------------------------------------------------------- actions


@bp.post("/claims/assign-next")
@roles_required(*ACTING_ROLES)
@endpoint(
    tag=_TAG,
    summary="Take the next unassigned claims in needs_review of the caller's district",
    body=AssignNextBody,
    response=AssignNextResponse,
    errors={403: "The employer role.", 404: "program_not_found, or a district outside the caller's scope."},
)
def assign_next(body: AssignNextBody) -> ResponseReturnValue:
    taken = review.assign_next(_user(), _program_id(body.program), body.count, body.district)
    db.session.commit()
    return jsonify({"claims": [_claim_summary(claim) for claim in taken], "count": len(taken)})


@bp.post("/claims/<int:claim_id>/assign")
@roles_required(*ACTING_ROLES)
@action(
    "Take a claim, or give it to another user",
    AssignBody,
    "no_casework",
    "invalid_state",
    "assigned_to_another",
    invalid="Also fields.user_id: a caseworker giving the claim to another, or not an active caseworker, supervisor "
    "or admin whose scope includes the claim.",
)
def assign(claim_id: int, body: AssignBody) -> ResponseReturnValue:
    return done(review.assign(claim_id, _user(), body.user_id))


@bp.post("/claims/<int:claim_id>/release")
@roles_required(*ACTING_ROLES)
@action("Hand a claim back to the queue", EmptyBody, "no_casework", "invalid_state", "assigned_to_another")
def release(claim_id: int, body: EmptyBody) -> ResponseReturnValue:
    return done(review.release(claim_id, _user()))


@bp.post("/claims/<int:claim_id>/contacts")
@roles_required(*ACTING_ROLES)
@action("Log a contact attempt", ContactBody, "assigned_to_another")
def log_contact(claim_id: int, body: ContactBody) -> ResponseReturnValue:
    return done(review.log_contact(claim_id, _user(), body.channel, body.outcome, body.note))


@bp.post("/claims/<int:claim_id>/information-requests")
@roles_required(*ACTING_ROLES)
@action(
    "Record a request for information",
    InformationRequestBody,
    "no_casework",
    "invalid_state",
    "assigned_to_another",
    invalid="Also fields.due_on: a day before today (the programme's clock) or after the programme's last payable day.",
)
def request_info(claim_id: int, body: InformationRequestBody) -> ResponseReturnValue:
    return done(review.request_info(claim_id, _user(), body.addressee, body.note, body.due_on))


@bp.post("/claims/<int:claim_id>/approve")
@roles_required(*ACTING_ROLES)
@action(
    "Approve a claim",
    ApproveBody,
    "invalid_state",
    "assigned_to_another",
    "changed_since",
    "duplicates_undecided",
    "bank_details_invalid",
    "payment_period_ended",
    invalid="Also fields.checked: the review reasons the claim needs checked that are not listed.",
)
def approve(claim_id: int, body: ApproveBody) -> ResponseReturnValue:
    return done(review.approve(claim_id, _user(), body.note, checked=body.checked, seen=body.seen))


@bp.post("/claims/<int:claim_id>/reject")
@roles_required(*ACTING_ROLES)
@action(
    "Refuse a claim with a reason (then print its notice)",
    RejectBody,
    "invalid_state",
    "assigned_to_another",
    "changed_since",
    "already_rejected",
    invalid="Also fields.reason_text: under 15 characters for other; fields.reason_code: payment_period_ended "
    "before the last payable day.",
)
def reject(claim_id: int, body: RejectBody) -> ResponseReturnValue:
    return done(review.reject(claim_id, _user(), body.reason_code, body.reason_text, seen=body.seen))


@bp.post("/claims/<int:claim_id>/decline")
@roles_required(*ACTING_ROLES)
@action(
    "Record that the person declines the support (final: the claim is never paid)",
    DeclineBody,
    "invalid_state",
    "assigned_to_another",
    "changed_since",
)
def decline(claim_id: int, body: DeclineBody) -> ResponseReturnValue:
    return done(review.record_decline(claim_id, _user(), body.note, seen=body.seen))


@bp.post("/claims/<int:claim_id>/resolve-duplicate")
@roles_required(*ACTING_ROLES)
@action(
    "Decide a possible duplicate: keep one claim of the group",
    ResolveDuplicateBody,
    "no_duplicates",
    "outside_scope",
    "invalid_state",
    "assigned_to_another",
    "money_on_its_way",
    "bank_details_invalid",
    "payment_period_ended",
    invalid="Also fields.keep: not one of the claims of the group the caller sees; fields.note: an override "
    "without one.",
)
def resolve_duplicate(claim_id: int, body: ResolveDuplicateBody) -> ResponseReturnValue:
    return done(review.resolve_duplicate(claim_id, _user(), body.keep, override=body.override, note=body.note))


# ----------------------------------------------------------------------------------------------------- notices


@bp.post("/notices/batches")
@roles_required(*ACTING_ROLES)
@endpoint(
    tag="Notices",
    summary="Write every refusal notice of a district on a day into one printable file (a background job)",
    body=NoticeBatchBody,
    response=NoticeBatchJob,
    status=202,
    errors={
        403: "The employer role.",
        404: "Unknown district or outside the caller's scope; program_not_found.",
        422: "Also fields.date: a day after today in Vietnam (refusals are dated by the real calendar); before 2000.",
    },
)
def notice_batch(body: NoticeBatchBody) -> ResponseReturnValue:
    job = notices.start_district_day(_user(), _program_id(body.program), body.district, body.date)
    db.session.commit()
    answer = jsonify({"job_id": job.id, "kind": job.kind, "state": job.state})
    answer.headers["Location"] = f"/jobs/{job.id}.json"  # where to follow it (the same token)
    return answer, 202
