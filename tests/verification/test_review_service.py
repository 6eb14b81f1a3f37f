"""The review queue's services against real PostgreSQL: scope, filters, keyset pages, assignment (also two
caseworkers at once), work notes, decisions and duplicates."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from disburse.auth.models import User
from disburse.auth.scopes import can_see
from disburse.casework import service as casework
from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.verification import review
from disburse.verification.review import Conflict, Invalid, NotFound, QueueQuery
from tests.factories import create_claim, create_duplicate_group, create_employer, create_user, nq116

#: These tests approve and pay: the programme clock is a day of its payment period (the real one is past it).
pytestmark = pytest.mark.usefixtures("paying_clock")

HANOI, HCMC = "01", "79"
DONG_ANH, BA_DINH, QUAN_1 = "017", "001", "760"


def _query(**filters) -> QueueQuery:
    return QueueQuery(program_id=nq116().id, **filters)


def _ids(user: User, **filters) -> list[int]:
    return [row["id"] for row in review.list_claims(user, _query(**filters)).rows]


def _events(claim_id: int) -> list[tuple[str, str | None, str, int | None]]:
    return [(e.action, e.from_state, e.to_state, e.actor_id) for e in claims.claim_events(claim_id)]


@pytest.fixture
def spread(db_session):
    """Claims in Đông Anh (two units), Ba Đình and Quận 1 (Hồ Chí Minh City)."""
    unit_a, unit_b = create_employer(district_code=DONG_ANH), create_employer(district_code=DONG_ANH)
    return {
        "dong_anh_a": create_claim("needs_review", employer_id=unit_a.id, district_code=DONG_ANH),
        "dong_anh_b": create_claim("approved", employer_id=unit_b.id, district_code=DONG_ANH),
        "ba_dinh": create_claim("needs_review", district_code=BA_DINH),
        "quan_1": create_claim("needs_review", district_code=QUAN_1),
        "unit_a": unit_a,
    }


# ------------------------------------------------------------------------------------------------------- scope


def test_the_sql_scope_is_can_see_over_the_claims_scope(db_session, spread):
    """scope_clause (lists) and can_see (one claim) decide alike for every role and scope."""
    users = [
        create_user("caseworker", district=DONG_ANH),
        create_user("caseworker", district=QUAN_1),
        create_user("employer", employer_unit=spread["unit_a"].unit_code),
        create_user("employer"),
        create_user("supervisor", province=HANOI),
        create_user("supervisor", province=HCMC),
        create_user("supervisor"),
        create_user("admin"),
    ]
    ours = [c.id for key, c in spread.items() if key != "unit_a"]
    for user in users:
        listed = set(_ids(user, limit=200)) & set(ours)
        seen = {cid for cid in ours if can_see(user, review.claim_scope(db_session.get(Claim, cid)))}
        assert listed == seen, user.role


def test_each_role_sees_its_own_part(db_session, spread):
    ours = {c.id for key, c in spread.items() if key != "unit_a"}

    def sees(user: User) -> set[int]:
        return set(_ids(user, limit=200)) & ours

    assert sees(create_user("caseworker", district=DONG_ANH)) == {spread["dong_anh_a"].id, spread["dong_anh_b"].id}
    assert sees(create_user("employer", employer_unit=spread["unit_a"].unit_code)) == {spread["dong_anh_a"].id}
    assert sees(create_user("supervisor", province=HANOI)) == ours - {spread["quan_1"].id}
    assert sees(create_user("supervisor")) == ours
    assert sees(create_user("admin")) == ours


def test_an_unknown_claim_and_one_outside_the_scope_are_the_same_not_found(db_session, spread):
    caseworker = create_user("caseworker", district=DONG_ANH)
    for claim_id in (spread["quan_1"].id, spread["quan_1"].id + 10_000, 0, 2**63):
        with pytest.raises(NotFound):
            review.claim_detail(claim_id, caseworker)
        with pytest.raises(NotFound):
            review.approve(claim_id, caseworker)


# ----------------------------------------------------------------------------------------------------- filters


def test_filters(db_session, spread):
    admin = create_user("admin")
    caseworker = create_user("caseworker", district=DONG_ANH)
    zero = create_claim("needs_review", reasons=["zero_months"], district_code=DONG_ANH)
    review.assign(spread["dong_anh_a"].id, caseworker)
    ours = {c.id for key, c in spread.items() if key != "unit_a"} | {zero.id}

    def only(**filters) -> set[int]:
        return set(_ids(admin, limit=200, **filters)) & ours

    assert only(state="approved") == {spread["dong_anh_b"].id}
    assert only(district=BA_DINH) == {spread["ba_dinh"].id}
    assert only(employer=spread["unit_a"].unit_code) == {spread["dong_anh_a"].id}
    assert only(employer="NO-SUCH-UNIT") == set()
    assert only(reason="zero_months") == {zero.id}
    assert only(assigned=caseworker.id) == {spread["dong_anh_a"].id}
    assert only(assigned="none") == ours - {spread["dong_anh_a"].id}
    assert set(_ids(caseworker, limit=200, assigned="me")) == {spread["dong_anh_a"].id}
    assert only(state="needs_review", district=DONG_ANH, assigned="none") == {zero.id}


def test_rows_carry_the_person_and_the_reasons_with_their_labels(db_session):
    claim = create_claim("needs_review", reasons=["zero_months"])
    row = next(r for r in review.list_claims(create_user("admin"), _query(limit=200)).rows if r["id"] == claim.id)
    employee = claim_employee(db_session, claim)
    assert (row["si_code"], row["full_name"], row["state"]) == (employee.si_code, employee.full_name, "needs_review")
    assert row["reasons"][0]["code"] == "zero_months" and row["reasons"][0]["label_vi"].startswith("Không có tháng")
    assert row["amount_vnd"] == 2_100_000


def claim_employee(db_session, claim: Claim):
    from disburse.registry.models import Employee

    return db_session.get(Employee, claim.employee_id)


def test_keyset_pages_are_stable_across_inserts(db_session):
    """Claims added while someone pages through appear after the last page, never twice and never in a gap."""
    supervisor = create_user("supervisor", province=HANOI)
    district = "018"
    first = [create_claim("needs_review", district_code=district) for _ in range(5)]
    page1 = review.list_claims(supervisor, _query(district=district, limit=2))
    assert [r["id"] for r in page1.rows] == [c.id for c in first[:2]] and page1.next_after == first[1].id

    late = [create_claim("needs_review", district_code=district) for _ in range(2)]
    seen = [r["id"] for r in page1.rows]
    after = page1.next_after
    while after is not None:
        page = review.list_claims(supervisor, _query(district=district, limit=2, after=after))
        seen += [r["id"] for r in page.rows]
        after = page.next_after
    assert seen == sorted(seen) == [c.id for c in first + late]


def test_the_last_full_page_says_there_is_no_next(db_session):
    admin = create_user("admin")
    claims_ = [create_claim("needs_review", district_code="019") for _ in range(2)]
    page = review.list_claims(admin, _query(district="019", limit=2))
    assert [r["id"] for r in page.rows] == [c.id for c in claims_] and page.next_after is None


# -------------------------------------------------------------------------------------------------- assignment


def test_a_caseworker_takes_a_claim_once_and_not_from_someone_else(db_session):
    claim = create_claim("needs_review")
    lan, minh = create_user("caseworker"), create_user("caseworker")

    first = review.assign(claim.id, lan)
    assert first.changed and claim.assigned_to_id == lan.id and claim.assigned_at is not None
    assert review.assign(claim.id, lan).changed is False  # twice to oneself: nothing new
    with pytest.raises(Conflict) as taken:
        review.assign(claim.id, minh)
    assert taken.value.code == "assigned_to_another"
    with pytest.raises(Conflict):
        review.release(claim.id, minh)
    with pytest.raises(Invalid) as other:
        review.assign(claim.id, lan, to_user_id=minh.id)  # caseworkers take cases only for themselves
    assert "user_id" in other.value.fields

    assert _events(claim.id)[-1] == ("assign", "needs_review", "needs_review", lan.id)
    assert len([e for e in _events(claim.id) if e[0] == "assign"]) == 1


def test_a_supervisor_reassigns_and_the_holder_or_a_supervisor_releases(db_session):
    claim = create_claim("needs_review")
    lan, minh = create_user("caseworker"), create_user("caseworker")
    boss = create_user("supervisor", province=HANOI)
    review.assign(claim.id, lan)

    moved = review.assign(claim.id, boss, to_user_id=minh.id)
    assert moved.changed and claim.assigned_to_id == minh.id
    assert moved.events[0].data == {"assigned_to_id": minh.id, "previous_assigned_to_id": lan.id}
    with pytest.raises(Invalid):  # the target must be someone who may work the claim
        review.assign(claim.id, boss, to_user_id=create_user("caseworker", district=QUAN_1).id)
    with pytest.raises(Invalid):
        review.assign(claim.id, boss, to_user_id=create_user("employer").id)

    assert review.release(claim.id, minh).changed and claim.assigned_to_id is None
    assert review.release(claim.id, minh).changed is False
    review.assign(claim.id, lan)
    assert review.release(claim.id, boss).changed
    assert [e[0] for e in _events(claim.id)][-5:] == ["assign", "assign", "release", "assign", "release"]


def test_closed_claims_are_not_assigned_and_employers_never_act(db_session):
    with pytest.raises(Conflict) as closed:
        review.assign(create_claim("paid").id, create_user("caseworker"))
    assert closed.value.code == "invalid_state"
    employer_user = create_user("employer")
    with pytest.raises(review.Forbidden):
        review.assign(create_claim("needs_review").id, employer_user)


def test_work_on_a_claim_someone_else_holds_is_refused_to_caseworkers(db_session):
    claim = create_claim("needs_review")
    lan, minh = create_user("caseworker"), create_user("caseworker")
    review.assign(claim.id, lan)
    for act in (
        lambda: review.approve(claim.id, minh),
        lambda: review.reject(claim.id, minh, "not_employed_on_cutoff", "Đã nghỉ việc."),
        lambda: review.log_contact(claim.id, minh, "phone", "reached"),
        lambda: review.request_info(claim.id, minh, "person", "Bổ sung giấy tờ."),
    ):
        with pytest.raises(Conflict):
            act()
    assert review.approve(claim.id, create_user("admin")).changed  # an admin may act on any case


def test_assign_next_takes_unassigned_claims_in_review_of_the_district_received_the_same_day_in_id_order(db_session):
    district = "020"
    lan = create_user("caseworker", district=district)
    queue = [create_claim("needs_review", district_code=district) for _ in range(4)]
    create_claim("approved", district_code=district)
    create_claim("needs_review", district_code="021")
    review.assign(queue[0].id, create_user("caseworker", district=district))

    taken = review.assign_next(lan, nq116().id, 2)
    assert [c.id for c in taken] == [queue[1].id, queue[2].id]
    assert all(c.assigned_to_id == lan.id for c in taken)
    assert _events(queue[1].id)[-1] == ("assign", "needs_review", "needs_review", lan.id)
    assert [c.id for c in review.assign_next(lan, nq116().id, 50)] == [queue[3].id]
    assert review.assign_next(lan, nq116().id, 50) == []
    with pytest.raises(Invalid) as too_many:
        review.assign_next(lan, nq116().id, 51)
    assert "count" in too_many.value.fields
    with pytest.raises(Invalid) as no_district:
        review.assign_next(create_user("admin"), nq116().id, 1)
    assert "district" in no_district.value.fields


def test_assign_next_gives_the_longest_waiting_first(db_session):
    """The hint says "in the order received": a claim the office received earlier (its Form 02 or Form 04 day) comes
    before one received later, whatever their ids (the first handed out had waited 0 days while others waited 4)."""
    district = "020"
    lan = create_user("caseworker", district=district)
    late, early, middle = (create_claim("needs_review", district_code=district) for _ in range(3))
    for claim, day in ((late, date(2021, 10, 20)), (early, date(2021, 10, 4)), (middle, date(2021, 10, 12))):
        claim.confirmed_on = day
    db_session.flush()
    assert [c.id for c in review.assign_next(lan, nq116().id, 3)] == [early.id, middle.id, late.id]


def test_two_caseworkers_asking_at_once_get_different_claims(app: Flask):
    """Two sessions on two connections, the first still holding its claims: the second skips them instead of
    waiting (FOR UPDATE SKIP LOCKED). The claims are committed for real (without events, so that they can be
    deleted again), and both sessions roll back."""
    district = "250"
    with app.app_context():
        unit = create_employer(district_code=district)
        lan, minh = create_user("caseworker", district=district), create_user("caseworker", district=district)
        db.session.commit()
        program_id = nq116().id
        ids = _committed_claims(program_id, unit.id, district, 4)
        original = db.session
        first, second = Session(bind=db.engine.connect()), Session(bind=db.engine.connect())
        try:
            second.execute(text("SET lock_timeout = '3s'"))  # waiting instead of skipping fails, not hangs
            db.session = first  # type: ignore[assignment]
            taken_first = review.assign_next(first.get(User, lan.id), program_id, 2)
            db.session = second  # type: ignore[assignment]
            taken_second = review.assign_next(second.get(User, minh.id), program_id, 3)
            assert [c.id for c in taken_first] == ids[:2]
            assert [c.id for c in taken_second] == ids[2:]
        finally:
            db.session = original
            for session in (first, second):
                session.rollback()
                session.connection().close()
                session.close()
            _delete_committed(ids, unit.id, [lan.id, minh.id])


def _committed_claims(program_id: int, employer_id: int, district: str, n: int) -> list[int]:
    ids = []
    with db.engine.begin() as conn:
        for i in range(n):
            employee_id = conn.execute(
                text(
                    """INSERT INTO employees (si_code, national_id, full_name, ui_status, unused_months, employer_id,
                                              district_code)
                       VALUES (:si, :nid, 'Người Thử Khóa', 'participating', 24, :e, :d) RETURNING id"""
                ),
                {
                    "si": f"09{employer_id % 10**5:05d}{i:03d}",
                    "nid": f"09{employer_id % 10**7:07d}{i:03d}",
                    "e": employer_id,
                    "d": district,
                },
            ).scalar_one()
            ids.append(
                conn.execute(
                    text(
                        """INSERT INTO claims (program_id, employee_id, employer_id, district_code, track,
                                               support_group, unused_months, amount_vnd, state)
                           VALUES (:p, :emp, :e, :d, 'A', 'A', 24, 2100000, 'needs_review') RETURNING id"""
                    ),
                    {"p": program_id, "emp": employee_id, "e": employer_id, "d": district},
                ).scalar_one()
            )
    return ids


def _delete_committed(claim_ids: list[int], employer_id: int, user_ids: list[int]) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM claims WHERE id = ANY(:i)"), {"i": claim_ids})
        conn.execute(text("DELETE FROM claim_counters WHERE employer_id = :e AND claims = 0"), {"e": employer_id})
        conn.execute(text("DELETE FROM employees WHERE employer_id = :e"), {"e": employer_id})
        conn.execute(  # their creation, audited with no actor
            text("DELETE FROM audit_log WHERE object_type = 'user' AND object_id = ANY(CAST(:u AS text[]))"),
            {"u": user_ids},
        )
        conn.execute(text("DELETE FROM users WHERE id = ANY(:u)"), {"u": user_ids})
        conn.execute(text("DELETE FROM employers WHERE id = :e"), {"e": employer_id})


# -------------------------------------------------------------------------------------------------- work notes


def test_contact_attempts_and_information_requests_keep_the_state_and_name_the_caseworker(db_session):
    claim = create_claim("needs_review")
    lan = create_user("caseworker")
    contact = review.log_contact(claim.id, lan, "home_visit", "message_left", "Gặp người nhà, hẹn gọi lại.")
    asked = review.request_info(claim.id, lan, "employer", "Gửi bản sao hợp đồng lao động.", due_on=None)
    assert contact.events[0].data == {
        "channel": "home_visit",
        "outcome": "message_left",
        "note": "Gặp người nhà, hẹn gọi lại.",
    }
    assert asked.events[0].data == {"addressee": "employer", "note": "Gửi bản sao hợp đồng lao động.", "due_on": None}
    assert _events(claim.id)[-2:] == [
        ("contact", "needs_review", "needs_review", lan.id),
        ("request_info", "needs_review", "needs_review", lan.id),
    ]
    with pytest.raises(Conflict):  # a decided claim asks nobody for anything
        review.request_info(create_claim("rejected").id, lan, "person", "?")


# --------------------------------------------------------------------------------------------------- decisions


def test_approve_moves_through_the_one_transition_path_once(db_session):
    claim = create_claim("needs_review")
    lan = create_user("caseworker")
    assert review.approve(claim.id, lan, "Đã xác minh số tháng.").changed
    assert review.approve(claim.id, lan).changed is False
    assert _events(claim.id)[-1] == ("approve", "needs_review", "approved", lan.id)
    with pytest.raises(Conflict) as wrong:
        review.approve(create_claim("listed").id, lan)
    assert wrong.value.code == "invalid_state" and "Đã lập danh sách" in wrong.value.vi


def test_reject_records_the_code_and_the_written_reason(db_session):
    claim = create_claim("needs_review")
    lan = create_user("caseworker")
    done = review.reject(claim.id, lan, "not_employed_on_cutoff", "Đã nghỉ việc từ tháng 01/2021.")
    assert done.changed and claim.state == "rejected"
    event = done.events[0]
    assert (event.action, event.reason, event.data) == (
        "reject",
        "Đã nghỉ việc từ tháng 01/2021.",
        {"reason_code": "not_employed_on_cutoff"},
    )
    again = review.reject(claim.id, lan, "not_employed_on_cutoff", "Đã nghỉ việc từ tháng 01/2021.")
    assert again.changed is False
    with pytest.raises(Conflict) as other:
        review.reject(claim.id, lan, "excluded_sector", "Khác.")
    assert other.value.code == "already_rejected"


@pytest.mark.parametrize("state", ["listed", "employer_confirmed", "needs_review", "approved", "payment_failed"])
def test_the_office_records_a_decline_wherever_no_money_is_on_its_way(db_session, state):
    """After the unit's Form 02 only the office records a person's "Không nhận hỗ trợ": a decline with how the person
    said it, once; refused where money is on its way or the claim is closed, and out of scope as unknown."""
    claim = create_claim(state, district_code=DONG_ANH)
    lan = create_user("caseworker", district=DONG_ANH)
    done = review.record_decline(claim.id, lan, "  Đơn đề nghị ngày 12/10/2021.  ")
    assert done.changed and claim.state == "declined"
    (event,) = done.events
    assert (event.action, event.from_state, event.reason, event.data, event.actor_id) == (
        "decline",
        state,
        "Đơn đề nghị ngày 12/10/2021.",
        {"by": "office"},
        lan.id,
    )
    events = _events(claim.id)
    assert review.record_decline(claim.id, lan, "Lần nữa.").changed is False and _events(claim.id) == events


def test_a_decline_is_refused_once_money_is_on_its_way_or_the_claim_is_closed(db_session):
    lan = create_user("caseworker", district=DONG_ANH)
    for state in ("payment_pending", "paid", "rejected", "removed"):
        claim = create_claim(state, district_code=DONG_ANH)
        events = _events(claim.id)
        with pytest.raises(Conflict) as refused:
            review.record_decline(claim.id, lan, "Đơn đề nghị.")
        assert refused.value.code == "invalid_state" and "cannot be recorded as declined" in refused.value.en
        assert claim.state == state and _events(claim.id) == events
    elsewhere = create_claim("approved", district_code=QUAN_1)
    with pytest.raises(NotFound):
        review.record_decline(elsewhere.id, lan, "Đơn đề nghị.")
    unit = create_employer(district_code=DONG_ANH)
    theirs = create_claim("approved", employer_id=unit.id, district_code=DONG_ANH)
    with pytest.raises(review.Forbidden):  # the unit sees the claim; the office records the person's decline
        review.record_decline(theirs.id, create_user("employer", employer_unit=unit.unit_code), "Đơn đề nghị.")


def test_refusal_reasons_are_the_rules_exclusions_and_duplicate_with_plain_words(db_session):
    reasons = review.refusal_reasons()
    assert {"excluded_sector", "stopped_outside_window", "pension_decision", "duplicate"} <= set(reasons)
    assert "zero_months" not in reasons and "possible_duplicate" not in reasons  # review flags, not refusals
    assert all(vi and en for vi, en in reasons.values())


# -------------------------------------------------------------------------------------------------- duplicates


def test_a_duplicate_pair_goes_from_review_to_resolved_and_the_other_is_refused(db_session):
    kept, other = create_duplicate_group("needs_review")
    lan = create_user("caseworker")
    kept_si = claim_employee(db_session, kept).si_code

    done = review.resolve_duplicate(other.id, lan, kept.id, override=False, note=None)

    db_session.refresh(kept)
    db_session.refresh(other)
    assert done.changed and (kept.state, other.state) == ("needs_review", "rejected")
    refusal = review.last_refusal(other.id)
    assert refusal is not None and refusal.actor_id == lan.id
    assert refusal.data == {"reason_code": "duplicate", "kept_claim_id": kept.id, "kept_si_code": kept_si}
    assert kept_si in (refusal.reason or "")
    for claim in (kept, other):
        note = db_session.scalar(
            select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "resolve_duplicate")
        )
        assert note is not None and note.actor_id == lan.id and note.from_state == note.to_state
        assert note.data["kept_claim_id"] == kept.id and note.data["refused_claim_ids"] == [other.id]
    # Said again: nothing more happens.
    assert review.resolve_duplicate(kept.id, lan, kept.id, override=False, note=None).changed is False


def test_an_override_records_that_both_may_be_paid_and_approves_the_kept_one(db_session):
    first, second = create_duplicate_group("needs_review")
    lan = create_user("caseworker")
    with pytest.raises(Invalid):
        review.resolve_duplicate(first.id, lan, first.id, override=True, note="  ")
    done = review.resolve_duplicate(first.id, lan, first.id, override=True, note="Hai người khác nhau, CCCD nhập sai.")
    db_session.refresh(first)
    db_session.refresh(second)
    assert done.changed and (first.state, second.state) == ("approved", "needs_review")
    notes = db_session.scalars(
        select(ClaimEvent).where(
            ClaimEvent.action == "resolve_duplicate", ClaimEvent.claim_id.in_([first.id, second.id])
        )
    ).all()
    assert len(notes) == 2 and all(n.data["override"] is True for n in notes)
    assert review.resolve_duplicate(first.id, lan, first.id, override=True, note="Lần nữa.").changed is False


def test_near_duplicates_the_checks_named_are_one_group_too(db_session):
    """People with different national IDs that verification found alike (same birth date, a nearly identical name)
    are named in the flag_for_review event's data; they form the group as well."""
    first, second = create_claim("verifying"), create_claim("verifying")
    claims.transition(first, "flag_for_review", data={"reasons": ["near_duplicate"], "duplicates": [second.id]})
    claims.transition(second, "flag_for_review", data={"reasons": ["near_duplicate"], "duplicates": [first.id]})
    lan = create_user("caseworker")
    assert [d["id"] for d in review.claim_detail(first.id, lan)["duplicates"]] == [second.id]

    review.resolve_duplicate(second.id, lan, first.id, override=False, note="Cùng một người, nhập sai số CCCD.")

    db_session.refresh(second)
    assert second.state == "rejected"
    refusal = review.last_refusal(second.id)
    assert refusal is not None and claim_employee(db_session, first).si_code in (refusal.reason or "")
    assert (refusal.reason or "").endswith("Cùng một người, nhập sai số CCCD.")


