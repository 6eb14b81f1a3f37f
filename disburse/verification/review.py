"""The caseworkers' review queue: list and filter the claims in the caller's scope, show one with its whole timeline,
and act on it (assign, release, log a contact attempt, request information, approve, reject, resolve a duplicate).

Every action is either a state change through :func:`disburse.claims.service.transition` (approve, reject) or a
:class:`~disburse.claims.states.ClaimNote` event that keeps the state (assign, release, contact, request_info,
resolve_duplicate), always with the acting user. The claim's row is locked ``FOR UPDATE`` first, so two people acting
on one claim take turns and the second sees what the first left.

Scope: a claim belongs to its district (``claims.district_code``, where it is worked), that district's province and
its unit (``claims.employer_id``). Who sees it is decided by :func:`disburse.auth.scopes.can_see` for one claim and by
:func:`scope_clause`, the same rule as SQL, for lists (a test holds the two together). A claim outside the caller's
scope and an unknown id raise the same :class:`NotFound`.

Services flush and never commit: the view that called them commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    and_,
    cast,
    false,
    func,
    or_,
    select,
    text,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute

from disburse.auth.models import User
from disburse.auth.scopes import Scope, can_see
from disburse.claims import person_details
from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import is_bank_account
from disburse.claims.states import (
    CLOSED_STATES,
    STATE_LABELS,
    TERMINAL_STATES,
    TRANSITIONS,
    ClaimAction,
    ClaimNote,
    ClaimState,
    InvalidClaimTransition,
    allowed_actions,
)
from disburse.claims.support import reason_entries, refusal_entries
from disburse.extensions import db
from disburse.formatting import VIETNAMESE_SQL_TRANSLATIONS, dmy
from disburse.payments import reasons as payment_reasons
from disburse.payments import service as payments
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.reference.models import District
from disburse.registry.models import Employee, Employer, unit_by_code
from disburse.verification import reasons

#: Roles that may act on a claim; employers may only read their unit's claims.
ACTING_ROLES = ("caseworker", "supervisor", "admin")
#: Roles that may take over or hand on a case someone else holds.
SUPERVISING_ROLES = ("supervisor", "admin")

#: The largest page of the queue, and the most claims one "assign the next N to me" takes.
MAX_PAGE = 200
DEFAULT_PAGE = 50
MAX_ASSIGN_NEXT = 50
#: Claim ids are BIGINT: a larger number in a URL or a parameter can name no claim.
MAX_ID = 2**63 - 1

#: Contact attempts: channel and outcome codes → (Vietnamese, English) labels.
CONTACT_CHANNELS: dict[str, tuple[str, str]] = {
    "phone": ("Gọi điện thoại", "Phone call"),
    "sms": ("Tin nhắn SMS", "SMS"),
    "commune_notice": ("Thông báo qua UBND xã/phường", "Notice through the commune"),
    "home_visit": ("Đến tận nhà", "Home visit"),
}
CONTACT_OUTCOMES: dict[str, tuple[str, str]] = {
    "reached": ("Đã liên hệ được", "Reached"),
    "no_answer": ("Không liên hệ được", "No answer"),
    "message_left": ("Đã để lại lời nhắn hoặc giấy báo", "Message or notice left"),
    "wrong_contact_details": ("Sai số điện thoại hoặc địa chỉ", "Wrong phone number or address"),
}
#: Who is asked for information.
INFO_ADDRESSEES: dict[str, tuple[str, str]] = {
    "person": ("Người lao động", "The person"),
    "employer": ("Đơn vị sử dụng lao động", "The employer"),
}

#: A refused duplicate's reason code.
REASON_DUPLICATE = reasons.DUPLICATE
#: Verification's review code, worded here for the notice: after the programme's last payable day a claim not paid is
#: refused for this reason (its review label says that a caseworker must decide).
_PERIOD_ENDED_REFUSAL = (
    "Đã hết thời hạn chi trả của chương trình: khoản hỗ trợ không còn được chi trả sau thời hạn này.",
    "The programme's payment period has ended: the support can no longer be paid after it.",
)

#: The moves a caseworker makes on a case: deciding a claim being checked, and getting a failed payment paid with
#: new details. A state whose moves (:func:`disburse.claims.states.allowed_actions`) include none of them has no
#: casework: the claim waits for the employer or the system (listed, approved, on its way to the bank), or is done.
#: A refusal stays possible from some of those (approved), but is no work to take the claim for.
CASEWORK = frozenset({ClaimAction.APPROVE, ClaimAction.REQUEST_DETAILS, ClaimAction.DETAILS_RECEIVED})
#: While a claim is being checked, what verification found is what a caseworker checks before deciding it; decided,
#: it is history (the timeline keeps it).
CHECKED_STATES = (ClaimState.VERIFYING, ClaimState.NEEDS_REVIEW)
#: What verification found about possible duplicates: settled by the group's decision (:func:`resolve_duplicate`),
#: and while undecided the approval is refused whatever was checked.
DUPLICATES = frozenset(
    {reasons.REASON_POSSIBLE_DUPLICATE, reasons.LISTED_TWICE, reasons.BOTH_TRACKS, reasons.NEAR_DUPLICATE}
)
#: What verification found wrong with the bank details: nothing to check once they can be paid (corrected since, or
#: a claim paid in cash at the office), and while they cannot the approval is refused whatever was checked.
BANK_DETAILS = frozenset({reasons.BANK_DETAILS_MISSING, reasons.BANK_DETAILS_MALFORMED})

#: Longest free text: the event's reason column holds 1000 characters; a duplicate's refusal adds its own words.
MAX_TEXT = 1000
MAX_DUPLICATE_NOTE = 700
#: A refusal for ``other`` reasons: its written reason is the whole reason the notice gives, so it must say something
#: (at least this many characters, not counting spaces at its ends), not just "khác".
MIN_OTHER_TEXT = 15


def refusal_reasons() -> dict[str, tuple[str, str]]:
    """The reason codes a refusal may give, with the (Vietnamese, English) plain words a notice prints: the rules'
    exclusion reasons, verification's refusal codes (an application after the deadline) and the codes only a
    caseworker gives (:data:`~disburse.verification.reasons.CASEWORKER_REFUSALS`: ``duplicate``, not employed at the
    unit on the cut-off date, no reserved period, ``other``; and ``payment_period_ended``, given only once the
    programme can no longer pay). Review codes (zero months, possible duplicates…) say what a caseworker must check,
    not why a claim is refused: their words would read wrongly on a notice. The one lookup for rejecting and for
    notices, in the order a form lists them: by code, ``other`` last."""
    codes = sorted(
        reasons.REJECT | reasons.CASEWORKER_REFUSALS | {reasons.PAYMENT_PERIOD_ENDED},
        key=lambda code: (code == reasons.OTHER, code),
    )
    return {
        code: _PERIOD_ENDED_REFUSAL if code == reasons.PAYMENT_PERIOD_ENDED else reasons.label(code) for code in codes
    }


#: Refusal codes that can be true only of one support group (docs/rules.md, section 2): the sector excludes a
#: participating person's unit (group A), and a caseworker's "not employed at the unit on the cut-off date" speaks of
#: a participating person's unit too; the stop window, a pension and the reserved period are a stopped person's
#: (group B).
_GROUP_ONLY = {
    reasons.REASON_EXCLUDED_SECTOR: "A",
    reasons.NOT_EMPLOYED_ON_CUTOFF: "A",
    reasons.REASON_STOPPED_OUTSIDE_WINDOW: "B",
    reasons.REASON_PENSION_DECISION: "B",
    reasons.NO_RESERVED_PERIOD: "B",
}


def refusal_applies(code: str, claim: Claim) -> bool:
    """Whether the refusal ``code`` can be true of ``claim``, whose notice would print it to the person: a reason of
    the other support group (:data:`_GROUP_ONLY`) never is; "Form 04 received after the deadline" only of a Form 04
    (track B) received after the programme's application deadline; "the payment period has ended" only once it has
    (:func:`period_ended`). The others (a duplicate, another reason written out) may be true of any claim."""
    group = _GROUP_ONLY.get(code)
    if group is not None:
        return claim.support_group == group
    if code == reasons.APPLIED_AFTER_DEADLINE:
        return (
            claim.track == "B"
            and claim.applied_on is not None
            and claim.applied_on > _program(claim).application_deadline
        )
    if code == reasons.PAYMENT_PERIOD_ENDED:
        return period_ended(claim) is not None
    return True


# ------------------------------------------------------------------------------------------------------ errors


class ReviewError(Exception):
    """An action or a look-up that cannot be carried out; ``status``, a stable ``code`` and the message in both
    languages, with per-field messages for invalid input."""

    status = 409
    code = "conflict"

    def __init__(
        self, vi: str, en: str, *, code: str | None = None, fields: dict[str, tuple[str, str]] | None = None
    ) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en
        if code is not None:
            self.code = code
        self.fields = fields or {}


class NotFound(ReviewError):
    """No such claim, or not in the caller's scope (the same answer: no existence oracle)."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__("Không tìm thấy.", "Not found.")


class Forbidden(ReviewError):
    status = 403
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__("Bạn không có quyền xem hoặc sửa mục này.", "You are not allowed to see or change this.")


class Invalid(ReviewError):
    status = 422
    code = "invalid"

    def __init__(self, fields: dict[str, tuple[str, str]]) -> None:
        super().__init__(
            "Dữ liệu chưa đúng; xem từng trường.", "Some fields are not valid; see each field.", fields=fields
        )


class Conflict(ReviewError):
    status = 409


def _state_label(state: str) -> tuple[str, str]:
    return STATE_LABELS[ClaimState(state)]


def has_casework(state: ClaimState | str) -> bool:
    """Whether a claim in ``state`` has work for a caseworker (:data:`CASEWORK`): it may be taken, and information
    asked for it."""
    return not CASEWORK.isdisjoint(allowed_actions(state))


def _no_casework(claim: Claim, what_vi: str, what_en: str, then_vi: str, then_en: str) -> Conflict:
    """The refusal to take a claim, or to ask information for it, that has no casework (:func:`has_casework`): a
    closed one as any action its state refuses (``invalid_state``, with ``what``), another with ``no_casework`` and
    what follows (``then``)."""
    if claim.state in CLOSED_STATES:
        return _invalid_state(claim, what_vi, what_en)
    vi, en = _state_label(claim.state)
    return Conflict(
        f"Hồ sơ đang ở trạng thái “{vi}”: không còn việc gì cho cán bộ nghiệp vụ, {then_vi}.",
        f"The claim is “{en}”: there is nothing left for a caseworker to do on it, {then_en}.",
        code="no_casework",
    )


