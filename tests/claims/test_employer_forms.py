"""Form 02 (confirmation) and Form 03 (adjustments): per-row results, good rows applied, bad rows changing nothing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from disburse.claims import employer_forms as forms
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import FormRefused
from disburse.claims.service import claim_events
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, nq116

TODAY = date(2021, 10, 25)


def _unit_with(*states: str):
    """A unit and its listed people's claims in ``states`` (one claim each)."""
    employer = create_employer()
    claims = []
    for state in states:
        employee = create_employee(employer_id=employer.id)
        claims.append(create_claim(state, employee=employee))
    return employer, claims


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _state(db_session, claim: Claim) -> str:
    db_session.expire(claim)
    return claim.state


def _events(claim: Claim) -> int:
    return len(claim_events(claim.id))


# ------------------------------------------------------------------------------------------------------ Form 02


def test_form_02_confirms_with_bank_details_and_sets_the_payment_sla(db_session):
    employer, (claim,) = _unit_with("listed")
    result = forms.confirm(
        nq116(),
        employer.unit_code,
        [{"si_code": _si(claim), "bank_code": "vcb", "bank_account": "0011223344", "decline": False}],
        today=TODAY,
    )
    assert [r.outcome for r in result.rows] == ["confirmed"]
    db_session.refresh(claim)
    assert (claim.state, claim.bank_code, claim.bank_account, claim.payout) == (
        "employer_confirmed",
        "VCB",
        "0011223344",
        "bank",
    )
    assert claim.confirmed_on == TODAY
    assert claim.payment_due_on == date(2021, 11, 8)  # 10 working days after Monday 25/10/2021
    last = claim_events(claim.id)[-1]
    assert (last.action, last.data["form"], last.data["unit_code"]) == ("confirm", "02", employer.unit_code)


def test_form_02_without_bank_details_means_cash_and_decline_is_recorded(db_session):
    employer, (cash, declines) = _unit_with("listed", "employer_overdue")
    result = forms.confirm(
        nq116(),
        employer.unit_code,
        [{"si_code": _si(cash)}, {"si_code": _si(declines), "decline": "x"}],
        today=TODAY,
    )
    assert [r.outcome for r in result.rows] == ["confirmed", "declined"]
    db_session.refresh(cash)
    assert (cash.state, cash.payout, cash.bank_code) == ("employer_confirmed", "cash", None)
    assert _state(db_session, declines) == "declined"


def test_a_bank_transfer_chosen_without_its_details_is_refused_not_taken_as_cash(db_session):
    """The browser's Form 02 asks each person's payout: "bank" with blank details is the row's error (nothing
    recorded for it, so a later Form 02 with the account is taken), while a row chosen as cash, or a spreadsheet's
    row (no choice), without details is still cash at the office."""
    employer, (bank, half, cash, from_file) = _unit_with("listed", "listed", "listed", "listed")
    rows = [
        {"si_code": _si(bank), "bank_code": "", "bank_account": ""},
        {"si_code": _si(half), "bank_code": "VCB", "bank_account": ""},
        {"si_code": _si(cash), "bank_code": "", "bank_account": ""},
    ]
    result = forms.confirm(nq116(), employer.unit_code, rows, today=TODAY, bank_chosen=[True, True, False])
    assert [r.outcome for r in result.rows] == ["error", "error", "confirmed"]
    assert [(e.field, e.code) for e in result.rows[0].errors] == [("bank_code", "bank_required")]
    assert [(e.field, e.code) for e in result.rows[1].errors] == [("bank_account", "bank_required")]
    assert result.rows[0].errors[0].message_vi.startswith("Đã chọn chuyển khoản: cần ghi cả ngân hàng và số tài")
    assert result.rows[0].errors[0].message_en.startswith("A bank transfer was chosen: give both the bank and")
    assert "để trống cả hai" not in result.rows[0].errors[0].message_vi
    assert [_state(db_session, c) for c in (bank, half, cash)] == ["listed", "listed", "employer_confirmed"]
    assert (bank.bank_code, bank.confirmed_on, _events(bank)) == ("VCB", None, 1)  # as listed, only its creation
    assert cash.payout == "cash"

    # The account sent afterwards is taken: nothing recorded the first answer as cash.
    later = [{"si_code": _si(bank), "bank_code": "VCB", "bank_account": "0011223344"}]
    assert forms.confirm(nq116(), employer.unit_code, later, today=TODAY, bank_chosen=[True]).rows[0].outcome == (
        "confirmed"
    )
    db_session.refresh(bank)
    assert (bank.state, bank.payout, bank.bank_account) == ("employer_confirmed", "bank", "0011223344")
    # A spreadsheet's row says no payout: blank bank columns are cash, as the Form 01 file tells the unit.
    file_row = [{"si_code": _si(from_file), "bank_code": None, "bank_account": None, "decline": None}]
    assert forms.confirm(nq116(), employer.unit_code, file_row, today=TODAY).rows[0].outcome == "confirmed"
    db_session.refresh(from_file)
    assert from_file.payout == "cash"