def test_the_duplicate_group_is_read_through_indexes_and_is_the_same_group(db_session):
    """The case page reads the group on every visit: its statement names the members' claim ids (looked up by
    national ID and from the checks' named duplicates first), so that PostgreSQL never joins claims and people whole
    (the earlier statement OR-ed the two conditions across both tables: 3-5 s a case page at 1.5 million people,
    EXPLAIN in BENCHMARKS.md). The group is the same: the same national ID and the named ones, nobody else."""
    first, second, third = create_duplicate_group("verifying", districts=("017", "017", "001"))
    named = create_claim("verifying")
    claims.transition(first, "flag_for_review", data={"reasons": ["near_duplicate"], "duplicates": [named.id]})
    create_claim("needs_review")  # someone else
    statement = review.duplicate_group_statement(first)
    members = [claim.id for claim, _si in db_session.execute(statement)]
    assert members == sorted([first.id, second.id, third.id, named.id])
    # Only the claims' ids in the statement: no OR across the two tables, no national ID (read by its index first).
    sql = str(statement.compile(dialect=db_session.bind.dialect, compile_kwargs={"literal_binds": True}))
    assert "claims.id IN (" in sql and " OR " not in sql and "national_id" not in sql, sql


def test_duplicates_are_resolved_only_with_the_whole_group_in_scope_and_no_money_moving(db_session):
    here, _there = create_duplicate_group("needs_review", districts=(DONG_ANH, QUAN_1))
    lan = create_user("caseworker", district=DONG_ANH)
    with pytest.raises(Conflict) as outside:
        review.resolve_duplicate(here.id, lan, here.id, override=False, note=None)
    assert outside.value.code == "outside_scope"
    assert review.resolve_duplicate(here.id, create_user("supervisor"), here.id, override=False, note=None).changed

    paid, waiting = create_duplicate_group("needs_review")
    claims.transition(paid, "approve")
    claims.transition(paid, "queue_payment")
    with pytest.raises(Conflict) as moving:
        review.resolve_duplicate(waiting.id, lan, waiting.id, override=False, note=None)
    assert moving.value.code == "money_on_its_way"

    with pytest.raises(Invalid):
        review.resolve_duplicate(waiting.id, lan, here.id, override=False, note=None)  # not in the group
    with pytest.raises(Conflict) as alone:
        review.resolve_duplicate(create_claim("needs_review").id, lan, 1, override=False, note=None)
    assert alone.value.code == "no_duplicates"


