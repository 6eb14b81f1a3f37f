"""Verification batches in-process, one check at a time: what each check finds, the decision it leads to, the
written reason, the events, the payment SLA, and that a batch run twice does nothing the second time."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.support import reason_entries
from disburse.extensions import db
from disburse.programs.rules import REASON_LABELS
from disburse.verification import checks, reasons
from disburse.verification import service as verification
from tests.factories import create_claim, create_employer, create_person, create_program, nq116

#: Inside NQ116's payment period (applications until 20/12/2021, payment until 31/12/2021, extension 10/09/2022).
TODAY = date(2021, 11, 15)
CONFIRMED_ON = date(2021, 10, 25)  # Monday: +10 working days = Monday 08/11/2021
APPLIED_ON = date(2021, 12, 1)  # Wednesday: +10 working days = 15/12/2021


def confirmed(**overrides):
    overrides.setdefault("employee", create_person())
    overrides.setdefault("confirmed_on", CONFIRMED_ON)
    return create_claim("employer_confirmed", **overrides)


def applied(**overrides):
    overrides.setdefault("employee", create_person())
    overrides.setdefault("applied_on", APPLIED_ON)
    return create_claim("applied", **overrides)


def run(*claims_, today=TODAY):
    result = verification.verify(ids=[c.id for c in claims_], today=today)
    for claim in claims_:
        db.session.refresh(claim)
    return result


def history(claim):
    return [(e.action, e.from_state, e.to_state) for e in claims.claim_events(claim.id)]


def last_event(claim) -> ClaimEvent:
    return claims.claim_events(claim.id)[-1]


def rollups_match(db_session) -> bool:
    drift = db_session.execute(
        text(
            """SELECT count(*) FROM (
                 (SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
                  GROUP BY 1, 2, 3, 4
                  EXCEPT
                  SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
                  WHERE claims <> 0)
                 UNION ALL
                 (SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
                  WHERE claims <> 0
                  EXCEPT
                  SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
                  GROUP BY 1, 2, 3, 4)) d"""
        )
    ).scalar_one()
    return drift == 0


# ------------------------------------------------------------------------------------------------ the happy paths


def test_a_confirmed_claim_is_approved_through_verifying_with_its_form02_sla(db_session):
    claim = confirmed(reasons=["possible_duplicate"])  # listed with a flag the registry no longer carries
    result = run(claim)
    assert result.approved == [claim.id] and result.total == 1
    assert claim.state == "approved" and claim.reasons == []
    assert claim.payment_due_on == date(2021, 11, 8)
    assert history(claim)[-2:] == [
        ("start_verification", "employer_confirmed", "verifying"),
        ("approve", "verifying", "approved"),
    ]
    assert last_event(claim).reason is None and last_event(claim).actor_id is None
    assert rollups_match(db_session)


def test_an_application_is_approved_with_its_form04_sla_capped_at_the_payment_deadline(db_session):
    early, late = applied(), applied(applied_on=date(2021, 12, 20))
    run(early, late, today=date(2021, 12, 21))
    assert (early.state, early.payment_due_on) == ("approved", date(2021, 12, 15))
    # 10 working days after 20/12/2021 is 04/01/2022: the 31/12/2021 limit applies (docs/rules.md, track B).
    assert (late.state, late.payment_due_on) == ("approved", date(2021, 12, 31))
    assert history(early)[-2:] == [("start_verification", "applied", "verifying"), ("approve", "verifying", "approved")]


def test_a_claim_left_in_verifying_takes_only_the_decision(db_session):
    claim = create_claim("verifying", employee=create_person(), confirmed_on=CONFIRMED_ON)
    before = history(claim)
    run(claim)
    assert claim.state == "approved"
    assert history(claim) == [*before, ("approve", "verifying", "approved")]


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("person", "employer", "codes"),
    [
        ({}, {"sector": "state_agency"}, ["excluded_sector"]),
        (
            {"ui_status": "stopped", "ui_stopped_on": date(2019, 12, 31), "employer_id": None},
            None,
            ["stopped_outside_window"],
        ),
        (
            {"ui_status": "stopped", "ui_stopped_on": date(2021, 3, 1), "pension_decision": True, "employer_id": None},
            None,
            ["pension_decision"],
        ),
        (
            {"ui_status": "stopped", "ui_stopped_on": date(2022, 1, 1), "pension_decision": True, "employer_id": None},
            None,
            ["pension_decision", "stopped_outside_window"],
        ),
    ],
)
def test_the_rules_as_the_registry_stands_now_refuse_with_a_written_reason(db_session, person, employer, codes):
    employee = create_person(**person)
    claim = confirmed(employee=employee, employer_id=create_employer().id)
    if employer is not None:
        # The registry was corrected after the person was listed: their unit is in an excluded sector.
        db_session.execute(
            text("UPDATE employers SET sector = :s WHERE id = :id"),
            {"s": employer["sector"], "id": employee.employer_id},
        )
    run(claim)
    assert claim.state == "rejected" and claim.reasons == codes
    event = last_event(claim)
    assert (event.action, event.from_state, event.to_state) == ("reject", "verifying", "rejected")
    assert event.reason == " ".join(REASON_LABELS[c][0] for c in codes)
    assert event.data == {"reasons": codes, "reason_code": codes[0]}  # as a caseworker's refusal carries it
    assert claim.payment_due_on is None


def on_the_programme_clock(app, monkeypatch, day: date, *claims_):
    """Verify ``claims_`` as the workers do: no ``today`` given, the programme clock (DISBURSE_TODAY) says the day."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", day.isoformat())
    verification.verify(ids=[c.id for c in claims_])
    for claim in claims_:
        db.session.refresh(claim)