def test_a_late_form_02_still_confirms_an_overdue_claim(db_session):
    employer, (claim,) = _unit_with("employer_overdue")
    result = forms.confirm(nq116(), employer.unit_code, [{"si_code": _si(claim)}], today=date(2021, 11, 20))
    assert result.rows[0].outcome == "confirmed"
    assert _state(db_session, claim) == "employer_confirmed"


def test_form_02_bad_rows_are_refused_each_with_its_reason_and_the_good_ones_applied(db_session):
    employer, (good, other) = _unit_with("listed", "listed")
    elsewhere = create_claim("listed")  # on another unit's list
    rows = [
        {"si_code": _si(good), "bank_code": "BIDV", "bank_account": "12345678"},
        {"si_code": _si(elsewhere)},
        {"si_code": "123"},
        {"si_code": _si(other), "bank_code": "NOPE", "bank_account": "12 34"},
        {"si_code": _si(other), "bank_code": "VCB"},
        {"si_code": "0199999999"},
        {"si_code": _si(other), "decline": "maybe"},
    ]
    result = forms.confirm(nq116(), employer.unit_code, rows, today=TODAY)
    codes = [[e.code for e in r.errors] for r in result.rows]
    assert result.rows[0].outcome == "confirmed"
    assert codes[1] == ["not_on_list"]
    assert codes[2] == ["si_code_format"]
    # ``other`` is on rows 4, 5 and 7: each refused for its own fault, and all as repeats of one person.
    assert set(codes[3]) == {"bank_unknown", "account_format", "si_code_repeated"}
    assert {"bank_pair", "si_code_repeated"} <= set(codes[4])
    assert codes[5] == ["not_on_list"]
    assert {"decline_value", "si_code_repeated"} <= set(codes[6])
    assert all(r.outcome == "error" for r in result.rows[1:])
    assert _state(db_session, other) == "listed" and _state(db_session, elsewhere) == "listed"
    for row in result.rows[1:]:
        assert row.errors[0].message_vi and row.errors[0].message_en


def test_the_same_person_twice_in_one_form_refuses_both_rows(db_session):
    employer, (claim,) = _unit_with("listed")
    result = forms.confirm(
        nq116(), employer.unit_code, [{"si_code": _si(claim)}, {"si_code": _si(claim), "decline": True}], today=TODAY
    )
    assert [r.errors[0].code for r in result.rows] == ["si_code_repeated", "si_code_repeated"]
    assert _state(db_session, claim) == "listed"
    # One of the two refused for something else: the other is still not taken as the person's only row (it would
    # record a decline the unit may not have meant).
    rows = [{"si_code": _si(claim), "bank_code": "VCB"}, {"si_code": _si(claim), "decline": True}]
    result = forms.confirm(nq116(), employer.unit_code, rows, today=TODAY)
    assert [r.outcome for r in result.rows] == ["error", "error"]
    assert [e.code for e in result.rows[1].errors] == ["si_code_repeated"]
    assert _state(db_session, claim) == "listed"


def test_a_second_form_02_agreeing_changes_nothing_and_one_contradicting_is_refused(db_session):
    employer, (claim,) = _unit_with("listed")
    row = {"si_code": _si(claim), "bank_code": "VCB", "bank_account": "0011223344"}
    forms.confirm(nq116(), employer.unit_code, [row], today=TODAY)
    events = _events(claim)

    again = forms.confirm(nq116(), employer.unit_code, [row], today=TODAY)
    assert again.rows[0].outcome == "unchanged" and _events(claim) == events

    other = forms.confirm(nq116(), employer.unit_code, [{**row, "bank_account": "999999999"}], today=TODAY)
    assert other.rows[0].errors[0].code == "contradicts_earlier"
    # A decline after the unit's confirmation would undo its answer, and from approved on the office's decision, for
    # good (a declined claim has no way back): the office records a person's change of mind, not a later Form 02.
    declined = forms.confirm(nq116(), employer.unit_code, [{**row, "decline": True}], today=TODAY)
    (error,) = declined.rows[0].errors
    assert (error.field, error.code) == ("decline", "cannot_decline")
    assert "báo cơ quan BHXH cấp huyện" in error.message_vi and "tell the district social security" in error.message_en
    assert _events(claim) == events
    db_session.refresh(claim)
    assert (claim.state, claim.bank_account) == ("employer_confirmed", "0011223344")