# ------------------------------------------------------------------------------------------------------ detail


def test_the_detail_has_the_whole_timeline_and_employers_see_no_casework(db_session):
    unit = create_employer(district_code=DONG_ANH)
    kept, other = create_duplicate_group("needs_review", employer_id=unit.id)
    lan = create_user("caseworker", full_name="Trần Thị Lan")
    review.assign(kept.id, lan)
    review.log_contact(kept.id, lan, "phone", "no_answer", "Gọi 2 lần.")
    claims.transition(other, "reject", reason="Trùng.")  # one person is paid once: the other claim refused first
    review.approve(kept.id, lan)

    staff = review.claim_detail(kept.id, lan)
    assert [e["action"] for e in staff["timeline"]] == [
        "create",
        "confirm",
        "start_verification",
        "flag_for_review",
        "assign",
        "contact",
        "approve",
    ]
    assert staff["timeline"][5]["actor"]["full_name"] == "Trần Thị Lan"
    assert staff["timeline"][5]["data"]["note"] == "Gọi 2 lần."
    assert staff["assigned_to"]["id"] == lan.id
    assert staff["duplicates"] == [
        {
            "id": other.id,
            "si_code": claim_employee(db_session, other).si_code,
            "state": "rejected",
            "district_code": DONG_ANH,
        }
    ]
    assert staff["person"]["si_code"] == claim_employee(db_session, kept).si_code

    employer_view = review.claim_detail(kept.id, create_user("employer", employer_unit=unit.unit_code))
    actions = [e["action"] for e in employer_view["timeline"]]
    assert "contact" not in actions and "assign" in actions
    assert all(e["actor"] is None for e in employer_view["timeline"])
    assert next(e for e in employer_view["timeline"] if e["action"] == "assign")["data"] is None
    assert employer_view["assigned_to"] is None
    employer_rows = review.list_claims(create_user("employer", employer_unit=unit.unit_code), _query(limit=200)).rows
    assert [(r["id"], r["assigned_to_id"]) for r in employer_rows if r["id"] == kept.id] == [(kept.id, None)]