@pytest.mark.parametrize(
    ("applied_on", "refused"),
    [(date(2021, 12, 19), False), (date(2021, 12, 20), False), (date(2021, 12, 21), True)],
    ids=["the day before", "the deadline", "the day after"],
)
def test_an_application_after_the_deadline_is_refused(app, db_session, monkeypatch, applied_on, refused):
    """The application deadline (20/12/2021) against the day the Form 04 was received, verified on 22/12/2021."""
    claim = applied(applied_on=applied_on)
    on_the_programme_clock(app, monkeypatch, date(2021, 12, 22), claim)
    if not refused:
        assert (claim.state, claim.reasons) == ("approved", [])
        return
    assert (claim.state, claim.reasons) == ("rejected", ["applied_after_deadline"])
    assert last_event(claim).reason == reasons.label("applied_after_deadline")[0]
    assert last_event(claim).data["reason_code"] == "applied_after_deadline"


def test_a_refusal_names_only_the_refusing_reasons_but_the_claim_keeps_every_code(db_session):
    claim = applied(applied_on=date(2021, 12, 21), bank_account=None, bank_code=None)
    run(claim, today=date(2021, 12, 22))
    assert claim.state == "rejected"
    assert claim.reasons == ["applied_after_deadline", "bank_details_missing"]
    assert last_event(claim).reason == reasons.label("applied_after_deadline")[0]


# ------------------------------------------------------------------------------------------------ reviews


def test_zero_months_goes_to_review(db_session):
    claim = confirmed(employee=create_person(unused_months=0), unused_months=0, amount_vnd=1_800_000)
    run(claim)
    assert (claim.state, claim.reasons) == ("needs_review", ["zero_months"])
    event = last_event(claim)
    assert (event.action, event.reason) == ("flag_for_review", REASON_LABELS["zero_months"][0])
    assert claim.payment_due_on == date(2021, 11, 8), "the SLA runs from Form 02 while the case is reviewed"


def test_not_confirmed_by_the_employer_goes_to_review_without_an_sla(db_session):
    claim = create_claim("employer_overdue", employee=create_person())
    run(claim)
    assert (claim.state, claim.reasons, claim.payment_due_on) == ("needs_review", ["not_confirmed_by_employer"], None)
    assert history(claim)[-2:] == [
        ("start_verification", "employer_overdue", "verifying"),
        ("flag_for_review", "verifying", "needs_review"),
    ]


@pytest.mark.parametrize(
    ("payout", "bank_code", "bank_account", "state", "codes"),
    [
        ("bank", "VCB", "0011004455667", "approved", []),
        ("bank", None, None, "needs_review", ["bank_details_missing"]),
        ("bank", "VCB", None, "needs_review", ["bank_details_missing"]),
        ("bank", "VCB", "12345", "needs_review", ["bank_details_malformed"]),
        ("bank", "VCB", "0011-0044-556", "needs_review", ["bank_details_malformed"]),
        ("bank", "VCB", "12345678901234567890", "needs_review", ["bank_details_malformed"]),
        ("cash", None, None, "approved", []),
    ],
)
def test_bank_details_for_a_bank_payout(db_session, payout, bank_code, bank_account, state, codes):
    claim = confirmed(payout=payout, bank_code=bank_code, bank_account=bank_account)
    run(claim)
    assert (claim.state, claim.reasons) == (state, codes)