def test_form_01_returned_as_it_is_after_the_office_refused_a_claim_changes_nothing(db_session):
    """The unit downloads its Form 01 again and sends it back unchanged: a confirmed claim the office has since refused
    is unchanged, not "contradicts the earlier confirmation"; any other row for it says the office decided."""
    from disburse.claims import service as claims

    employer, (claim,) = _unit_with("listed")
    row = {"si_code": _si(claim), "bank_code": "VCB", "bank_account": "0011223344"}
    forms.confirm(nq116(), employer.unit_code, [row], today=TODAY)
    claims.transition(claim, "start_verification")
    claims.transition(claim, "reject", reason="Không đủ điều kiện.")
    events = _events(claim)

    again = forms.confirm(nq116(), employer.unit_code, [row], today=TODAY)
    assert (again.rows[0].outcome, again.rows[0].errors) == ("unchanged", []) and _events(claim) == events
    other = forms.confirm(nq116(), employer.unit_code, [{**row, "bank_account": "999999999"}], today=TODAY)
    (error,) = other.rows[0].errors
    assert (
        error.code == "claim_refused" and "liên hệ cơ quan BHXH" in error.message_vi and "refused" in error.message_en
    )
    assert _state(db_session, claim) == "rejected"


def _overdue_into_review(employer, *, unused_months: int = 24, born: date = date(1990, 1, 1)) -> Claim:
    """A person of the unit's list whose unit never returned Form 02: overdue, then verified (as the sweeper and the
    workers do) into review, with no bank details."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.verification import service as verification

    employee = create_employee(employer_id=employer.id, unused_months=unused_months, date_of_birth=born)
    claim = create_claim(
        "listed", employee=employee, bank_code=None, bank_account=None, review_due_on=date(2021, 10, 20)
    )
    claims.transition(claim, ClaimAction.MARK_OVERDUE)
    verification.verify(ids=[claim.id], today=TODAY)
    db.session.refresh(claim)
    assert claim.state == "needs_review" and "not_confirmed_by_employer" in claim.reasons
    return claim


def test_a_late_form_02_confirms_people_in_review_only_because_the_unit_was_late(db_session):
    """A unit that missed its Form 02 deadline sends it late: the people the office has not decided on and who are in
    review only because the unit was late are confirmed (``confirm_late``, marked late) and verified again with the
    unit's details; those in review for something else, or already decided, are told on their row what happened."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.verification import service as verification
    from tests.verification.test_checks import rollups_match

    employer = create_employer()
    only_late = _overdue_into_review(employer, born=date(1975, 5, 5))  # no near-duplicate of the others
    zero_months = _overdue_into_review(employer, unused_months=0)  # also in review for its months
    approved = _overdue_into_review(employer)
    claims.transition(approved, ClaimAction.APPROVE, reason=None)  # a caseworker approved it without Form 02
    still_listed = create_claim(
        "listed", employee=create_employee(employer_id=employer.id), review_due_on=date(2021, 10, 20)
    )  # the overdue sweep has not come by yet
    on_time = create_claim("listed", employee=create_employee(employer_id=employer.id), review_due_on=TODAY)
    rows = [
        {"si_code": _si(claim), "bank_code": "VCB", "bank_account": "0011223344"}
        for claim in (only_late, zero_months, approved, still_listed, on_time)
    ]

    result = forms.confirm(nq116(), employer.unit_code, rows, today=TODAY)

    assert [r.outcome for r in result.rows] == ["confirmed", "error", "error", "confirmed", "confirmed"]
    db_session.refresh(only_late)
    assert (only_late.state, only_late.confirmed_on, only_late.bank_code, only_late.bank_account) == (
        "employer_confirmed",
        TODAY,
        "VCB",
        "0011223344",
    )
    assert only_late.payment_due_on == date(2021, 11, 8)  # the law's clock runs from the (late) Form 02
    event = claim_events(only_late.id)[-1]
    assert (event.action, event.from_state, event.to_state) == ("confirm_late", "needs_review", "employer_confirmed")
    assert event.data == {"form": "02", "unit_code": employer.unit_code, "received_on": "2021-10-25", "late": True}
    late_listed, in_time = claim_events(still_listed.id)[-1], claim_events(on_time.id)[-1]
    assert (late_listed.action, late_listed.data.get("late")) == ("confirm", True)
    assert (in_time.action, "late" in in_time.data) == ("confirm", False)

    (error,) = result.rows[1].errors
    assert error.code == "confirmation_closed"
    assert "Không có tháng đóng BHTN chưa hưởng" in error.message_vi and "No unused UI" in error.message_en
    assert "Mẫu số 03" in error.message_vi and "Form 03" in error.message_en
    (error,) = result.rows[2].errors
    assert error.code == "decided_without_form_02"
    assert "'Đã duyệt'" in error.message_vi and "its state is 'Approved'" in error.message_en
    assert _state(db_session, zero_months) == "needs_review" and _state(db_session, approved) == "approved"
    assert rollups_match(db_session)

    # Verified again with the unit's confirmation: nothing is left to check, so it is approved.
    verification.verify(ids=[only_late.id], today=TODAY)
    db_session.refresh(only_late)
    assert (only_late.state, only_late.reasons) == ("approved", [])
    assert rollups_match(db_session)

    # The same file sent again changes nothing for those now confirmed.
    again = forms.confirm(nq116(), employer.unit_code, rows[:1], today=TODAY)
    assert again.rows[0].outcome == "unchanged"