def test_a_claim_with_an_undecided_duplicate_is_not_approved_until_the_group_is_decided(db_session):
    """One person is paid once: approving one claim of a duplicate group waits for the group's decision."""
    first, second = create_duplicate_group("needs_review")
    lan = create_user("caseworker")
    for claim in (first, second):
        with pytest.raises(Conflict) as undecided:
            review.approve(claim.id, lan)
        assert undecided.value.code == "duplicates_undecided"
        other = second if claim is first else first
        assert claim_employee(db_session, other).si_code in undecided.value.vi
        db_session.refresh(claim)
        assert claim.state == "needs_review"  # nothing changed

    review.resolve_duplicate(first.id, lan, first.id, override=False, note=None)  # keep the first, refuse the second
    assert review.approve(first.id, lan).changed

    # Once an override says they may both be paid, each may be approved.
    third, fourth = create_duplicate_group("needs_review")
    review.resolve_duplicate(third.id, lan, third.id, override=True, note="Hai người khác nhau.")
    assert review.approve(fourth.id, lan).changed


def test_a_claim_whose_twin_is_paid_is_not_approved_either(db_session):
    paid, _later = create_duplicate_group("needs_review")
    review.resolve_duplicate(paid.id, create_user("caseworker"), paid.id, override=True, note="Khác người.")
    claims.transition(paid, "queue_payment")
    claims.transition(paid, "payment_succeeded")
    # A named near-duplicate found after the first was paid: its group is the paid claim and itself.
    near = create_claim("verifying")
    claims.transition(near, "flag_for_review", data={"reasons": ["near_duplicate"], "duplicates": [paid.id]})
    with pytest.raises(Conflict) as undecided:
        review.approve(near.id, create_user("caseworker"))
    assert undecided.value.code == "duplicates_undecided"