def to_check(claim: Claim, settled: frozenset[str] = frozenset()) -> list[dict[str, str]]:
    """What verification found that a caseworker must check before approving, while the claim is being checked
    (:data:`CHECKED_STATES`): each reason's ``code``, ``label_vi`` and ``label_en``; without ``settled`` (what the
    approval itself settles, or what the caller found settled: the duplicates, the group asked already) and without
    what is settled already: what was found wrong with the bank details once they can be paid (:func:`bank_problem`,
    :data:`BANK_DETAILS`), and possible duplicates once the group is decided (:func:`undecided_duplicates`,
    :data:`DUPLICATES`)."""
    if ClaimState(claim.state) not in CHECKED_STATES:
        return []
    if bank_problem(claim) is None:
        settled = settled | BANK_DETAILS
    if not (DUPLICATES - settled).isdisjoint(claim.reasons or ()) and undecided_duplicates(claim) is None:
        settled = settled | DUPLICATES
    other_si_codes: list[str] = []
    if reasons.REASON_POSSIBLE_DUPLICATE in (claim.reasons or ()) and not _duplicates(claim):
        # The person's other SI code has no claim: no group to decide, and the approval is the check (the person's
        # months may be split across the two records), so it stays to check, naming the other records.
        settled = settled - {reasons.REASON_POSSIBLE_DUPLICATE}
        other_si_codes = _other_si_codes(claim)
    entries = [entry for entry in reason_entries(list(claim.reasons or ())) if entry["code"] not in settled]
    for entry in entries:
        if entry["code"] == reasons.REASON_POSSIBLE_DUPLICATE and other_si_codes:
            entry["label_vi"] += f" Mã số BHXH khác trong cơ sở dữ liệu: {', '.join(other_si_codes)}."
            entry["label_en"] += f" The other SI code in the registry: {', '.join(other_si_codes)}."
    return entries


def _other_si_codes(claim: Claim) -> list[str]:
    """The SI codes the registry holds under the claim's person's national ID, other than the claim's own (the same
    person's other records: what a caseworker looks up to check a ``possible_duplicate``)."""
    national_id = select(Employee.national_id).where(Employee.id == claim.employee_id).scalar_subquery()
    return list(
        db.session.scalars(
            select(Employee.si_code)
            .where(Employee.national_id == national_id, Employee.id != claim.employee_id)
            .order_by(Employee.si_code)
            .limit(10)
        )
    )


def _checked_or_refuse(claim: Claim, checked: Collection[str], settled: frozenset[str] = frozenset()) -> list[str]:
    """The codes of what the claim needs checked (:func:`to_check`, but ``settled``), every one of which the caller
    must say it checked (``checked``); :class:`Invalid` naming those it did not."""
    needed = to_check(claim, settled)
    missing = [entry for entry in needed if entry["code"] not in checked]
    if missing:
        labels_vi = " ".join(entry["label_vi"] for entry in missing)
        labels_en = " ".join(entry["label_en"] for entry in missing)
        raise Invalid(
            {
                "checked": (
                    f"Hãy kiểm tra và xác nhận đã kiểm tra các nội dung sau trước khi duyệt. {labels_vi}",
                    f"Check the following, and confirm that you checked it, before approving. {labels_en}",
                )
            }
        )
    return [entry["code"] for entry in needed]


def _invalid_state(claim: Claim, what_vi: str, what_en: str) -> Conflict:
    vi, en = _state_label(claim.state)
    return Conflict(
        f"Không thể {what_vi} hồ sơ đang ở trạng thái “{vi}”.",
        f"A claim in the state “{en}” cannot be {what_en}.",
        code="invalid_state",
    )


# ------------------------------------------------------------------------------------------------------- scope


def claim_scope(claim: Claim) -> Scope:
    """Where a claim belongs: its unit, the district that works it and that district's province."""
    province = db.session.scalar(select(District.province_code).where(District.code == claim.district_code))
    return Scope(
        employer_ids=[claim.employer_id] if claim.employer_id is not None else [],
        district_codes=[claim.district_code],
        province_codes=[province] if province is not None else [],
    )


def scope_clause(user: User) -> ColumnElement[bool]:
    """:func:`~disburse.auth.scopes.can_see` over :func:`claim_scope` as a condition on ``claims``, for lists."""
    if user.role == "admin" or (user.role == "supervisor" and user.province_code is None):
        return true()
    if user.role == "supervisor":
        return Claim.district_code.in_(select(District.code).where(District.province_code == user.province_code))
    if user.role == "caseworker" and user.district_code is not None:
        return Claim.district_code == user.district_code
    if user.role == "employer" and user.employer_id is not None:
        return Claim.employer_id == user.employer_id
    return false()


def visible_claim(claim_id: int, user: User, *, lock: bool = False) -> Claim:
    """The claim if the user may see it (locked ``FOR UPDATE`` with ``lock``); :class:`NotFound` otherwise."""
    if not 0 < claim_id <= MAX_ID:
        raise NotFound()
    claim = claims.get_claim_for_update(claim_id) if lock else claims.get_claim(claim_id)
    if claim is None or not can_see(user, claim_scope(claim)):
        raise NotFound()
    return claim


def _may_act(user: User) -> None:
    if user.role not in ACTING_ROLES:
        raise Forbidden()


def may_work(claim: Claim, user: User) -> None:
    """:class:`Forbidden` or :class:`Conflict` unless ``user`` may work on ``claim`` now (see :func:`_may_work`)."""
    _may_work(claim, user)


def _may_work(claim: Claim, user: User) -> None:
    """Only the caseworker holding a case works it; an unassigned case is anyone's in scope; supervisors and admins
    may always act."""
    _may_act(user)
    if claim.assigned_to_id not in (None, user.id) and user.role not in SUPERVISING_ROLES:
        raise Conflict(
            "Hồ sơ đang do một cán bộ khác xử lý; đề nghị người đó trả lại hoặc lãnh đạo giao lại.",
            "Another caseworker holds this claim; ask them to release it or a supervisor to reassign it.",
            code="assigned_to_another",
        )


# ----------------------------------------------------------------------------------------------------- results


@dataclass
class ActionResult:
    """What an action did: the claim as it now is, whether anything changed, and the events written."""

    claim: Claim
    changed: bool
    events: list[ClaimEvent] = field(default_factory=list)
    #: An action found done already: the event that did it (an information request made before, say).
    found: ClaimEvent | None = None


def _note(claim: Claim, action: ClaimNote, user: User, data: dict[str, Any], reason: str | None = None) -> ClaimEvent:
    """Record work that keeps the state (from_state = to_state), through the claims' service."""
    return claims.note(claim, action, user, reason=reason, data=data)


def _now() -> datetime:
    return datetime.now(UTC)


def last_event_id(claim_id: int) -> int | None:
    """The claim's latest event, as a page shows it: a form carries it (``seen``) so that its post can tell itself
    sent again from new work."""
    return db.session.scalar(select(func.max(ClaimEvent.id)).where(ClaimEvent.claim_id == claim_id))


def _repeated(claim: Claim, action: ClaimNote, user: User, data: dict[str, Any], seen: int | None) -> bool:
    """Whether the one event written on ``claim`` since ``seen`` is this very note by ``user``: the same form posted
    again (a double click, a page sent again), which must not record the work twice. The caller holds the claim's
    lock, so a first post still being written has committed, or not started."""
    if seen is None:
        return False
    since = list(db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.id > seen)))
    return (
        len(since) == 1
        and since[0].action == action.value
        and since[0].actor_id == user.id
        and all((since[0].data or {}).get(key) == value for key, value in data.items())
    )


def decided_on_what_is(claim: Claim, seen: int | None, action: ClaimAction, user: User) -> None:
    """:class:`Conflict` when the claim changed state since ``seen`` (its latest event when the caller's page was
    shown), except by this very decision of ``user`` (the same form posted again, which then finds it done): a
    decision taken on a claim as it no longer is (a refusal typed while a colleague approved it) must not undo what
    happened meanwhile. The caller holds the claim's lock."""
    if seen is None:
        return
    moves = db.session.scalars(
        select(ClaimEvent).where(
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.id > seen,
            ClaimEvent.from_state.is_distinct_from(ClaimEvent.to_state),
        )
    )
    if any(not (event.action == action.value and event.actor_id == user.id) for event in moves):
        vi, en = _state_label(claim.state)
        raise Conflict(
            f"Hồ sơ vừa thay đổi sau khi bạn mở trang (nay đang “{vi}”); hãy xem lại hồ sơ trước khi quyết định.",
            f"The claim has changed since you opened the page (it is now “{en}”); look at it again before deciding.",
            code="changed_since",
        )


#: What a ``correct`` note changes that is the claim's bank details (a phone's correction is not).
_BANK_FIELDS = ("bank_code", "bank_account", "payout")


def details_as_seen(claim: Claim, seen: int | None, user: User) -> None:
    """:class:`Conflict` when, since ``seen`` (the claim's latest event when the caller's page was shown), someone
    else changed the claim's bank details (a colleague's correction, the unit's Form 03, the person's) or its state (a
    payment's outcome): new details typed against the old ones would overwrite theirs unseen. The caller's own
    events (the same form posted again) do not count. The caller holds the claim's lock."""
    if seen is None:
        return
    changed = db.session.scalar(
        select(ClaimEvent.id)
        .where(
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.id > seen,
            or_(
                ClaimEvent.from_state.is_distinct_from(ClaimEvent.to_state),
                and_(
                    ClaimEvent.action == ClaimNote.CORRECT.value,
                    or_(
                        ClaimEvent.data["field"].astext == "payout",  # cash offered: the payout changed
                        *(ClaimEvent.data["changes"].has_key(name) for name in _BANK_FIELDS),
                    ),
                ),
            ),
            ClaimEvent.actor_id.is_distinct_from(user.id),
        )
        .limit(1)
    )
    if changed is not None:
        account = f"{claim.bank_code} {claim.bank_account}" if claim.bank_account else "—"
        raise Conflict(
            f"Hồ sơ vừa thay đổi sau khi bạn mở trang (tài khoản nay là {account}); hãy xem lại rồi lưu nếu vẫn "
            "cần sửa.",
            f"The claim has changed since you opened the page (its account is now {account}); look again, then save "
            "if it still needs correcting.",
            code="changed_since",
        )