def test_a_late_form_02_row_for_a_claim_being_checked_says_to_send_it_again_shortly(db_session):
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction

    employer = create_employer()
    claim = create_claim("listed", employee=create_employee(employer_id=employer.id), bank_code=None, bank_account=None)
    claims.transition(claim, ClaimAction.MARK_OVERDUE)
    claims.transition(claim, ClaimAction.START_VERIFICATION)

    result = forms.confirm(nq116(), employer.unit_code, [{"si_code": _si(claim)}], today=TODAY)

    (error,) = result.rows[0].errors
    assert error.code == "being_checked" and "sau ít phút" in error.message_vi and "few minutes" in error.message_en
    assert _state(db_session, claim) == "verifying"


def test_form_02_for_an_unknown_unit_is_refused_whole(db_session):
    with pytest.raises(FormRefused) as refused:
        forms.confirm(nq116(), "NOSUCHUNIT", [{"si_code": "0100000001"}], today=TODAY)
    assert refused.value.status == 404


_CELL = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=40))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.fixed_dictionaries({}, optional=dict.fromkeys(("si_code", "bank_code", "bank_account", "decline"), _CELL)),
        max_size=6,
    )
)
def test_any_cells_get_a_result_per_row_and_never_an_exception(db_session, rows):
    employer, (claim,) = _unit_with("listed")
    before = db_session.scalar(select(func.count()).select_from(ClaimEvent))
    result = forms.confirm(nq116(), employer.unit_code, rows, today=TODAY)
    assert len(result.rows) == len(rows)
    for row in result.rows:
        assert row.outcome in {"confirmed", "declined", "unchanged", "error"}
        assert (row.outcome == "error") == bool(row.errors)
    moved = sum(1 for r in result.rows if r.outcome in ("confirmed", "declined"))
    assert db_session.scalar(select(func.count()).select_from(ClaimEvent)) == before + moved
    assert moved == 0 or _state(db_session, claim) in ("employer_confirmed", "declined")


# ------------------------------------------------------------------------------------------------------ Form 03


@pytest.mark.parametrize(
    ("today", "accepted"), [(date(2021, 11, 9), True), (date(2021, 11, 10), True), (date(2021, 11, 11), False)]
)
def test_form_03_closes_after_the_adjustment_deadline(app, db_session, today, accepted):
    employer, (claim,) = _unit_with("listed")
    app.config["DISBURSE_TODAY"] = today.isoformat()
    try:
        if accepted:
            result = forms.adjust(nq116(), employer.unit_code, [{"si_code": _si(claim), "action": "remove"}])
            assert result.rows[0].outcome == "removed"
        else:
            with pytest.raises(FormRefused) as refused:
                forms.adjust(nq116(), employer.unit_code, [{"si_code": _si(claim), "action": "remove"}])
            assert "10/11/2021" in refused.value.message_vi and "10/11/2021" in refused.value.message_en
            assert _state(db_session, claim) == "listed"
    finally:
        app.config["DISBURSE_TODAY"] = None


@pytest.mark.parametrize(("today", "form_04"), [(date(2021, 12, 20), True), (date(2021, 12, 21), False)])
def test_form_03_closed_points_to_form_04_only_while_it_is_taken(app, db_session, today, form_04):
    """After the adjustment deadline the refusal says people may apply on Form 04, and until when; after Form 04's
    own deadline (20/12/2021) it must not send them there."""
    employer, (claim,) = _unit_with("listed")
    app.config["DISBURSE_TODAY"] = today.isoformat()
    try:
        with pytest.raises(FormRefused) as refused:
            forms.adjust(nq116(), employer.unit_code, [{"si_code": _si(claim), "action": "remove"}])
        assert ("Mẫu số 04 đến hết ngày 20/12/2021" in refused.value.message_vi) is form_04
        assert ("Form 04 until 20/12/2021" in refused.value.message_en) is form_04
    finally:
        app.config["DISBURSE_TODAY"] = None


def test_a_contradicting_form_02_row_after_the_adjustment_deadline_is_not_sent_to_form_03(db_session):
    employer, (claim,) = _unit_with("listed")
    row = {"si_code": _si(claim), "bank_code": "VCB", "bank_account": "0011223344"}
    forms.confirm(nq116(), employer.unit_code, [row], today=TODAY)
    late = forms.confirm(nq116(), employer.unit_code, [{**row, "bank_account": "999999999"}], today=date(2021, 11, 11))
    [error] = late.rows[0].errors
    assert error.code == "contradicts_earlier" and "Mẫu số 03 để" not in error.message_vi
    assert "contact the district social security office" in error.message_en


