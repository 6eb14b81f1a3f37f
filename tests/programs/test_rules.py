"""Every branch of the Resolution 116 rules, every tier boundary and every stop-window edge."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy.orm import Session

from disburse.programs import rules as r
from disburse.programs.rules import Assessment, Person, ProgramRules, ProgramRulesError, amount_for, assess
from disburse.programs.service import ProgramNotFound, get_program, get_rules
from tests.factories import nq116

#: The NQ116 parameters as the resolution states them (independent of migration 0002, which must agree).
RULES = ProgramRules(
    code="NQ116",
    cutoff_date=date(2021, 9, 30),
    stop_window_start=date(2020, 1, 1),
    stop_window_end=date(2021, 9, 30),
    excluded_sectors=frozenset({"public_budget", "state_agency", "political_org", "armed_forces"}),
    tiers=((0, 1_800_000), (12, 2_100_000), (60, 2_400_000), (84, 2_650_000), (108, 2_900_000), (132, 3_300_000)),
    max_months=600,
)

WORKER = Person(
    ui_status="participating",
    ui_stopped_on=None,
    unused_months=24,
    pension_decision=False,
    employer_sector="enterprise",
)
STOPPED = Person(
    ui_status="stopped",
    ui_stopped_on=date(2021, 6, 15),
    unused_months=24,
    pension_decision=False,
    employer_sector="enterprise",
)


def test_from_program_reads_the_nq116_row(db_session: Session) -> None:
    assert ProgramRules.from_program(nq116()) == RULES


def test_service_finds_programs_by_code(db_session: Session) -> None:
    assert get_program("NQ116").id == nq116().id
    assert get_rules("NQ116") == RULES
    with pytest.raises(ProgramNotFound, match="NQ117") as refused:
        get_rules("NQ117")
    assert refused.value.code == "NQ117"
    assert "Không có chương trình" in str(refused.value) and "There is no program" in str(refused.value)


@pytest.mark.parametrize(
    ("months", "amount"),
    [
        (0, 1_800_000),
        (1, 1_800_000),
        (11, 1_800_000),
        (12, 2_100_000),
        (59, 2_100_000),
        (60, 2_400_000),
        (83, 2_400_000),
        (84, 2_650_000),
        (107, 2_650_000),
        (108, 2_900_000),
        (131, 2_900_000),
        (132, 3_300_000),
        (600, 3_300_000),
    ],
)
def test_tier_boundaries(months: int, amount: int) -> None:
    assert amount_for(RULES, months) == amount
    assert assess(RULES, replace(WORKER, unused_months=months)).amount_vnd == amount
    assert assess(RULES, replace(STOPPED, unused_months=months)).amount_vnd == amount


def test_amount_refuses_negative_months() -> None:
    with pytest.raises(ValueError, match="negative"):
        amount_for(RULES, -1)


def test_participating_in_an_enterprise_is_group_a() -> None:
    assert assess(RULES, WORKER) == Assessment("A", "eligible", (), 2_100_000)


def test_participating_at_a_public_autonomous_unit_qualifies() -> None:
    assert assess(RULES, replace(WORKER, employer_sector="public_autonomous")) == Assessment(
        "A", "eligible", (), 2_100_000
    )


def test_participating_without_a_known_employer_is_not_excluded() -> None:
    assert assess(RULES, replace(WORKER, employer_sector=None)).support_group == "A"


@pytest.mark.parametrize("sector", ["public_budget", "state_agency", "political_org", "armed_forces"])
def test_each_excluded_sector_is_not_eligible(sector: str) -> None:
    result = assess(RULES, replace(WORKER, employer_sector=sector))
    assert result == Assessment(None, "not_eligible", ("excluded_sector",), None)
    assert not result.eligible


@pytest.mark.parametrize("sector", ["public_budget", "state_agency", "political_org", "armed_forces"])
def test_excluded_sector_is_not_eligible_even_with_zero_months(sector: str) -> None:
    result = assess(RULES, replace(WORKER, employer_sector=sector, unused_months=0))
    assert result == Assessment(None, "not_eligible", ("excluded_sector",), None)


def test_excluded_sector_does_not_apply_to_stopped_people() -> None:
    # Group B is about the person's contract ending, not the last employer's sector.
    assert assess(RULES, replace(STOPPED, employer_sector="state_agency")) == Assessment("B", "eligible", (), 2_100_000)


def test_pension_decision_does_not_apply_to_participating_people() -> None:
    assert assess(RULES, replace(WORKER, pension_decision=True)).support_group == "A"


@pytest.mark.parametrize(
    ("stopped_on", "group"),
    [
        (date(2019, 12, 31), None),
        (date(2020, 1, 1), "B"),
        (date(2021, 9, 30), "B"),
        (date(2021, 10, 1), None),
    ],
)
def test_stop_window_edges(stopped_on: date, group: str | None) -> None:
    result = assess(RULES, replace(STOPPED, ui_stopped_on=stopped_on))
    if group is None:
        assert result == Assessment(None, "not_eligible", ("stopped_outside_window",), None)
    else:
        assert result == Assessment("B", "eligible", (), 2_100_000)


def test_stopped_without_a_date_is_outside_the_window() -> None:
    assert assess(RULES, replace(STOPPED, ui_stopped_on=None)) == Assessment(
        None, "not_eligible", ("stopped_outside_window",), None
    )


def test_pension_decision_excludes_group_b() -> None:
    assert assess(RULES, replace(STOPPED, pension_decision=True)) == Assessment(
        None, "not_eligible", ("pension_decision",), None
    )


def test_every_reason_that_applies_is_collected_and_sorted() -> None:
    result = assess(RULES, replace(STOPPED, ui_stopped_on=date(2019, 5, 1), pension_decision=True, unused_months=0))
    assert result == Assessment(None, "not_eligible", ("pension_decision", "stopped_outside_window"), None)


@pytest.mark.parametrize(("person", "group"), [(WORKER, "A"), (STOPPED, "B")], ids=["group_a", "group_b"])
def test_zero_months_goes_to_review_with_the_lowest_tier(person: Person, group: str) -> None:
    result = assess(RULES, replace(person, unused_months=0))
    assert result == Assessment(group, "review", ("zero_months",), 1_800_000)
    assert result.eligible


def test_unknown_ui_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown UI status"):
        assess(RULES, replace(WORKER, ui_status="retired"))


def test_rules_follow_the_program_parameters_not_constants() -> None:
    shifted = replace(
        RULES,
        stop_window_start=date(2024, 1, 1),
        stop_window_end=date(2025, 6, 30),
        excluded_sectors=frozenset({"armed_forces"}),
        tiers=((0, 1_000_000), (6, 1_500_000)),
    )
    assert assess(shifted, replace(STOPPED, ui_stopped_on=date(2021, 6, 15))).reasons == ("stopped_outside_window",)
    assert assess(shifted, replace(STOPPED, ui_stopped_on=date(2025, 6, 30), unused_months=6)).amount_vnd == 1_500_000
    assert assess(shifted, replace(WORKER, employer_sector="state_agency")).support_group == "A"
    assert assess(shifted, replace(WORKER, unused_months=5)).amount_vnd == 1_000_000


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((), "start at 0"),
        (((1, 100),), "start at 0"),
        (((0, 100), (12, 0)), "positive"),
        (((12, 100), (0, 100)), "start at 0"),
        (((0, 100), (12, 200), (12, 300)), "distinct"),
    ],
)
def test_unusable_tiers_are_refused(tiers: tuple[tuple[int, int], ...], message: str) -> None:
    with pytest.raises(ProgramRulesError, match=message):
        replace(RULES, tiers=tiers)


def test_every_reason_has_a_vietnamese_and_english_label() -> None:
    codes = {
        r.REASON_EXCLUDED_SECTOR,
        r.REASON_STOPPED_OUTSIDE_WINDOW,
        r.REASON_PENSION_DECISION,
        r.REASON_ZERO_MONTHS,
        r.REASON_POSSIBLE_DUPLICATE,
    }
    assert set(r.REASON_LABELS) == codes
    for vi, en in r.REASON_LABELS.values():
        assert vi and en and vi != en