# ------------------------------------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters; None means "any". ``assigned`` is ``"me"``, ``"none"`` or a user id; ``received_by``
    keeps the claims received (:func:`received_on`) on or before that day, which is how the pages ask for claims
    at least *n* working days old."""

    program_id: int
    state: str | None = None
    district: str | None = None
    employer: str | None = None
    reason: str | None = None
    assigned: str | int | None = None
    track: str | None = None
    received_by: date | None = None
    #: Only the claims with bank details the person sent on the public page that no one has dealt with yet
    #: (:func:`disburse.claims.person_details.open_offer_clause`).
    offered: bool = False
    after: int = 0
    #: The page before this id (the previous page's link): the ``limit`` claims just before it, still in the order.
    before: int = 0
    limit: int = DEFAULT_PAGE
    #: One of :data:`QUEUE_SORTS`; a "-" before it reads that order backwards.
    sort: str = "id"


#: The queue's orders, each by its keys and then the claim's id (ties, and the keyset's last column): the claim's
#: number; the day received (:func:`received_on`: waiting longest first, which is also the nearest legal deadline
#: first, the law's clock running from it); the amount; the person's name, the Vietnamese way (given name, then the
#: whole name, in Vietnamese letter order: :func:`vietnamese_order`); the unit's code (Form 04 claims without a unit
#: first).
QUEUE_SORTS = ("id", "received", "amount", "name", "unit")


def vietnamese_order(
    text: ColumnElement[str] | InstrumentedAttribute[str],
) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """``text`` in Vietnamese letter order (ă after a, đ after d, tones in dictionary order) as two keys, its letters
    then its tones, as :func:`disburse.formatting.vietnamese_key` sorts in Python (held to it by the queue's tests).
    Built from ``translate()`` rather than ICU's ``vi`` collation, which a PostgreSQL built without ICU lacks."""
    letters, ranks, tones = VIETNAMESE_SQL_TRANSLATIONS
    return (
        func.translate(text, letters, ranks).collate("C"),
        func.translate(text, letters, tones).collate("C"),
    )


def received_on() -> ColumnElement[date]:
    """The day the office received the claim: its Form 04 (``applied_on``), else the employer's Form 02
    (``confirmed_on``), else the day it was listed, on Vietnam's calendar (as the case page shows it), whatever the
    database session's time zone. The law's clock runs from it, and so does a case's age."""
    listed_on = cast(func.timezone("Asia/Ho_Chi_Minh", Claim.created_at), Date)
    return func.coalesce(Claim.applied_on, Claim.confirmed_on, listed_on)


@dataclass
class QueuePage:
    rows: list[dict[str, Any]]
    #: The ``after`` for the next page, or None on the last page.
    next_after: int | None
    #: The ``before`` for the previous page, or None on the first page.
    previous_before: int | None = None


def _queue_filters(user: User, query: QueueQuery) -> list[ColumnElement[bool]]:
    """The caller's scope and every filter of ``query`` but the keyset (``after``). An employer may not filter by who
    holds a claim (:class:`Invalid`): the rows hide the holder from them, and the filter would tell it, id by id."""
    if query.assigned is not None and user.role not in ACTING_ROLES:
        raise Invalid(
            {
                "assigned": (
                    "Đơn vị không lọc được theo cán bộ xử lý hồ sơ.",
                    "Employers cannot filter claims by who holds them at the office.",
                )
            }
        )
    filters: list[ColumnElement[bool]] = [Claim.program_id == query.program_id, scope_clause(user)]
    if query.state is not None:
        filters.append(Claim.state == query.state)
    if query.district is not None:
        filters.append(Claim.district_code == query.district)
    if query.employer is not None:
        unit = unit_by_code(query.employer)
        filters.append(Claim.employer_id == unit.id if unit is not None else false())
    if query.reason is not None:
        reasons = type_coerce(Claim.reasons, postgresql.ARRAY(String))  # the dialect's ARRAY has @> (contains)
        filters.append(reasons.contains([query.reason]))
    if query.assigned == "me":
        filters.append(Claim.assigned_to_id == user.id)
    elif query.assigned == "none":
        filters.append(Claim.assigned_to_id.is_(None))
    elif isinstance(query.assigned, int):
        filters.append(Claim.assigned_to_id == query.assigned)
    if query.track is not None:
        filters.append(Claim.track == query.track)
    if query.received_by is not None:
        filters.append(received_on() <= query.received_by)
    if query.offered:
        filters.append(person_details.open_offer_clause())
    return filters


@dataclass(frozen=True)
class _Order:
    """A queue order (:data:`QUEUE_SORTS`): its keys before the claim's id, which table they need joined, and its
    direction."""

    keys: tuple[Any, ...]
    person: bool = False
    unit: bool = False
    descending: bool = False

    def joined(self, statement: Any) -> Any:
        """``statement`` (on claims) with the people or units this order's keys read."""
        if self.person:
            statement = statement.join(Employee, Employee.id == Claim.employee_id)
        if self.unit:
            statement = statement.outerjoin(Employer, Employer.id == Claim.employer_id)
        return statement

    def by(self, *, backwards: bool = False) -> list[Any]:
        """The ORDER BY: the keys and the id, in the order's direction (the other way ``backwards``)."""
        down = self.descending != backwards
        return [column.desc() if down else column for column in (*self.keys, Claim.id)]

    def beyond(self, claim_id: int, user: User, *, backwards: bool = False) -> ColumnElement[bool]:
        """The claims after claim ``claim_id`` in this order (before it ``backwards``): a keyset on (keys, id). The
        cursor in the URL stays a claim id; its keys are read again here (one look-up by primary key), so a page
        goes on from where that claim is now. An id that names no claim, or one outside ``user``'s scope (whose
        amount or name the page would otherwise be compared with), leaves nothing beyond it."""
        down = self.descending != backwards
        if not self.keys:
            return Claim.id < claim_id if down else Claim.id > claim_id
        anchor = db.session.execute(
            self.joined(select(*self.keys).select_from(Claim).where(Claim.id == claim_id, scope_clause(user)))
        ).one_or_none()
        if anchor is None:
            return false()
        here, there = tuple_(*self.keys, Claim.id), tuple_(*anchor, claim_id)
        return here < there if down else here > there


def queue_order(sort: str) -> _Order:
    """The order ``sort`` names (:data:`QUEUE_SORTS`, "-" before it for backwards); :class:`Invalid` for another."""
    name = sort.removeprefix("-")
    descending = sort.startswith("-")
    if name == "id":
        return _Order((), descending=descending)
    if name == "received":
        return _Order((received_on(),), descending=descending)
    if name == "amount":
        return _Order((Claim.amount_vnd,), descending=descending)
    if name == "name":
        # The given name is the last word; the whole name (family name first) then breaks the tie.
        # (A name of spaces alone has none: "", not NULL, which would stop the keyset's comparison at such a claim.)
        given = func.coalesce(func.substring(Employee.full_name, r"([^[:space:]]+)[[:space:]]*$"), "")
        keys = (*vietnamese_order(given), *vietnamese_order(Employee.full_name))
        return _Order(keys, person=True, descending=descending)
    if name == "unit":
        return _Order((func.coalesce(Employer.unit_code, ""),), unit=True, descending=descending)
    raise Invalid({"sort": (f"Không sắp xếp được theo “{sort}”.", f"The queue cannot be sorted by “{sort}”.")})


def queue_statement(user: User, query: QueueQuery) -> Any:
    """The queue as one keyset query: the caller's scope and the filters, the claims after claim ``after`` in the
    order ``query.sort`` (or the page just before ``before``), one row more than a page (to tell whether another
    page follows, or precedes). The page's ids are chosen first, from claims alone (with the people or units a sort
    by name or unit reads), and only they are joined to their people and units: a province's or the nation's
    queue is not in id order in ``ix_claims_queue``, and joining every claim of the state before the sort cost
    1.25 s at 41,000 claims under review (70 ms this way; BENCHMARKS.md, "Pages").

    In id order (the default) ``ix_claims_queue`` (program, state, district, id) serves the usual "a district's
    claims in a state" without sorting, either way. The other orders have no index of their own: PostgreSQL reads
    the filters' claims through the same index and keeps the page's top rows (a top-N sort), which is cheap for a
    district's queue; a sort by name or unit also reads each of those claims' person or unit."""
    order = queue_order(query.sort)
    back = bool(query.before)
    cursor = query.before or query.after
    page = (
        order.joined(select(Claim.id))
        .where(order.beyond(cursor, user, backwards=back) if cursor else true(), *_queue_filters(user, query))
        .order_by(*order.by(backwards=back))  # a page back: the claims just before, read the other way
        .limit(query.limit + 1)
        .subquery()
    )
    return (
        select(Claim, Employee.si_code, Employee.full_name, Employer.unit_code)
        .join(page, page.c.id == Claim.id)
        .join(Employee, Employee.id == Claim.employee_id)
        .outerjoin(Employer, Employer.id == Claim.employer_id)
        .order_by(*order.by())
    )


def reason_counts(user: User, query: QueueQuery) -> tuple[int, dict[str, int]]:
    """How many claims match ``query``, every filter applied but the keyset (the page's total: the claims its pages
    list), and how many carry each reason code with every filter but the reason applied (the queue's counts per
    reason, each a link to that reason's claims). A claim with two reasons counts under each. Read through
    ``ix_claims_queue`` for a district's claims in a state."""
    total = db.session.scalar(select(func.count()).select_from(Claim).where(*_queue_filters(user, query))) or 0
    filters = _queue_filters(user, replace(query, reason=None))
    code = func.unnest(Claim.reasons).label("code")
    codes = select(code).where(*filters).subquery()
    rows = db.session.execute(select(codes.c.code, func.count()).group_by(codes.c.code)).all()
    return int(total), {str(c): int(n) for c, n in rows}


def list_claims(user: User, query: QueueQuery) -> QueuePage:
    """A page of the claims ``user`` may see that match ``query``, by id after ``query.after`` (or just before
    ``query.before``), with the keys of the next and previous pages. Employers do not see who at the office holds a
    claim."""
    found = db.session.execute(queue_statement(user, query)).all()
    more = len(found) > query.limit
    # Going back, the extra row read is the lowest id (the page is read down from ``before``): it tells that another
    # page precedes, and is not shown.
    shown = found[-query.limit :] if query.before and more else found[: query.limit]
    staff = user.role in ACTING_ROLES
    refused = last_refusal_codes([claim.id for claim, *_ in shown if claim.state == ClaimState.REJECTED])
    rows = [
        _queue_row(claim, si_code, name, unit, staff, refused.get(claim.id, [])) for claim, si_code, name, unit in shown
    ]
    if query.before:
        return QueuePage(
            rows=rows,
            next_after=rows[-1]["id"] if rows else None,
            previous_before=rows[0]["id"] if more and rows else None,
        )
    # A page after the first has one before it when a claim of the filters precedes its first row (one probe).
    order = queue_order(query.sort)
    earlier = (
        query.after > 0
        and bool(rows)
        and bool(
            db.session.scalar(
                select(
                    order.joined(select(Claim.id))
                    .where(order.beyond(rows[0]["id"], user, backwards=True), *_queue_filters(user, query))
                    .exists()
                )
            )
        )
    )
    return QueuePage(
        rows=rows,
        next_after=rows[-1]["id"] if more and rows else None,
        previous_before=rows[0]["id"] if earlier else None,
    )


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _queue_row(
    claim: Claim, si_code: str, full_name: str, unit_code: str | None, staff: bool, refused_for: list[str]
) -> dict[str, Any]:
    return {
        "id": claim.id,
        "state": claim.state,
        "track": claim.track,
        "si_code": si_code,
        "full_name": full_name,
        "unit_code": unit_code,
        "district_code": claim.district_code,
        "amount_vnd": claim.amount_vnd,
        "reasons": reason_entries(list(claim.reasons or ())),
        "refused_for": refusal_entries(refused_for),  # as the notice says it, not the review labels
        "assigned_to_id": claim.assigned_to_id if staff else None,
        "assigned_at": _iso(claim.assigned_at) if staff else None,
        "updated_at": _iso(claim.updated_at),
        "received_on": _iso(claim.applied_on or claim.confirmed_on or _vietnam_day(claim.created_at)),
    }


def _vietnam_day(moment: datetime | None) -> date | None:
    return moment.astimezone(VIETNAM_TZ).date() if moment else None


# ------------------------------------------------------------------------------------------------------ detail


def claim_detail(claim_id: int, user: User) -> dict[str, Any]:
    """One claim with the person, the unit, the possible duplicates the caller may see and the whole timeline.

    Employers see their unit's claims without the SSA's internal casework: no contact attempts, no details of the
    work notes, and no staff names."""
    claim = visible_claim(claim_id, user)
    employee = db.session.get(Employee, claim.employee_id)
    assert employee is not None, "claims.employee_id is a foreign key"
    employer = db.session.get(Employer, claim.employer_id) if claim.employer_id is not None else None
    staff = user.role in ACTING_ROLES
    assignee = db.session.get(User, claim.assigned_to_id) if claim.assigned_to_id is not None else None
    scope = claim_scope(claim)
    return {
        "id": claim.id,
        "state": claim.state,
        "track": claim.track,
        "support_group": claim.support_group,
        "unused_months": claim.unused_months,
        "amount_vnd": claim.amount_vnd,
        "payout": claim.payout,
        "bank_code": claim.bank_code,
        "bank_account": claim.bank_account,
        "reasons": reason_entries(list(claim.reasons or ())),
        "district_code": claim.district_code,
        "province_code": next(iter(scope.province_codes), None),
        "review_due_on": _iso(claim.review_due_on),
        "payment_due_on": _iso(claim.payment_due_on),
        "confirmed_on": _iso(claim.confirmed_on),
        "applied_on": _iso(claim.applied_on),
        "paid_at": _iso(claim.paid_at),
        "payment_failures": claim.payment_failures,
        "bank_failures": claim.bank_failures,
        "retry_after": _iso(claim.retry_after),
        "assigned_to": _user_dict(assignee) if staff and assignee is not None else None,
        "assigned_at": _iso(claim.assigned_at) if staff else None,
        "created_at": _iso(claim.created_at),
        "updated_at": _iso(claim.updated_at),
        "person": {
            "si_code": employee.si_code,
            "national_id": employee.national_id,
            "full_name": employee.full_name,
            "date_of_birth": _iso(employee.date_of_birth),
            "gender": employee.gender,
            "phone": employee.phone,
            "address": employee.address,
            "district_code": employee.district_code,
            "possible_duplicate": employee.possible_duplicate,
        },
        "employer": (
            {"unit_code": employer.unit_code, "name": employer.name, "district_code": employer.district_code}
            if employer is not None
            else None
        ),
        "duplicates": [
            {"id": other.id, "si_code": si_code, "state": other.state, "district_code": other.district_code}
            for other, si_code in _duplicates(claim)
            if can_see(user, claim_scope(other))
        ],
        "timeline": timeline(claim.id, user),
    }


def _user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "full_name": user.full_name, "role": user.role}