def test_form_03_adds_an_eligible_person_confirmed_at_once(db_session):
    employer = create_employer()
    person = create_employee(employer_id=employer.id, unused_months=70)
    result = forms.adjust(
        nq116(),
        employer.unit_code,
        [{"si_code": person.si_code, "action": "add", "bank_code": "ICB", "bank_account": "1020304050"}],
        today=TODAY,
    )
    assert result.rows[0].outcome == "added"
    claim = db_session.get(Claim, result.rows[0].claim_id)
    assert (claim.state, claim.track, claim.amount_vnd, claim.bank_code) == (
        "employer_confirmed",
        "A",
        2_400_000,
        "ICB",
    )
    assert claim.payment_due_on == date(2021, 11, 14)  # 20 calendar days after Form 03
    assert [(e.action, e.data["form"]) for e in claim_events(claim.id)] == [("create", "03"), ("confirm", "03")]


def test_form_03_add_of_a_listed_person_keeps_or_refuses_their_bank_details(db_session):
    """Adding someone the unit's list already has changes nothing. Bank details other than the claim's are neither
    dropped in silence nor taken for a correction: the row is refused, saying to send a correction."""
    employer, (listed,) = _unit_with("employer_confirmed")
    claim = db_session.get(Claim, listed.id)
    events = _events(listed)
    rows = [
        {"si_code": _si(listed), "action": "add"},
        {"si_code": _si(listed), "action": "add", "bank_code": claim.bank_code, "bank_account": claim.bank_account},
        {"si_code": _si(listed), "action": "add", "bank_code": "TCB", "bank_account": "19034455667788"},
    ]
    results = [forms.adjust(nq116(), employer.unit_code, [row], today=TODAY).rows[0] for row in rows]
    assert [r.outcome for r in results[:2]] == ["unchanged", "unchanged"]
    assert [(e.field, e.code) for e in results[2].errors] == [("bank_account", "listed_other_account")]
    _names_the_forms_choices(results[2].errors[0])
    db_session.expire_all()
    assert (claim.bank_code, claim.bank_account) != ("TCB", "19034455667788") and _events(listed) == events


def test_form_03_add_refuses_people_the_rules_or_the_registry_refuse(db_session):
    employer = create_employer()
    excluded = create_employer(sector="state_agency")
    stopped = create_employee(employer_id=employer.id, ui_status="stopped", ui_stopped_on=date(2021, 3, 1))
    at_excluded = create_employee(employer_id=excluded.id)
    listed_elsewhere = create_claim("listed")
    rows = [
        {"si_code": stopped.si_code, "action": "add"},
        {"si_code": "0188888888", "action": "add"},
        {"si_code": _si(listed_elsewhere), "action": "add"},
    ]
    result = forms.adjust(nq116(), employer.unit_code, rows, today=TODAY)
    assert [r.errors[0].code for r in result.rows] == ["not_employed_here"] * 3
    excluded_result = forms.adjust(
        nq116(), excluded.unit_code, [{"si_code": at_excluded.si_code, "action": "add"}], today=TODAY
    )
    error = excluded_result.rows[0].errors[0]
    assert error.code == "not_eligible" and "khu vực không được hỗ trợ" in error.message_vi
    assert db_session.scalar(select(func.count()).select_from(Claim).where(Claim.employee_id == at_excluded.id)) == 0


def test_form_03_refuses_a_removal_reason_too_long_whole_and_a_removal_of_nobody_says_so(db_session):
    """The web form refuses a reason over 900 characters; a file's or the API's row is refused too, never kept cut
    (it would say something else). Removing someone not on the list has nothing to remove: no advice to add them."""
    employer, (listed,) = _unit_with("listed")
    row = {"si_code": _si(listed), "action": "remove", "reason": "x" * 901}
    (error,) = forms.adjust(nq116(), employer.unit_code, [row], today=TODAY).rows[0].errors
    assert (error.field, error.code) == ("reason", "reason_too_long") and _state(db_session, listed) == "listed"
    nobody = forms.adjust(nq116(), employer.unit_code, [{"si_code": "0100000000", "action": "remove"}], today=TODAY)
    (error,) = nobody.rows[0].errors
    assert error.code == "not_on_list" and "nothing to remove" in error.message_en and "Add" not in error.message_en