def test_registry_months_that_change_the_amount_update_the_claim_and_go_to_review(db_session):
    employee = create_person(unused_months=130)  # 2.900.000 now; listed with 24 months (2.100.000)
    claim = confirmed(employee=employee, unused_months=24, amount_vnd=2_100_000)
    result = run(claim)
    assert result.reassessed == [claim.id]
    assert (claim.unused_months, claim.amount_vnd) == (130, 2_900_000)
    assert (claim.state, claim.reasons) == ("needs_review", ["amount_changed"])
    assert history(claim)[-3:] == [
        ("reassess", "employer_confirmed", "employer_confirmed"),
        ("start_verification", "employer_confirmed", "verifying"),
        ("flag_for_review", "verifying", "needs_review"),
    ]
    reassess = claims.claim_events(claim.id)[-3]
    assert reassess.data == {"unused_months": [24, 130], "amount_vnd": [2_100_000, 2_900_000]}
    assert rollups_match(db_session)


def test_registry_months_in_the_same_tier_update_the_claim_and_approve(db_session):
    claim = confirmed(employee=create_person(unused_months=30), unused_months=24, amount_vnd=2_100_000)
    run(claim)
    assert (claim.unused_months, claim.amount_vnd, claim.state) == (30, 2_100_000, "approved")
    assert ("reassess", "employer_confirmed", "employer_confirmed") in history(claim)


@pytest.mark.parametrize(
    ("extension_until", "today", "ended"),
    [
        (date(2022, 9, 10), date(2022, 9, 9), False),
        (date(2022, 9, 10), date(2022, 9, 10), False),
        (date(2022, 9, 10), date(2022, 9, 11), True),
        # No extension: the payment deadline (31/12/2021) is the end.
        (None, date(2021, 12, 30), False),
        (None, date(2021, 12, 31), False),
        (None, date(2022, 1, 1), True),
    ],
    ids=["extension-before", "extension-on", "extension-after", "deadline-before", "deadline-on", "deadline-after"],
)
def test_after_the_payment_period_a_caseworker_decides(app, db_session, monkeypatch, extension_until, today, ended):
    """The end of the pay-by period (the extension, or the payment deadline without one) by the programme clock: the
    day before and the day itself still approve; from the day after, a caseworker decides."""
    claim = confirmed(program=create_program(extension_until=extension_until))
    on_the_programme_clock(app, monkeypatch, today, claim)
    if ended:
        assert (claim.state, claim.reasons) == ("needs_review", ["payment_period_ended"])
    else:
        assert (claim.state, claim.reasons) == ("approved", [])


# ------------------------------------------------------------------------------------------------ duplicates


def test_the_same_national_id_under_another_si_code_goes_to_review(db_session):
    create_person(national_id="001088000001")  # an older record of the same person, no claim
    claim = confirmed(employee=create_person(national_id="001088000001"))
    run(claim)
    assert (claim.state, claim.reasons) == ("needs_review", ["possible_duplicate"])


def test_one_person_on_two_units_lists(db_session):
    first = confirmed(employee=create_person(national_id="001088000002"))
    second = create_claim("listed", employee=create_person(national_id="001088000002"))
    assert first.employer_id != second.employer_id
    run(first)
    assert (first.state, first.reasons) == ("needs_review", ["listed_twice", "possible_duplicate"])
    assert last_event(first).data == {"reasons": ["listed_twice", "possible_duplicate"], "duplicates": [second.id]}


def test_track_a_and_track_b_for_the_same_person(db_session):
    listed = confirmed(employee=create_person(national_id="001088000003"))
    application = applied(employee=create_person(national_id="001088000003"))
    run(listed, application)
    for claim in (listed, application):
        assert (claim.state, claim.reasons) == ("needs_review", ["both_tracks", "possible_duplicate"])


def test_a_closed_counterpart_makes_no_claim_duplicate(db_session):
    create_claim("rejected", employee=create_person(national_id="001088000004"))
    claim = confirmed(employee=create_person(national_id="001088000004"))
    run(claim)
    assert claim.reasons == ["possible_duplicate"], "the registry still has two SI codes, but no second claim"