def timeline(claim_id: int, user: User) -> list[dict[str, Any]]:
    """The claim's events, oldest first, as ``user`` may see them. Employers: contact attempts left out, work notes
    without their details, no actor, and none of the office's own words (:data:`OFFICE_WORDS`) but a refusal's, which
    is the notice's reason. Nobody sees, in an event's data, another claim outside their scope: its id among
    the possible ``duplicates``, nor the claim kept by a duplicate decision (its id and SI code)."""
    staff = user.role in ACTING_ROLES
    rows = db.session.execute(
        select(ClaimEvent, User)
        .outerjoin(User, User.id == ClaimEvent.actor_id)
        .where(ClaimEvent.claim_id == claim_id)
        .order_by(ClaimEvent.id)
    ).all()
    named = {i for event, _ in rows for i in _claims_named(event.data)}
    visible = (
        set(db.session.scalars(select(Claim.id).where(Claim.id.in_(named), scope_clause(user)))) if named else set()
    )
    notes = {note.value for note in ClaimNote}
    events = []
    for event, actor in rows:
        is_note = event.action in notes
        if not staff and event.action == ClaimNote.CONTACT:
            continue
        events.append(
            {
                "id": event.id,
                "at": _iso(event.created_at),
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "actor": _user_dict(actor) if staff and actor is not None else None,
                "reason": event.reason if staff or not (is_note or event.action in OFFICE_WORDS) else None,
                "data": _without_unseen_claims(event.data, visible) if staff or not is_note else None,
            }
        )
    return events


#: The longest reason verification writes (``left(…, 1000)`` in :data:`disburse.verification.checks.FINDINGS`).
FINDINGS_REASON_MOST = 1000


def _system_words(action: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The (Vietnamese, English) words the system writes as the reason of an event like this one, from the codes its
    data keeps: a payment's code (its failure or return, its withdrawal at the programme's end), the reason codes
    of a referral to a caseworker or of a refusal verification made (only those of the referral's or the refusal's
    kind, in code order, as :func:`disburse.verification.reasons.written_reason` and verification write them), and
    a Form 03 removal's words."""
    words: list[tuple[str, str]] = []
    code = data.get("code")
    if isinstance(code, str) and code:
        words.append(payment_reasons.label(code))
    codes = data.get("reasons")
    if action in ("flag_for_review", "reject") and isinstance(codes, list):
        kept = reasons.REJECT if action == "reject" else reasons.REVIEW
        labels = [reasons.label(c) for c in sorted(str(c) for c in codes) if c in kept]
        if labels:
            vi = " ".join(vi for vi, _ in labels)
            words.append((vi[:FINDINGS_REASON_MOST], " ".join(en for _, en in labels)))
    if action == "remove":
        words.append(reasons.REMOVED_ON_FORM_03)
    return words


def event_reason(event: dict[str, Any], say: Callable[[tuple[str, str]], str]) -> str | None:
    """A :func:`timeline` event's reason in the reader's language, ``say`` choosing between (Vietnamese, English)
    (the case page by the user's language, the API by ``Accept-Language``). The system writes its reasons in
    Vietnamese (the notices print them) and keeps their codes in the event's data: a reason that is those codes'
    Vietnamese words is said in the reader's language. A person's words (a caseworker's note or written refusal, a
    unit's reason for a removal) stay as written, even on an event whose data carries a code."""
    reason = event.get("reason")
    data = event.get("data")
    if not reason or not isinstance(data, dict):
        return reason
    for words in _system_words(str(event.get("action")), data):
        if reason == words[0]:
            return say(words)
    return reason


#: Moves whose reason is a caseworker's note for the office (an approval's note, how a person's decline was learnt),
#: not words addressed to the unit: employers see the move without it.
OFFICE_WORDS = frozenset({ClaimAction.APPROVE.value, ClaimAction.DECLINE.value})


#: The keys of an event's data that list other claims: verification's possible duplicates, a duplicate decision's
#: group and the claims it refused.
CLAIM_LISTS = ("duplicates", "group_claim_ids", "refused_claim_ids")


def _claims_named(data: Any) -> set[int]:
    """The claims an event's data names (:data:`CLAIM_LISTS`, and the claim a duplicate decision kept)."""
    if not isinstance(data, dict):
        return set()
    ids = [data.get("kept_claim_id")]
    for key in CLAIM_LISTS:
        ids += data[key] if isinstance(data.get(key), list) else []
    return {i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID}


def _without_unseen_claims(data: Any, visible: set[int]) -> Any:
    """``data`` without the claims the viewer may not see (:func:`_claims_named`): how many there were
    (``claims_out_of_scope``), and that the claim kept is one of them (``kept_out_of_scope``), never which."""
    hidden = _claims_named(data) - visible
    if not hidden:
        return data
    shown = {key: value for key, value in data.items() if key not in CLAIM_LISTS}
    shown.update(
        {key: [i for i in data[key] if i not in hidden] for key in CLAIM_LISTS if isinstance(data.get(key), list)}
    )
    shown["claims_out_of_scope"] = len(hidden)
    if shown.get("kept_claim_id") in hidden:
        del shown["kept_claim_id"]
        shown.pop("kept_si_code", None)
        shown["kept_out_of_scope"] = True
    return shown