def test_an_account_short_of_its_leading_zeros_is_refused_on_form_02_and_form_03(db_session):
    """Excel opening the downloaded CSV drops an account's leading zeros; the shorter number still has 6 to 19 digits,
    and the money would go to another account. Refused on the row, nothing recorded; the whole number is taken."""
    employer, (listed, failed) = _unit_with("listed", "payment_failed")
    had = listed.bank_account
    assert had.startswith("0"), had
    row = {"si_code": _si(listed), "bank_code": listed.bank_code, "bank_account": had.lstrip("0")}
    (error,) = forms.confirm(nq116(), employer.unit_code, [row], today=TODAY).rows[0].errors
    assert (error.field, error.code) == ("bank_account", "account_zeros_lost") and had in error.message_en
    assert _state(db_session, listed) == "listed"
    assert forms.confirm(nq116(), employer.unit_code, [{**row, "bank_account": had}], today=TODAY).rows[0].outcome == (
        "confirmed"
    )
    correction = {
        "si_code": _si(failed),
        "action": "correct",
        "bank_code": "TCB",
        "bank_account": failed.bank_account.lstrip("0"),
    }
    (error,) = forms.adjust(nq116(), employer.unit_code, [correction], today=TODAY).rows[0].errors
    assert error.code == "account_zeros_lost" and _state(db_session, failed) == "payment_failed"


def test_form_03_giving_back_the_account_a_payment_failed_with_is_refused_as_the_office_refuses_it(db_session):
    """The details the payment failed with, sent as a correction, are not new details: refused (``same_details``),
    nothing written, the claim still waiting; the same correction sent twice is 'unchanged' the second time."""
    employer, (failed,) = _unit_with("payment_failed")
    events = _events(failed)
    same = {
        "si_code": _si(failed),
        "action": "correct",
        "bank_code": failed.bank_code,
        "bank_account": failed.bank_account,
    }
    refused = forms.adjust(nq116(), employer.unit_code, [same], today=TODAY)
    (error,) = refused.rows[0].errors
    assert (error.field, error.code) == ("bank_account", "same_details") and "new account" in error.message_en
    assert _state(db_session, failed) == "payment_failed" and _events(failed) == events
    new = {**same, "bank_code": "TCB", "bank_account": "19034455667788"}
    assert forms.adjust(nq116(), employer.unit_code, [new], today=TODAY).rows[0].outcome == "corrected"
    events = _events(failed)
    assert forms.adjust(nq116(), employer.unit_code, [new], today=TODAY).rows[0].outcome == "unchanged"
    assert _state(db_session, failed) == "approved" and _events(failed) == events


def test_form_03_removes_and_corrects(db_session):
    employer, (gone, failed, paid) = _unit_with("listed", "payment_failed", "paid")
    rows = [
        {"si_code": _si(gone), "action": "remove", "reason": "Nghỉ việc từ 01/09/2021"},
        {
            "si_code": _si(failed),
            "action": "correct",
            "bank_code": "TCB",
            "bank_account": "19034455667788",
            "phone": "0987 654 321",
        },
        {"si_code": _si(paid), "action": "remove"},
        {"si_code": _si(paid), "action": "correct"},
    ]
    result = forms.adjust(nq116(), employer.unit_code, rows[:3], today=TODAY)
    assert [r.outcome for r in result.rows] == ["removed", "corrected", "error"]
    assert result.rows[2].errors[0].code == "cannot_remove"
    assert _state(db_session, gone) == "removed"
    assert claim_events(gone.id)[-1].reason == "Nghỉ việc từ 01/09/2021"
    db_session.refresh(failed)
    assert (failed.state, failed.bank_code, failed.bank_account) == ("approved", "TCB", "19034455667788")
    actions = [e.action for e in claim_events(failed.id)][-3:]
    assert actions == ["correct", "request_details", "details_received"]
    correction = claim_events(failed.id)[-3].data["changes"]
    assert correction["bank_account"][1] == "19034455667788" and correction["phone"][1] == "0987654321"
    nothing = forms.adjust(nq116(), employer.unit_code, [{"si_code": _si(paid), "action": "correct"}], today=TODAY)
    assert nothing.rows[0].errors[0].code == "nothing_to_correct"
    unknown = forms.adjust(nq116(), employer.unit_code, [{"si_code": _si(paid), "action": "delete"}], today=TODAY)
    assert unknown.rows[0].errors[0].code == "action_unknown"


def test_form_03_does_not_remove_an_approved_claim_that_was_sent_for_payment_once(db_session):
    """A failure on the bank's side sends a claim back to approved, to be paid again: it was queued for payment, and
    a removal is taken only until then (docs/rules.md). An approved claim never sent is still removed."""
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates
    from tests.factories import create_payment

    employer, (sent, never) = _unit_with("payment_pending", "approved")
    payment = create_payment(sent, "sent")
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.REJECTED, "AM04")], source="poll")
    db_session.refresh(sent)
    assert sent.state == "approved" and sent.retry_after is not None  # to be paid again: the bank's side failed
    rows = [{"si_code": _si(sent), "action": "remove"}, {"si_code": _si(never), "action": "remove"}]
    result = forms.adjust(nq116(), employer.unit_code, rows, today=TODAY)
    assert [r.outcome for r in result.rows] == ["error", "removed"]
    assert result.rows[0].errors[0].code == "cannot_remove"
    assert "đã được chuyển chi trả" in result.rows[0].errors[0].message_vi
    assert _state(db_session, sent) == "approved"