# ------------------------------------------------------------------------------------------ approved after the check

#: Every way a person approves a claim, each given what it checked: the approval, the approval for cash at the office
#: and the duplicate decision that both may be paid (which approves the claim it keeps).
_APPROVALS = {
    "approve": lambda claim, user, checked: review.approve(claim.id, user, checked=checked),
    "approve_in_cash": lambda claim, user, checked: casework.approve_in_cash(
        claim.id, user, "Không có tài khoản.", checked=checked
    ),
    "override": lambda claim, user, checked: (
        review.resolve_duplicate(claim.id, user, claim.id, override=True, note="Hai người khác nhau.")
        if not checked
        else review.approve(claim.id, user, checked=checked)
    ),
}


def _needing_a_check(how: str) -> Claim:
    """A claim in review that needs its months checked, and what else the approval ``how`` settles by itself."""
    if how == "override":
        claim, _twin = create_duplicate_group("needs_review", reasons=["possible_duplicate", "zero_months"])
        return claim
    if how == "approve_in_cash":
        return create_claim("needs_review", reasons=["zero_months", "bank_details_missing"], bank_account=None)
    return create_claim("needs_review", reasons=["zero_months"])


@pytest.mark.parametrize("how", sorted(_APPROVALS))
def test_no_way_of_approving_skips_what_needs_checking(db_session, how):
    """The rule is the service's, so that the pages, the API and the duplicate decision all keep it: a claim that
    needs something checked is not approved until the approver says they checked it, and nothing else settles it
    for them. The duplicate decision records itself and leaves the claim for the approval, which asks."""
    approve = _APPROVALS[how]
    lan = create_user("caseworker")
    claim = _needing_a_check(how)
    before = _events(claim.id)
    if how == "override":
        assert approve(claim, lan, []).changed  # the decision, recorded
        assert _events(claim.id)[-1][0] == "resolve_duplicate"
    else:
        attempt = db.session.begin_nested()  # as the views and the API do: the refused action leaves nothing
        with pytest.raises(Invalid) as refused:
            approve(claim, lan, [])
        attempt.rollback()
        assert set(refused.value.fields) == {"checked"} and "tháng đóng BHTN" in refused.value.fields["checked"][0]
        assert _events(claim.id) == before
    db_session.refresh(claim)
    assert claim.state == "needs_review"
    done = approve(claim, lan, ["zero_months"])
    db_session.refresh(claim)
    assert done.changed and claim.state == "approved"
    assert claims.claim_events(claim.id)[-1].data["checked"] == ["zero_months"]


def test_what_is_settled_already_needs_no_check(db_session):
    """Bank details corrected since verification found them wrong, and possible duplicates once the group is
    decided, are no longer asked for: the approval refuses the claim while either still stands in the way."""
    lan = create_user("caseworker")
    corrected = create_claim("needs_review", reasons=["bank_details_malformed", "zero_months"])
    assert [entry["code"] for entry in review.to_check(corrected)] == ["zero_months"]
    broken = create_claim("needs_review", reasons=["bank_details_malformed"], bank_account="AB12")
    assert [entry["code"] for entry in review.to_check(broken)] == ["bank_details_malformed"]
    with pytest.raises(Conflict):
        review.approve(broken.id, lan, checked=["bank_details_malformed"])

    kept, _twin = create_duplicate_group("needs_review")
    assert [entry["code"] for entry in review.to_check(kept)] == ["possible_duplicate"]
    review.resolve_duplicate(kept.id, lan, kept.id, override=False, note=None)
    assert review.to_check(kept) == []
    assert review.approve(kept.id, lan).changed