def named_duplicates(claim_id: int) -> list[int]:
    """The claims the verification checks named as possible duplicates of this one: ``data.duplicates`` of the
    claim's latest event that carries it (people with the same national ID, or with the same birth date and a
    nearly identical name)."""
    data = db.session.scalar(
        select(ClaimEvent.data)
        .where(ClaimEvent.claim_id == claim_id, ClaimEvent.data.has_key("duplicates"))
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    )
    named = (data or {}).get("duplicates")
    if not isinstance(named, list):
        return []
    return [i for i in named if isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID]


def duplicate_group_statement(claim: Claim) -> Any:
    """The claim's duplicate group, itself included, by id: the program's claims whose person has the claim's
    national ID, and those the verification checks named (:func:`named_duplicates`).

    The members' ids are looked up first, each way through its index (national ID → people → their claims in the
    program; the named ids): one statement with the two conditions OR-ed across claims and people joined the whole
    of both tables, some 3 s at 1.5 million people, on every case page."""
    national_id = select(Employee.national_id).where(Employee.id == claim.employee_id).scalar_subquery()
    same_person = (
        select(Claim.id)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(Claim.program_id == claim.program_id, Employee.national_id == national_id)
    )
    members = {claim.id, *named_duplicates(claim.id), *db.session.scalars(same_person)}
    return (
        select(Claim, Employee.si_code)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(Claim.program_id == claim.program_id, Claim.id.in_(sorted(members)))
        .order_by(Claim.id)
    )


def _duplicates(claim: Claim) -> list[tuple[Claim, str]]:
    """The other claims of the claim's duplicate group, by id."""
    return [
        (other, si) for other, si in db.session.execute(duplicate_group_statement(claim)).all() if other.id != claim.id
    ]


# ------------------------------------------------------------------------------------------------- assignment


def _assignee(user_id: int, claim: Claim) -> User:
    target = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    usable = target is not None and target.active and target.role in ACTING_ROLES
    if target is None or not usable or not can_see(target, claim_scope(claim)):
        raise Invalid(
            {
                "user_id": (
                    "Không giao được cho người dùng này: cần một cán bộ đang hoạt động có phạm vi gồm hồ sơ này.",
                    "Cannot assign to this user: choose an active caseworker, supervisor or admin whose scope "
                    "includes this claim.",
                )
            }
        )
    return target


def assign(claim_id: int, user: User, to_user_id: int | None = None) -> ActionResult:
    """Give the claim to ``to_user_id`` (default: the caller). A caseworker takes cases only for themselves and not
    from someone else; supervisors and admins may give any open case to anyone in scope. Assigning a case to the
    person who already holds it changes nothing."""
    _may_act(user)
    if to_user_id is not None and to_user_id != user.id and user.role not in SUPERVISING_ROLES:
        raise Invalid(
            {
                "user_id": (
                    "Cán bộ nghiệp vụ chỉ nhận hồ sơ cho chính mình; lãnh đạo có thể giao cho người khác.",
                    "Caseworkers take claims only for themselves; a supervisor may assign them to others.",
                )
            }
        )
    claim = visible_claim(claim_id, user, lock=True)
    target = user if to_user_id in (None, user.id) else _assignee(int(to_user_id or 0), claim)
    if claim.assigned_to_id == target.id:
        return ActionResult(claim, changed=False)
    if not has_casework(claim.state):
        raise _no_casework(claim, "giao", "assigned", "không cần nhận xử lý", "so it is not taken")
    _may_work(claim, user)
    previous = claim.assigned_to_id
    claim.assigned_to_id = target.id
    claim.assigned_at = _now()
    event = _note(claim, ClaimNote.ASSIGN, user, {"assigned_to_id": target.id, "previous_assigned_to_id": previous})
    return ActionResult(claim, changed=True, events=[event])


def release(claim_id: int, user: User) -> ActionResult:
    """Give the claim back to the queue. The holder, a supervisor or an admin may; an unassigned claim stays so. A
    claim with no casework (:func:`has_casework`) has no queue to go back to: its holder keeps it, to take it up again
    if the payment fails."""
    _may_act(user)
    claim = visible_claim(claim_id, user, lock=True)
    if claim.assigned_to_id is None:
        return ActionResult(claim, changed=False)
    if not has_casework(claim.state):
        raise _no_casework(claim, "trả lại", "released", "nên không có hàng chờ để trả lại", "so there is no queue")
    _may_work(claim, user)
    previous = claim.assigned_to_id
    claim.assigned_to_id = None
    claim.assigned_at = None
    event = _note(claim, ClaimNote.RELEASE, user, {"released_from_id": previous})
    return ActionResult(claim, changed=True, events=[event])


#: Why a claim went back to the queue without its holder asking (``why`` in the release event's data): the holder's
#: account was deactivated, or their role or scope no longer covers the claim (moved to another district, made a unit's
#: user; or the claim's district changed under them). Nobody could work such a claim: its holder no longer sees it,
#: and the district's others were told it is another's (409).
HOLDER_DEACTIVATED = "holder_deactivated"
HOLDER_OUT_OF_SCOPE = "holder_out_of_scope"
RELEASE_WHY: dict[str, tuple[str, str]] = {
    HOLDER_DEACTIVATED: (
        "Tài khoản của người giữ hồ sơ đã bị khoá: hồ sơ được trả lại hàng chờ.",
        "The holder's account was deactivated: the claim went back to the queue.",
    ),
    HOLDER_OUT_OF_SCOPE: (
        "Vai trò hoặc phạm vi của người giữ hồ sơ không còn gồm hồ sơ này: hồ sơ được trả lại hàng chờ.",
        "The holder's role or scope no longer covers this claim: it went back to the queue.",
    ),
}
#: A claim in these states is done with (nothing to work, nothing to come back): its holder keeps it, as a record. A
#: paid claim whose money comes back is open again, and then released if its holder cannot work it (the sweep).
_KEPT_WHEN_DONE = tuple(state.value for state in CLOSED_STATES)


def held_open(user: User) -> int:
    """How many claims ``user`` holds that are not done with (:data:`_KEPT_WHEN_DONE`): what goes back to the queue
    when their account is deactivated, or their scope stops covering them."""
    return int(
        db.session.scalar(
            select(func.count()).where(Claim.assigned_to_id == user.id, Claim.state.not_in(_KEPT_WHEN_DONE))
        )
        or 0
    )


def release_unworkable(user: User, *, actor: User | None) -> int:
    """Send back to the queue every claim ``user`` holds, not done with, that they can no longer work as they now are
    (the user's row as changed, flushed or not): all of them when the account is inactive or its role acts on no claim,
    those outside their scope otherwise (:func:`scope_clause`). Each is released as :func:`release` releases one (the
    holder and the time cleared, a ``release`` event naming who held it and why, by ``actor``), waiting for a claim
    being worked right now. Called where the user changes (a deactivation, a new role or scope), in that transaction;
    the sweep (:func:`release_unworkable_everywhere`) catches any other way. How many. Flushes."""
    workable = user.active and user.role in ACTING_ROLES
    held = select(Claim.id).where(Claim.assigned_to_id == user.id, Claim.state.not_in(_KEPT_WHEN_DONE))
    if workable:
        held = held.where(~scope_clause(user))
    ids = list(db.session.scalars(held.order_by(Claim.id).with_for_update()))
    why = HOLDER_OUT_OF_SCOPE if user.active else HOLDER_DEACTIVATED
    return len(_release_all([(claim_id, user.id, why) for claim_id in ids], actor=actor))


def _release_all(rows: Sequence[tuple[int, int, str]], *, actor: User | None) -> list[int]:
    """Release the claims of ``rows`` (claim id, holder, why), whose rows the caller has locked: the holder cleared
    where it is still that one, and one ``release`` event each (:func:`disburse.claims.service.note_many`)."""
    if not rows:
        return []
    db.session.flush()
    released = list(
        db.session.scalars(
            text(
                """UPDATE claims c SET assigned_to_id = NULL, assigned_at = NULL, updated_at = now()
                   FROM unnest(CAST(:ids AS bigint[]), CAST(:holders AS bigint[])) AS r(id, holder)
                   WHERE c.id = r.id AND c.assigned_to_id = r.holder
                   RETURNING c.id"""
            ),
            {"ids": [row[0] for row in rows], "holders": [row[1] for row in rows]},
        )
    )
    done = set(released)
    notes = [(claim_id, {"released_from_id": holder, "why": why}) for claim_id, holder, why in rows if claim_id in done]
    claims.note_many(ClaimNote.RELEASE, notes, actor=actor, skip_locked=False)
    # The session's claims read before still say who held them.
    for claim_id in done:
        if (claim := db.session.identity_map.get((Claim, (claim_id,), None))) is not None:
            db.session.expire(claim, ["assigned_to_id", "assigned_at"])
    return sorted(done)


#: Claims held by someone who cannot work them: an inactive account, a role that acts on no claim, a caseworker of
#: another district, a supervisor of another province (:func:`scope_clause` as SQL on the holder's row). Locked
#: ``SKIP LOCKED``: a claim being worked right now is left for the next sweep.
_UNWORKABLE = text(
    f"""SELECT c.id, c.assigned_to_id AS holder,
               CASE WHEN u.active THEN '{HOLDER_OUT_OF_SCOPE}' ELSE '{HOLDER_DEACTIVATED}' END AS why
        FROM users u
        JOIN claims c ON c.assigned_to_id = u.id
        JOIN districts d ON d.code = c.district_code
        WHERE c.assigned_to_id IS NOT NULL AND c.id > :after
          AND c.state NOT IN ({", ".join(f"'{state}'" for state in _KEPT_WHEN_DONE)})
          AND NOT (u.active AND (
                u.role = 'admin'
                OR (u.role = 'supervisor' AND (u.province_code IS NULL OR u.province_code = d.province_code))
                OR (u.role = 'caseworker' AND u.district_code = c.district_code)))
        ORDER BY c.id LIMIT :chunk
        FOR UPDATE OF c SKIP LOCKED"""
)


def release_unworkable_everywhere(*, chunk: int = 5_000) -> int:
    """The sweep's safety net for :func:`release_unworkable`: every claim, not done with, whose holder can no longer
    work it, whatever changed the holder (a command, the database by hand, an import moving the claim's unit to
    another district) goes back to the queue, released by the system with why. One transaction per chunk (commits);
    how many."""
    released, after = 0, 0
    while True:
        rows = db.session.execute(_UNWORKABLE, {"after": after, "chunk": chunk}).all()
        if not rows:
            return released
        released += len(_release_all([(row.id, row.holder, row.why) for row in rows], actor=None))
        db.session.commit()
        if len(rows) < chunk:
            return released
        after = rows[-1].id