@pytest.mark.parametrize("written", ["có", "Có", "co", "không", "khong", "nhận"])
def test_a_decline_column_word_that_can_be_read_both_ways_is_refused_and_declines_no_one(db_session, written):
    """Under the heading "Không nhận hỗ trợ", "có" reads "yes, declines" to some and "yes, receives" to others, and a
    decline cannot be undone: "có" declined the person ("không", "không [nhận]", reads both ways too). Such a row is
    refused, saying what to write; a blank still confirms, "x" still declines."""
    employer, claims = _unit_with("listed", "listed")
    rows = [{"si_code": _si(claims[0]), "decline": written}, {"si_code": _si(claims[1]), "decline": "x"}]
    result = forms.confirm(nq116(), employer.unit_code, rows, today=TODAY)
    refused = result.rows[0]
    assert refused.outcome == "error" and refused.errors[0].code == "decline_value"
    assert "chỉ ghi 'x' (người lao động không nhận hỗ trợ) hoặc để trống (có nhận)" in refused.errors[0].message_vi
    assert db.session.get(Claim, claims[0].id).state == "listed"
    assert db.session.get(Claim, claims[1].id).state == "declined"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Vietcombank", "VCB"),
        ("VIETINBANK", "ICB"),
        ("Agribank", "VBA"),
        ("MB Bank", "MB"),
        ("NH TMCP Ngoại thương Việt Nam", "VCB"),
        ("Ngân hàng Ngoai Thuong Viet Nam", "VCB"),
        ("Ngan hang Ngoai thuong", "VCB"),
        ("NH Công thương", "ICB"),
        ("Ngân hàng Sài Gòn Công Thương", "SGICB"),
        ("Ngân hàng TMCP Đầu tư và Phát triển Việt Nam (BIDV)", "BIDV"),
        ("970415", "ICB"),
        (" tcb ", "TCB"),
    ],
)
def test_a_bank_written_by_its_name_is_its_code_on_both_forms(db_session, written, code):
    """Units write the bank as they know it: "Vietcombank" was refused as an unknown code "VIETCOMBANK" although the
    list knows it by that name. Form 02 and Form 03 rows take the brand, the legal name (with "NH", without marks or
    "TMCP") and the NAPAS number, and record the code."""
    employer, (confirmed, corrected) = _unit_with("listed", "awaiting_payment_details")
    two = forms.confirm(
        nq116(), employer.unit_code, [{"si_code": _si(confirmed), "bank_code": written, "bank_account": "0071000123"}]
    )
    three = forms.adjust(
        nq116(),
        employer.unit_code,
        [{"si_code": _si(corrected), "action": "correct", "bank_code": written, "bank_account": "0071000456"}],
        today=TODAY,
    )
    assert [two.rows[0].outcome, three.rows[0].outcome] == ["confirmed", "corrected"], (two.rows, three.rows)
    assert {db.session.get(Claim, c.id).bank_code for c in (confirmed, corrected)} == {code}


def test_a_bank_name_is_no_guess(db_session):
    """No way of writing a bank names two (a brand that is another bank's code, a shared word) and nothing unknown
    becomes a bank."""
    from disburse.reference.service import bank_code_of, bank_names

    names = bank_names()
    assert bank_code_of("Ngân hàng", names) == "NGÂN HÀNG" and bank_code_of("Bank", names) == "BANK"
    assert bank_code_of("Ngân hàng TMCP", names) == "NGÂN HÀNG TMCP"
    for city_or_word in ("Sài Gòn", "Quân đội", "Bảo Việt", "Đại Dương", "Việt Á", "Phương Đông", "Ngoại thương"):
        assert bank_code_of(city_or_word, names) == city_or_word.upper(), city_or_word  # a branch's city, a word
    assert all(bank_code_of(code, names) == code for code in set(names.values()))


@pytest.mark.parametrize("cell", ["si_code", "decline", "bank_code", "bank_account"])
def test_form_02_refuses_a_formula_never_calculated_in_every_cell_it_reads(db_session, cell):
    """A bank cell holding a formula with no value was read as blank once banks were taken by name: the row was
    confirmed as cash. Every cell the form reads refuses its row so, whatever else the row holds."""
    from disburse.spreadsheets import UncalculatedFormula

    employer, (claim,) = _unit_with("listed")
    row: dict[str, object] = {"si_code": _si(claim), "bank_code": "", "bank_account": ""}
    row[cell] = UncalculatedFormula('VLOOKUP(A2,"banks",2)')
    result = forms.confirm(nq116(), employer.unit_code, [row], today=TODAY)
    assert [(e.field, e.code) for e in result.rows[0].errors] == [(cell, "uncalculated_formula")]
    assert db.session.get(Claim, claim.id).state == "listed"