@pytest.mark.parametrize(
    ("name", "other", "near"),
    [
        ("Nguyễn Văn Hải", "NGUYEN VAN HAI", True),  # no diacritics, other case
        ("Nguyễn Văn Hải", "Nguyễn  Văn   Hải ", True),  # spaces
        ("Nguyễn Văn Anh", "Nguyễn Văn An", True),  # one letter
        ("Trần Thị Thanh Lan", "Trần Thị Lan", True),  # a middle name dropped
        ("Phạm Minh Tuấn", "Phạm Mình Tuấn", True),  # a wrong tone mark
        ("Lê Ngọc Linh", "Lê Ngọc Bình", True),  # one letter is one letter
        ("Nguyễn Văn An", "Nguyễn Văn Bình", False),  # another given name
        ("Nguyễn Văn Hải", "Trần Thị Hải", False),  # two parts differ
        ("Hoàng Quốc Việt", "Hoàng Việt Quốc", False),  # parts swapped
    ],
)
def test_near_duplicates_same_birthday_and_nearly_the_same_name(db_session, name, other, near):
    born = date(1985, 5, 17)
    a = confirmed(employee=create_person(full_name=name, date_of_birth=born))
    b = applied(employee=create_person(full_name=other, date_of_birth=born))
    run(a, b)
    expected = ["near_duplicate"] if near else []
    assert (a.reasons, b.reasons) == (expected, expected)
    if near:
        assert last_event(a).data == {"reasons": ["near_duplicate"], "duplicates": [b.id]}


#: Two people who share nothing but a birthday and a common name: IDs far apart, their own phones and accounts.
APART = (
    {"national_id": "001085012345", "phone": "0912000001"},
    {"national_id": "079085987654", "phone": "0987000002"},
)


@pytest.mark.parametrize(
    ("link", "first", "second"),
    [
        ("none", {}, {}),
        ("one digit mistyped", {}, {"national_id": "001085012845"}),
        ("two neighbouring digits swapped", {}, {"national_id": "001085013245"}),
        ("an old CMND beside the CCCD", {}, {"national_id": "012345678"}),
        ("the same phone", {}, {"phone": "0912000001"}),
        ("the same bank account", {"bank_account": "19033344455566"}, {"bank_account": "19033344455566"}),
    ],
)
def test_a_near_duplicate_needs_a_link_beside_the_birthday_and_the_name(db_session, link, first, second):
    """At national scale about 760 people share each birthday, and common names repeat among them: a similar name
    and the same birthday alone would send a quarter of all claims to review."""
    born = date(1990, 3, 14)
    people = []
    for apart, mine in zip(APART, (first, second), strict=True):
        person = {**apart, **{k: v for k, v in mine.items() if k != "bank_account"}}
        people.append(create_person(full_name="Nguyễn Văn Hùng", date_of_birth=born, **person))
    a = confirmed(employee=people[0], bank_account=first.get("bank_account", "0011004455001"))
    b = confirmed(employee=people[1], bank_account=second.get("bank_account", "0011004455002"))
    run(a, b)
    expected = [] if link == "none" else ["near_duplicate"]
    assert (a.reasons, b.reasons) == (expected, expected)
    assert (a.state, b.state) == (("approved",) * 2 if link == "none" else ("needs_review",) * 2)


def _one_typo_apart(a: str, b: str) -> bool:
    """The reference: same length, and one digit different or two neighbouring digits swapped."""
    diff = [i for i in range(len(a)) if a[i] != b[i]] if len(a) == len(b) else None
    if diff is None:
        return False
    return len(diff) == 1 or (
        len(diff) == 2 and diff[1] == diff[0] + 1 and (a[diff[0]], a[diff[1]]) == (b[diff[1]], b[diff[0]])
    )


_ids = st.sampled_from([9, 12]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))


@st.composite
def _id_pairs(draw):
    """An ID and another: mistyped, swapped, changed in several places, of the other kind, or the same."""
    a = draw(_ids)
    kind = draw(st.sampled_from(["typo", "swap", "several", "other", "same"]))
    chars = list(a)
    if kind == "typo":
        i = draw(st.integers(0, len(a) - 1))
        chars[i] = draw(st.sampled_from("0123456789"))
    elif kind == "swap":
        i = draw(st.integers(0, len(a) - 2))
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif kind == "several":
        for i in draw(st.lists(st.integers(0, len(a) - 1), min_size=2, max_size=5)):
            chars[i] = draw(st.sampled_from("0123456789"))
    elif kind == "other":
        return a, draw(_ids)
    return a, "".join(chars)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=_id_pairs())
def test_one_typo_apart_in_the_database_is_the_reference(db_session, pair):
    a, b = pair
    found = db_session.execute(text("SELECT disburse_one_typo_apart(:a, :b)"), {"a": a, "b": b}).scalar_one()
    assert found is _one_typo_apart(a, b)


def test_no_near_duplicate_on_another_birthday_or_without_one(db_session):
    a = confirmed(employee=create_person(full_name="Đỗ Thanh Tùng", date_of_birth=date(1985, 5, 17)))
    b = confirmed(employee=create_person(full_name="Đỗ Thanh Tùng", date_of_birth=date(1985, 5, 18)))
    c = confirmed(employee=create_person(full_name="Đỗ Thanh Tùng", date_of_birth=None))
    d = confirmed(employee=create_person(full_name="Đỗ Thanh Tùng", date_of_birth=None))
    run(a, b, c, d)
    assert [x.state for x in (a, b, c, d)] == ["approved"] * 4