def assign_next_statement(user: User, program_id: int, district: str, count: int) -> Any:
    """The next ``count`` unassigned claims in needs_review of ``district``, the longest waiting first (the day the
    office received them, :func:`received_on`; then id), locked ``FOR UPDATE SKIP LOCKED``: two caseworkers asking at
    once get different claims, and neither waits for the other."""
    return (
        select(Claim)
        .where(
            Claim.program_id == program_id,
            Claim.state == ClaimState.NEEDS_REVIEW.value,
            Claim.district_code == district,
            Claim.assigned_to_id.is_(None),
            scope_clause(user),
        )
        .order_by(received_on(), Claim.id)
        .limit(count)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def visible_district(user: User, district: str) -> str:
    """``district`` when it exists and is in ``user``'s scope (a caseworker's own, a supervisor's province's);
    :class:`NotFound` otherwise, the same for a district outside the scope as for one that does not exist."""
    province = db.session.scalar(select(District.province_code).where(District.code == district))
    if province is None or not can_see(
        user, Scope(employer_ids=(), district_codes=[district], province_codes=[province])
    ):
        raise NotFound()
    return district


def held_by(user: User, program_id: int) -> int:
    """How many of the program's claims ``user`` holds (``ix_claims_assigned_to``)."""
    return int(
        db.session.scalar(select(func.count()).where(Claim.assigned_to_id == user.id, Claim.program_id == program_id))
        or 0
    )


class TakenAlready(ReviewError):
    """Claims were taken from the page already (its button pressed twice): none more."""

    code = "taken_already"


def assign_next(
    user: User, program_id: int, count: int, district: str | None = None, *, held: int | None = None
) -> list[Claim]:
    """Take up to ``count`` (at most :data:`MAX_ASSIGN_NEXT`) unassigned claims in needs_review of the caller's
    district (supervisors and admins name one in their scope) for the caller; fewer or none when the queue is
    shorter. One assign event per claim. ``held``: how many claims the caller held when their page was shown; holding
    more now, they took claims from it already (the button pressed twice: :class:`TakenAlready`). The caller's
    assignments wait for each other (a transaction's advisory lock), so that two presses at once are told apart."""
    _may_act(user)
    if held is not None:
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('assign_next'), CAST(:user_id AS integer))"),
            {"user_id": user.id},
        )
        if held_by(user, program_id) > held:
            raise TakenAlready(
                "Bạn đã nhận hồ sơ từ trang này; đây là các hồ sơ đang giao cho bạn.",
                "You took claims from this page already; these are the claims assigned to you.",
            )
    errors: dict[str, tuple[str, str]] = {}
    if not 1 <= count <= MAX_ASSIGN_NEXT:
        errors["count"] = (
            f"Số hồ sơ nhận mỗi lần từ 1 đến {MAX_ASSIGN_NEXT} (đang yêu cầu {count}).",
            f"Take between 1 and {MAX_ASSIGN_NEXT} claims at a time (asked for {count}).",
        )
    if district is not None:
        district = visible_district(user, district)  # a district named outside the scope is as an unknown one
    district = district or user.district_code
    if district is None:
        errors["district"] = ("Cần ghi mã quận/huyện (3 chữ số).", "Give the district code (3 digits).")
    if errors:
        raise Invalid(errors)
    assert district is not None
    taken = list(db.session.scalars(assign_next_statement(user, program_id, district, count)).all())
    now = _now()
    for claim in taken:
        claim.assigned_to_id = user.id
        claim.assigned_at = now
        _note(claim, ClaimNote.ASSIGN, user, {"assigned_to_id": user.id, "previous_assigned_to_id": None})
    return taken


# ------------------------------------------------------------------------------------------------ work notes


def log_contact(
    claim_id: int, user: User, channel: str, outcome: str, note: str | None = None, *, seen: int | None = None
) -> ActionResult:
    """Record a contact attempt with the person (in any state: a refused person may be called to explain).
    ``seen``: the claim's latest event as the form showed it; the same contact posted again records nothing."""
    assert channel in CONTACT_CHANNELS and outcome in CONTACT_OUTCOMES
    claim = visible_claim(claim_id, user, lock=True)
    _may_work(claim, user)
    data = {"channel": channel, "outcome": outcome, "note": note or None}
    if _repeated(claim, ClaimNote.CONTACT, user, data, seen):
        return ActionResult(claim, changed=False)
    event = _note(claim, ClaimNote.CONTACT, user, data)
    return ActionResult(claim, changed=True, events=[event])


def request_info(
    claim_id: int, user: User, addressee: str, note: str, due_on: date | None = None, *, seen: int | None = None
) -> ActionResult:
    """Record that information was asked of the person or the employer (and by when); the claim stays in its state.
    ``seen``: as :func:`log_contact`."""
    assert addressee in INFO_ADDRESSEES and note.strip()
    claim = visible_claim(claim_id, user, lock=True)
    _may_work(claim, user)
    if not has_casework(claim.state):
        raise _no_casework(
            claim,
            "yêu cầu bổ sung thông tin cho",
            "asked for more information",
            "không cần yêu cầu bổ sung thông tin",
            "so no information is requested for it",
        )
    today = programme_today()
    if due_on is not None and due_on < today:
        raise Invalid(
            {
                "due_on": (
                    f"Hạn bổ sung không được trước hôm nay ({today:%d/%m/%Y}).",
                    f"The due date cannot be before today ({today:%d/%m/%Y}).",
                )
            }
        )
    last = _program(claim).last_payable_day  # an answer due after it could change nothing
    if due_on is not None and due_on > last:
        raise Invalid(
            {
                "due_on": (
                    f"Hạn bổ sung không được sau ngày {last:%d/%m/%Y}, ngày cuối cùng chương trình còn chi trả.",
                    f"The due date cannot be after {last:%d/%m/%Y}, the programme's last day of payment.",
                )
            }
        )
    data = {"addressee": addressee, "note": note, "due_on": _iso(due_on)}
    if _repeated(claim, ClaimNote.REQUEST_INFO, user, data, seen):
        return ActionResult(claim, changed=False)
    asked = same_request_open(claim, addressee, note, due_on)
    if asked is not None:  # the form sent again without its ``seen``, or after other work on the claim; the API
        return ActionResult(claim, changed=False, found=asked)
    event = _note(claim, ClaimNote.REQUEST_INFO, user, data)
    return ActionResult(claim, changed=True, events=[event])


def same_request_open(claim: Claim, addressee: str, note: str, due_on: date | None) -> ClaimEvent | None:
    """The same request (addressee, words up to spaces, due day) already made on ``claim`` and still open: made
    since the claim's last move (a decision answers it or leaves it behind), and not answered by the unit. Asked
    again, whoever asks, it would only show the addressee the same request twice. :func:`_repeated` catches the
    same form posted twice only when it names the event its page showed (``seen``) and nothing else was written
    since: the API sends no ``seen``, and a contact logged or the case taken in between hid the first request."""
    words = " ".join(note.split())
    last_move = (
        select(func.coalesce(func.max(ClaimEvent.id), 0))
        .where(ClaimEvent.claim_id == claim.id, ClaimEvent.from_state.is_distinct_from(ClaimEvent.to_state))
        .scalar_subquery()
    )
    notes = db.session.scalars(
        select(ClaimEvent)
        .where(
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.id > last_move,
            ClaimEvent.action.in_([ClaimNote.REQUEST_INFO.value, ClaimNote.ANSWER_INFO.value]),
        )
        .order_by(ClaimEvent.id)
    ).all()
    answered = {(e.data or {}).get("request_id") for e in notes if e.action == ClaimNote.ANSWER_INFO.value}
    for event in notes:
        data = event.data or {}
        if (
            event.action == ClaimNote.REQUEST_INFO.value
            and event.id not in answered
            and data.get("addressee") == addressee
            and " ".join(str(data.get("note") or "").split()) == words
            and data.get("due_on") == _iso(due_on)
        ):
            return event
    return None


# --------------------------------------------------------------------------------------------------- decisions


def bank_problem(claim: Claim) -> tuple[str, str] | None:
    """What keeps ``claim`` from being paid by bank transfer as it is, in (Vietnamese, English) words that end a
    sentence: its bank or account missing, or an account that is not one we can pay
    (:func:`disburse.claims.outcomes.is_bank_account`). None when it is paid in cash or its details can be paid. The
    details are read from the claim as it is now, not from verification's flags (they may have been corrected since,
    or broken)."""
    if claim.payout != "bank":
        return None
    if not claim.bank_code or not claim.bank_account:
        return "thiếu ngân hàng hoặc số tài khoản", "the bank or the account number is missing"
    if not is_bank_account(claim.bank_account):
        return (
            "số tài khoản không đúng định dạng (chỉ gồm chữ số, từ 6 đến 19 số)",
            "the account number is not in the right form (digits only, 6 to 19 of them)",
        )
    return None


def _payable_or_refuse(claim: Claim) -> None:
    """:class:`Conflict` (``bank_details_invalid``) when ``claim`` is paid by bank transfer and its details cannot be
    paid (:func:`bank_problem`): approved, it would go to the bank and be refused there."""
    problem = bank_problem(claim)
    if problem is None:
        return
    problem_vi, problem_en = problem
    raise Conflict(
        f"Chưa thể duyệt: hồ sơ nhận tiền qua chuyển khoản nhưng {problem_vi}. Cần có thông tin tài khoản đúng trước "
        'khi duyệt (đơn vị điều chỉnh theo Mẫu số 03, hoặc người lao động cung cấp và cán bộ ghi ở mục "Sửa thông '
        'tin tài khoản" của hồ sơ), hoặc người lao động nhận tiền mặt tại cơ quan BHXH, hoặc từ chối hồ sơ nếu không '
        "đủ điều kiện.",
        f"The claim cannot be approved yet: it is paid by bank transfer but {problem_en}. Correct account details "
        "are needed before approval (the employer's Form 03 correction, or from the person, entered under \"Correct "
        "the payment details\" on the claim's page), or the person is paid in cash at the office, or refuse the claim "
        "if it is not eligible.",
        code="bank_details_invalid",
    )