@pytest.mark.parametrize("cell", ["si_code", "action", "bank_code", "bank_account", "phone", "reason"])
def test_form_03_refuses_a_formula_never_calculated_in_every_cell_it_reads(db_session, cell):
    """Form 03 read a formula with no value as blank: a correction without its details, or a row "left blank"."""
    from disburse.claims.unit import _left_blank
    from disburse.spreadsheets import UncalculatedFormula

    employer, (claim,) = _unit_with("awaiting_payment_details")
    row: dict[str, object] = {"si_code": _si(claim), "action": "correct", "bank_code": "", "bank_account": ""}
    row[cell] = UncalculatedFormula("B2")
    assert not _left_blank(row) or cell in ("si_code", "action", "reason")
    result = forms.adjust(nq116(), employer.unit_code, [row], today=TODAY)
    assert [(e.field, e.code) for e in result.rows[0].errors] == [(cell, "uncalculated_formula")]
    assert db.session.get(Claim, claim.id).state == "awaiting_payment_details"


def _names_the_forms_choices(error) -> None:
    """A Form 03 message that says which adjustment to send names it as the page's radio offers it, in each language
    (it said "gửi điều chỉnh loại 'Bổ sung' (add)", a choice the page does not have), and as the file writes it."""
    from flask_babel import force_locale

    from disburse.claims.web_forms import Form03Form

    for message, locale in ((error.message_vi, "vi"), (error.message_en, "en")):
        with force_locale(locale):
            choices = {str(choice.label) for choice in Form03Form.action.kwargs["choices"]}
        quoted = re.findall(r"“([^”]+)”", message)
        assert quoted and set(quoted) <= choices, (message, choices)
        assert re.search(r"\b(add|correct)\b", message), message


def test_form_03_correction_of_someone_not_listed_says_to_add_them_as_the_page_offers_it(db_session):
    employer, _ = _unit_with("employer_confirmed")
    stranger = create_employee(employer_id=employer.id)
    row = {"si_code": stranger.si_code, "action": "correct", "phone": "0912345678"}
    (error,) = forms.adjust(nq116(), employer.unit_code, [row], today=TODAY).rows[0].errors
    assert error.code == "not_on_list"
    _names_the_forms_choices(error)


@pytest.mark.usefixtures("paying_clock")  # the office's correction sends the claim to be paid within the period
def test_an_account_an_earlier_payment_failed_with_is_refused_naming_why_on_form_03_and_the_office_s_correction(
    db_session,
):
    """Only the latest failed account was refused: an account closed on attempt 1 was taken again after attempt 2
    failed with another, and was sent to fail again. Every account an earlier payment of the claim failed or came
    back with, for the account's sake, is refused naming why; one the bank itself failed to reach (a timeout) is not."""
    from disburse.payments.models import Payment
    from tests.factories import create_payment

    employer, (by_form, by_office) = _unit_with("awaiting_payment_details", "awaiting_payment_details")
    closed, timed_out = "0071000111", "0071000222"
    for claim in (by_form, by_office):
        create_payment(claim, "failed", attempt=1, bank_code="VCB", bank_account=closed)  # closed (AC04)
        late = create_payment(claim, "failed", attempt=2, bank_code="VCB", bank_account=timed_out)
        db.session.get(Payment, late.id).failure_code = "rjct.bank.timeout"
        create_payment(claim, "failed", attempt=3)  # the claim's own details, the latest failure
    db.session.flush()

    def form_03(claim, account):
        row = {"si_code": _si(claim), "action": "correct", "bank_code": "VCB", "bank_account": account}
        return forms.adjust(nq116(), employer.unit_code, [row], today=TODAY).rows[0]

    for row in (form_03(by_form, closed), forms.correct_payment_details(by_office.id, "vcb", closed)):
        assert [(e.field, e.code) for e in row.errors] == [("bank_account", "failed_before")], row.errors
        assert (
            "Một lần chi trả trước vào tài khoản này đã không thành công (Tài khoản đã đóng)"
            in row.errors[0].message_vi
        )
        assert "An earlier payment to this account failed (Closed account); give another account." in (
            row.errors[0].message_en
        )
    assert {_state(db_session, c) for c in (by_form, by_office)} == {"awaiting_payment_details"}
    # An account the bank only failed to reach is taken again.
    assert form_03(by_form, timed_out).outcome == "corrected"
    assert not forms.correct_payment_details(by_office.id, "VCB", timed_out).errors
    assert {db.session.get(Claim, c.id).bank_account for c in (by_form, by_office)} == {timed_out}