def test_a_near_duplicate_verified_earlier_is_found_by_the_later_claim(db_session):
    born = date(1979, 2, 3)
    earlier = confirmed(employee=create_person(full_name="Bùi Thị Thảo", date_of_birth=born))
    run(earlier)
    assert earlier.state == "approved"
    later = applied(employee=create_person(full_name="Bui Thi Thao", date_of_birth=born))
    run(later)
    assert (later.state, later.reasons) == ("needs_review", ["near_duplicate"])
    assert last_event(later).data["duplicates"] == [earlier.id]


def test_another_programs_claims_are_no_duplicates(db_session):
    born = date(1979, 2, 4)
    a = confirmed(employee=create_person(full_name="Vũ Đức Nam", date_of_birth=born, national_id="001088000005"))
    b = confirmed(
        employee=create_person(full_name="Vũ Đức Nam", date_of_birth=born, national_id="001088000006"),
        program=create_program(),
    )
    run(a, b)
    assert (a.state, b.state) == ("approved", "approved")


# ------------------------------------------------------------------------------------------------ batches


def test_a_batch_by_id_range_takes_only_waiting_claims_and_a_second_run_does_nothing(db_session):
    waiting = [confirmed(), applied(), create_claim("employer_overdue", employee=create_person())]
    others = [create_claim(s, employee=create_person()) for s in ("listed", "needs_review", "approved", "declined")]
    ids = sorted(c.id for c in [*waiting, *others])
    first = verification.verify(id_range=(ids[0], ids[-1]), today=TODAY)
    assert sorted(first.approved + first.needs_review + first.rejected) == sorted(c.id for c in waiting)
    states_before = {c.id: (db_session.get(Claim, c.id).state, len(history(c))) for c in [*waiting, *others]}

    second = verification.verify(id_range=(ids[0], ids[-1]), today=TODAY)
    assert second.total == 0 and second.reassessed == []
    assert {c.id: (db_session.get(Claim, c.id).state, len(history(c))) for c in [*waiting, *others]} == states_before
    assert rollups_match(db_session)


def test_a_batch_of_nothing_waiting_is_quiet(db_session):
    claim = create_claim("listed", employee=create_person())
    assert verification.verify(ids=[claim.id], today=TODAY).total == 0
    assert verification.verify(ids=[claim.id + 10_000], today=TODAY).total == 0


def test_identities_are_written_once_and_refreshed_when_the_registry_changes(db_session):
    claim = confirmed(employee=create_person(full_name="Hồ  Thị   Yến"))
    assert verification.record_identities(ids=[claim.id]) == 1
    assert verification.record_identities(ids=[claim.id]) == 0, "an unchanged identity is not rewritten"
    name_key = db_session.execute(
        text("SELECT name_key FROM claim_identities WHERE claim_id = :id"), {"id": claim.id}
    ).scalar_one()
    assert name_key == "ho thi yen"
    db_session.execute(
        text("UPDATE employees SET full_name = 'Hồ Thị Yến Nhi' WHERE id = :id"), {"id": claim.employee_id}
    )
    assert verification.record_identities(ids=[claim.id]) == 1


def test_every_reason_code_has_labels_in_both_languages():
    for code in sorted(reasons.REJECT | reasons.REVIEW):
        [entry] = reason_entries([code])
        assert entry["label_vi"] != code and entry["label_en"] != code, code
    assert not (reasons.REJECT & reasons.REVIEW)


def test_the_claim_sla_helper_matches_the_batch(db_session):
    program = nq116()
    claim = confirmed()
    assert checks.claim_payment_due_on(program, claim) == date(2021, 11, 8)
    claim = applied(applied_on=date(2021, 12, 20))
    assert checks.claim_payment_due_on(program, claim) == date(2021, 12, 31)
    assert checks.claim_payment_due_on(program, create_claim("listed", employee=create_person())) is None


def test_approved_claims_leave_the_events_in_step_order(db_session):
    batch = [confirmed() for _ in range(5)]
    run(*batch)
    ids = db_session.scalars(
        select(ClaimEvent.claim_id).where(ClaimEvent.claim_id.in_([c.id for c in batch])).order_by(ClaimEvent.id)
    ).all()
    # The timeline (events by id) reads create, confirm, start_verification, approve for every claim.
    for claim in batch:
        assert [a for a, _, _ in history(claim)] == ["create", "confirm", "start_verification", "approve"]
    assert len(ids) == 20