def _program(claim: Claim) -> Program:
    program = db.session.get(Program, claim.program_id)
    assert program is not None, "claims.program_id is a foreign key"
    return program


def period_ended(claim: Claim) -> tuple[str, str] | None:
    """Why the claim can no longer be approved, in both languages, once its programme's last payable day has passed
    (:func:`disburse.payments.service.period_ended_refusal`); None while the programme may pay."""
    return payments.period_ended_refusal(_program(claim))


def _period_or_refuse(claim: Claim) -> None:
    """:class:`Conflict` (``payment_period_ended``) after the programme's last payable day: an approved claim would
    be paid by nobody, and the person would get neither the money nor the written refusal."""
    ended = period_ended(claim)
    if ended is not None:
        raise Conflict(*ended, code=reasons.PAYMENT_PERIOD_ENDED)


def approval_due_on(claim: Claim, today: date | None = None) -> date:
    """The payment SLA date a caseworker's approval gives a claim that has none
    (:func:`~disburse.verification.checks.claim_payment_due_on`: Form 04, else Form 02); a claim with neither date
    (track A whose employer never returned Form 02) counts ``payment_after_confirmation_wd`` working days from the
    approval, as verification counts a missing date from the day it verifies."""
    from disburse.verification import checks

    program = _program(claim)
    due = checks.claim_payment_due_on(program, claim)
    if due is None:
        due = checks.payment_due_on(program, checks.SLA_FORM02, today or programme_today())
    return due


def _approve(claim: Claim, user: User, note: str | None, data: dict[str, Any] | None = None) -> ClaimEvent:
    """The approval's move, giving the claim its payment SLA date when it has none (:func:`approval_due_on`), so that
    the payment SLA sweep and the backlog see a claim held back after it."""
    event = claims.transition(claim, ClaimAction.APPROVE, user, reason=note, data=data)
    if claim.payment_due_on is None:
        claim.payment_due_on = approval_due_on(claim)
        db.session.flush()
    return event


def approve(
    claim_id: int, user: User, note: str | None = None, checked: Collection[str] = (), *, seen: int | None = None
) -> ActionResult:
    """Approve the claim (from verifying or needs_review). Approving an approved claim changes nothing. Refused,
    nothing changed: a claim paid by bank transfer whose bank details cannot be paid (:func:`_payable_or_refuse`),
    one with possible duplicates not decided, and any claim once its programme's last payable day has passed
    (:func:`_period_or_refuse`). The claim gets its payment SLA date when it has none (:func:`approval_due_on`).
    ``checked``: the review reason codes the caller checked. Every one that the claim needs checked
    (:func:`to_check`) must be among them, or the approval is refused (:class:`Invalid`), after what refuses it
    whatever was checked; they are kept in the event's data so that the timeline shows what was looked at before the
    money moved. ``seen``: the claim's latest event as the caller's page showed it (:func:`decided_on_what_is`)."""
    claim = visible_claim(claim_id, user, lock=True)
    _may_work(claim, user)
    decided_on_what_is(claim, seen, ClaimAction.APPROVE, user)
    if claim.state == ClaimState.APPROVED:
        return ActionResult(claim, changed=False)
    if (ClaimState(claim.state), ClaimAction.APPROVE) in TRANSITIONS:
        _period_or_refuse(claim)
        _payable_or_refuse(claim)
        _no_undecided_duplicates(claim, user)
        # Its duplicates were just found not to stand in the way: settled, without asking the group again.
        checked = _checked_or_refuse(claim, checked, DUPLICATES)
    try:
        event = _approve(claim, user, note or None, {"checked": list(checked)} if checked else None)
    except InvalidClaimTransition:
        raise _invalid_state(claim, "duyệt", "approved") from None
    return ActionResult(claim, changed=True, events=[event])


def _no_undecided_duplicates(claim: Claim, user: User | None = None) -> None:
    """One person is paid once: a claim whose duplicate group has another claim that is not refused may be approved
    only once a caseworker has decided the group (:func:`resolve_duplicate`): refusing the others, or recording with
    an override that they may all be paid. Otherwise :class:`Conflict` naming the others' SI codes: those ``user``
    may see (all without a user), and how many others are outside their scope (never who they are). A refused claim
    is paid to nobody: nothing stands to be decided for it."""
    if claim.state in TERMINAL_STATES:
        return
    open_others = [(member, si) for member, si in _duplicates(claim) if member.state not in TERMINAL_STATES]
    if not open_others or _overridden(claim):
        return
    shown = [si for member, si in open_others if user is None or can_see(user, claim_scope(member))]
    hidden = len(open_others) - len(shown)
    vi = [f"mã số BHXH {', '.join(shown)}"] if shown else []
    en = [f"SI code {', '.join(shown)}"] if shown else []
    if hidden:
        vi.append(f"{hidden} hồ sơ ngoài phạm vi của bạn")
        en.append(f"{hidden} outside your scope")
    raise Conflict(
        f"Hồ sơ có hồ sơ nghi trùng chưa được xử lý ({'; '.join(vi)}). Hãy xử lý nghi trùng trước khi duyệt: giữ lại "
        "một hồ sơ và từ chối các hồ sơ kia, hoặc ghi nhận rằng đây là những người khác nhau.",
        f"The claim has possible duplicates not yet decided ({'; '.join(en)}). Decide them before approving: keep one "
        "claim and refuse the others, or record that these are different people.",
        code="duplicates_undecided",
    )


def undecided_duplicates(claim: Claim, user: User | None = None) -> tuple[str, str] | None:
    """Why the claim cannot be approved yet because of its possible duplicates (:func:`_no_undecided_duplicates`,
    naming only what ``user`` may see), in both languages; None when they do not stand in the way."""
    try:
        _no_undecided_duplicates(claim, user)
    except Conflict as exc:
        return exc.vi, exc.en
    return None


def _overridden(claim: Claim) -> bool:
    """Whether a caseworker recorded that the claim's duplicate group may all be paid (an override)."""
    return (
        db.session.scalar(
            select(ClaimEvent.id)
            .where(
                ClaimEvent.claim_id == claim.id,
                ClaimEvent.action == ClaimNote.RESOLVE_DUPLICATE.value,
                ClaimEvent.data["override"] == func.to_jsonb(true()),
            )
            .limit(1)
        )
        is not None
    )


def last_refusal(claim_id: int) -> ClaimEvent | None:
    """The claim's latest reject event (its reason and reason code make the written notice)."""
    return db.session.scalar(
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim_id, ClaimEvent.action == ClaimAction.REJECT.value)
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    )


def refusal_codes(data: dict[str, Any]) -> list[str]:
    """The refusal reason codes of a reject event's data, the event's ``reason_code`` first: a caseworker's refusal
    has that one code; verification's has it (the first refusing code) and every code it found in ``reasons``, of
    which the refusing ones are kept (the others say what a caseworker would have checked, not why)."""
    known = refusal_reasons()
    code = data.get("reason_code")
    codes = [code] if isinstance(code, str) and code in known else []
    found = data.get("reasons")
    if codes and isinstance(found, list):
        codes += sorted({c for c in found if isinstance(c, str) and c in known and c != codes[0]})
    return codes


#: The latest reject event's data of each of the claims ``ids``: one probe of the claim's events per claim (as a
#: unit's latest payments are read), whatever the statistics say of the events table.
_LAST_REFUSALS = text(
    """SELECT c.id, e.data
       FROM unnest(CAST(:ids AS bigint[])) AS c(id)
       CROSS JOIN LATERAL (
           SELECT data FROM claim_events WHERE claim_id = c.id AND action = :reject ORDER BY id DESC LIMIT 1
       ) e"""
)


def last_refusal_codes(claim_ids: Sequence[int]) -> dict[int, list[str]]:
    """:func:`refusal_codes` of each claim's latest reject event, for many claims in one statement (the refused
    people of a unit's list); a claim without a reject event is left out."""
    if not claim_ids:
        return {}
    rows = db.session.execute(_LAST_REFUSALS, {"ids": list(claim_ids), "reject": ClaimAction.REJECT.value})
    return {claim_id: refusal_codes(data or {}) for claim_id, data in rows}


def reject(claim_id: int, user: User, reason_code: str, reason_text: str, *, seen: int | None = None) -> ActionResult:
    """Refuse the claim with a reason code from :func:`refusal_reasons` and the caseworker's written reason; both
    go on the reject event (``reason`` and ``data.reason_code``) and into the written notice. ``payment_period_ended``
    only once the programme's last payable day has passed (:func:`period_ended`). Repeating the same
    refusal changes nothing; a different one for a refused claim is a conflict. ``seen``: as :func:`approve`."""
    assert reason_code in refusal_reasons() and reason_text.strip()
    if reason_code == reasons.OTHER and len(reason_text.strip()) < MIN_OTHER_TEXT:
        raise Invalid(
            {
                "reason_text": (
                    f"Với lý do khác, hãy ghi rõ lý do (ít nhất {MIN_OTHER_TEXT} ký tự): nội dung này là lý do "
                    "được in trong thông báo.",
                    f"For another reason, write the reason out (at least {MIN_OTHER_TEXT} characters): it is the "
                    "reason the notice gives.",
                )
            }
        )
    claim = visible_claim(claim_id, user, lock=True)
    _may_work(claim, user)
    decided_on_what_is(claim, seen, ClaimAction.REJECT, user)
    if reason_code == reasons.PAYMENT_PERIOD_ENDED and claim.state != ClaimState.REJECTED and not period_ended(claim):
        raise Invalid(
            {
                "reason_code": (
                    "Chương trình vẫn đang chi trả: không thể từ chối với lý do đã hết thời hạn chi trả.",
                    "The programme is still paying: the claim cannot be refused because the payment period has ended.",
                )
            }
        )
    if claim.state != ClaimState.REJECTED and not refusal_applies(reason_code, claim):
        raise Invalid({"reason_code": _does_not_apply(reason_code, claim)})
    if claim.state == ClaimState.REJECTED:
        previous = last_refusal(claim.id)
        same_code = previous is not None and (previous.data or {}).get("reason_code") == reason_code
        if same_code and previous is not None and previous.reason == reason_text:
            return ActionResult(claim, changed=False)
        raise Conflict(
            "Hồ sơ đã bị từ chối với một lý do khác; thông báo đã lập theo lý do đó.",
            "The claim was already refused for another reason; its notice gives that reason.",
            code="already_rejected",
        )
    try:
        data = {"reason_code": reason_code}
        event = claims.transition(claim, ClaimAction.REJECT, user, reason=reason_text, data=data)
    except InvalidClaimTransition:
        raise _invalid_state(claim, "từ chối", "refused") from None
    return ActionResult(claim, changed=True, events=[event])


def _does_not_apply(code: str, claim: Claim) -> tuple[str, str]:
    """Why the refusal ``code`` cannot be given to ``claim`` (:func:`refusal_applies`), in both languages."""
    if code == reasons.APPLIED_AFTER_DEADLINE:
        deadline = dmy(_program(claim).application_deadline)
        return (
            f"Hồ sơ này không có Mẫu số 04 tiếp nhận sau thời hạn ({deadline}): không thể từ chối với lý do này.",
            f"This claim has no Form 04 received after the deadline ({deadline}): it cannot be refused for this "
            "reason.",
        )
    if _GROUP_ONLY.get(code) == "A":
        return (
            "Lý do này chỉ áp dụng cho người đang tham gia bảo hiểm thất nghiệp tại đơn vị (nhóm A); người này đã "
            "dừng tham gia (nhóm B).",
            "This reason applies only to a person still insured at their unit (group A); this person had stopped "
            "(group B).",
        )
    return (
        "Lý do này chỉ áp dụng cho người đã dừng tham gia bảo hiểm thất nghiệp (nhóm B); người này đang tham gia "
        "tại đơn vị (nhóm A).",
        "This reason applies only to a person who had stopped being insured (group B); this person is still "
        "insured at their unit (group A).",
    )


def record_decline(claim_id: int, user: User, note: str, *, seen: int | None = None) -> ActionResult:
    """Record that the person declines the support ("Không nhận hỗ trợ"), told to the office after their unit's Form
    02 (which no longer records it: :func:`disburse.claims.employer_forms.confirm`), or by a person who came to the
    office. ``note`` says how the office learnt it (the person's written request, its date); it goes on the event as
    its reason. Final: a declined claim is never paid. Refused once money is on its way or the claim is closed;
    recording it again changes nothing. ``seen``: as :func:`approve`."""
    assert note.strip()
    claim = visible_claim(claim_id, user, lock=True)
    _may_work(claim, user)
    decided_on_what_is(claim, seen, ClaimAction.DECLINE, user)
    if claim.state == ClaimState.DECLINED:
        return ActionResult(claim, changed=False)
    try:
        event = claims.transition(claim, ClaimAction.DECLINE, user, reason=note.strip(), data={"by": "office"})
    except InvalidClaimTransition:
        raise _invalid_state(claim, "ghi nhận không nhận hỗ trợ cho", "recorded as declined") from None
    return ActionResult(claim, changed=True, events=[event])


# -------------------------------------------------------------------------------------------------- duplicates


def _duplicate_group(claim: Claim) -> list[tuple[Claim, str]]:
    """The claim's duplicate group with SI codes, itself included, locked ``FOR UPDATE`` in id order and read as
    they now are (two people resolving the same group take turns and never deadlock, provided neither holds a
    claim of it already)."""
    statement = duplicate_group_statement(claim).with_for_update(of=Claim).execution_options(populate_existing=True)
    return [(member, si_code) for member, si_code in db.session.execute(statement).all()]


#: A refused duplicate's other claims must not be on their way to the bank or paid: keep that one instead.
_MONEY_MOVING = frozenset({ClaimState.PAYMENT_PENDING, ClaimState.PAID})


def resolve_duplicate(claim_id: int, user: User, keep_id: int, *, override: bool, note: str | None) -> ActionResult:
    """Decide a possible duplicate: the claim's duplicate group (:func:`duplicate_group_statement`).

    ``override=False``: the claim ``keep_id`` is kept (its state does not change) and every other open claim of the
    group is refused with reason ``duplicate`` and a written reason naming the kept claim's SI code.
    ``override=True`` (a written ``note`` required): the people are different, or may both be paid; the decision is
    recorded on every claim of the group and the kept claim is approved when its state allows and the duplicates were
    all it needed checked (:func:`to_check`); otherwise it waits for the approval, which asks for the rest.
    Each claim of the group gets a ``resolve_duplicate`` event. Every claim of the group must be in the caller's
    scope and workable by them. Repeating a decision already recorded changes nothing.
    """
    # Not locked alone: the group, itself included, is locked in id order. Locking its own claim first, each of two
    # people deciding from the two halves of a pair held the row the other wanted next (a deadlock, one aborted).
    claim = visible_claim(claim_id, user)
    group = _duplicate_group(claim)
    _may_work(claim, user)
    if len(group) < 2:
        raise Conflict(
            "Hồ sơ không có hồ sơ nghi trùng nào trong chương trình này.",
            "The claim has no possible duplicate in this program.",
            code="no_duplicates",
        )
    # The claim to keep is one of the group the caller sees, as the case page offers them: any other number, a claim
    # of the group outside their scope too, gets the same answer (which hidden claims are in the group is not told).
    seen = [(member, si) for member, si in group if member.id == claim.id or can_see(user, claim_scope(member))]
    kept = next(((member, si) for member, si in seen if member.id == keep_id), None)
    if kept is None:
        raise Invalid(
            {
                "keep": (
                    f"Hồ sơ số {keep_id} không phải là một hồ sơ trong nhóm nghi trùng của hồ sơ này (các hồ sơ "
                    "bạn xem được).",
                    f"Claim {keep_id} is not one of this claim's possible duplicates (those you can see).",
                )
            }
        )
    if len(seen) < len(group):
        raise Conflict(
            "Nhóm nghi trùng có hồ sơ ngoài phạm vi của bạn; lãnh đạo có phạm vi rộng hơn cần xử lý.",
            "Some of these possible duplicates are outside your scope; a supervisor whose scope covers them must "
            "decide.",
            code="outside_scope",
        )
    for member, _ in group:
        _may_work(member, user)
    keep, keep_si = kept
    if keep.state in TERMINAL_STATES:
        raise _invalid_state(keep, "giữ lại", "kept")
    others = [(member, si) for member, si in group if member.id != keep.id]
    if override:
        return _override_duplicate(user, group, keep, keep_si, note)
    return _refuse_duplicates(user, group, keep, keep_si, others, note)


def _already_resolved(keep: Claim, *, override: bool) -> bool:
    events = db.session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == keep.id, ClaimEvent.action == ClaimNote.RESOLVE_DUPLICATE.value)
    ).all()
    return any(
        (e.data or {}).get("kept_claim_id") == keep.id and (e.data or {}).get("override") is override for e in events
    )


def _resolution(
    group: Sequence[tuple[Claim, str]], keep: Claim, keep_si: str, override: bool, note: str | None, refused: list[int]
) -> dict[str, Any]:
    return {
        "kept_claim_id": keep.id,
        "kept_si_code": keep_si,
        "override": override,
        "group_claim_ids": [member.id for member, _ in group],
        "refused_claim_ids": refused,
        "note": note or None,
    }


def _refuse_duplicates(
    user: User,
    group: Sequence[tuple[Claim, str]],
    keep: Claim,
    keep_si: str,
    others: Sequence[tuple[Claim, str]],
    note: str | None,
) -> ActionResult:
    open_others = [(member, si) for member, si in others if member.state not in TERMINAL_STATES]
    for member, si in open_others:
        if member.state in _MONEY_MOVING:
            raise Conflict(
                f"Hồ sơ mã số BHXH {si} đã hoặc đang được chi trả; hãy giữ lại hồ sơ đó.",
                f"The claim with SI code {si} is paid or being paid; keep that one instead.",
                code="money_on_its_way",
            )
        if (ClaimState(member.state), ClaimAction.REJECT) not in TRANSITIONS:
            vi, en = _state_label(member.state)
            raise Conflict(
                f"Hồ sơ mã số BHXH {si} đang ở trạng thái “{vi}”, chưa thể từ chối; xử lý khi hồ sơ đã được kiểm tra.",
                f"The claim with SI code {si} is in the state “{en}” and cannot be refused yet; resolve the "
                "duplicate once it has been checked.",
                code="invalid_state",
            )
    if not open_others and _already_resolved(keep, override=False):
        return ActionResult(keep, changed=False)
    refused_ids = [member.id for member, _ in open_others]
    data = _resolution(group, keep, keep_si, False, note, refused_ids)
    events = [_note(member, ClaimNote.RESOLVE_DUPLICATE, user, data) for member, _ in group]
    reason = (
        f"Trùng với hồ sơ mã số BHXH {keep_si} của cùng người lao động; hồ sơ mã số BHXH "
        f"{keep_si} được giữ lại để xem xét hỗ trợ."
    )
    if note:
        reason = f"{reason} {note}"
    for member, _ in open_others:
        events.append(
            claims.transition(
                member,
                ClaimAction.REJECT,
                user,
                reason=reason,
                data={"reason_code": REASON_DUPLICATE, "kept_claim_id": keep.id, "kept_si_code": keep_si},
            )
        )
    return ActionResult(keep, changed=True, events=events)


def _override_duplicate(
    user: User, group: Sequence[tuple[Claim, str]], keep: Claim, keep_si: str, note: str | None
) -> ActionResult:
    if not (note or "").strip():
        raise Invalid(
            {
                "note": (
                    "Cần ghi rõ lý do khi xác nhận các hồ sơ không trùng (hoặc đều được chi trả).",
                    "Write the reason why these claims may all be paid.",
                )
            }
        )
    # Approved with the decision only when the duplicates were all it needed checked; otherwise it stays for the
    # approval, which asks for the rest to be checked (:func:`approve`).
    approvable = (ClaimState(keep.state), ClaimAction.APPROVE) in TRANSITIONS and not to_check(keep, DUPLICATES)
    if not approvable and _already_resolved(keep, override=True):
        return ActionResult(keep, changed=False)
    if approvable:  # before anything is written: the decision is taken whole or not at all
        _period_or_refuse(keep)
        _payable_or_refuse(keep)
    data = _resolution(group, keep, keep_si, True, note, [])
    events = [_note(member, ClaimNote.RESOLVE_DUPLICATE, user, data) for member, _ in group]
    if approvable:
        approval = {"duplicate_override": True}
        events.append(_approve(keep, user, note, approval))
    return ActionResult(keep, changed=True, events=events)
