"""Finding a person across the caller's scope (the staff's "find a person" page and ``POST /api/v1/people/lookup``):
by an SI code, a national ID (CMND or CCCD), or a part of the name with or without diacritics; or a list of up to
:data:`MAX_CODES` codes at once.

The scope is the person look-up API's (:func:`disburse.claims.support.support_for`): a caseworker sees the people
whose own district, whose registry unit's district or whose claim's district is theirs; a supervisor the same by
province (or the whole country); an admin everyone. It is one SQL condition here (:func:`_in_scope`), so that a
person outside it is never read, counted nor hinted at: the same as an unknown code.

Set-based: a list of codes is one query for the people (and one for their latest payments), never a query per code;
a code is found through the indexes on ``employees.si_code`` and ``employees.national_id``, across the whole scope.
A name is looked for within one district only (:func:`find_by_name`): its people are read first, through indexes
that exist for other reasons, then their names are matched by :func:`disburse.claims.unit.name_contains` (however
spaced). There is no index on names on purpose: a trigram index on ``employees`` would slow the registry's import
below its target (docs/architecture.md, "Finding a person"). Read-only: nothing here writes, but the bulk look-up of
personal data is audited by the callers (``people.bulk_lookup``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, false, func, or_, select, text, true, union
from sqlalchemy.orm import aliased

from disburse.auth.models import User
from disburse.claims.models import Claim
from disburse.claims.states import STATE_LABELS, ClaimState
from disburse.claims.unit import name_contains
from disburse.extensions import db
from disburse.formatting import composed, vietnamese_name_key
from disburse.payments.states import label as payment_state_label
from disburse.programs.models import Program
from disburse.reference.models import District
from disburse.registry.models import Employee, Employer
from disburse.spreadsheets import TooManyRows, UnusableFile, read_table
from disburse.verification.review import NotFound, visible_district

#: People shown for one search by name (how many matched is said).
MAX_ROWS = 50
#: Matches counted for a name at most ("more than 1,000"); the first :data:`MAX_ROWS` in name order are of these.
MATCHES_COUNTED = 1_000
#: Codes in one list (the page's text box and file, the API's body).
MAX_CODES = 1_000
#: A name is looked for from this many letters (fewer would read a large part of the registry).
MIN_NAME = 3
#: The characters that separate codes in a list: new lines, commas, semicolons, spaces and tabs.
SEPARATORS = re.compile(r"[\s,;]+")
#: Any digit, in any script: a name has none (what has one is a code, of the wrong shape when not ASCII digits).
DIGIT = re.compile(r"\d")
#: A line of codes only (a spreadsheet's first row that is no header).
CODES_ONLY = re.compile(r"[\d\s,;]+")

#: What a row says of a person with no claim, and of a code not found within the caller's scope: (Vietnamese, English).
NO_CLAIM = ("Chưa có hồ sơ", "No claim")
NOT_FOUND = ("Không tìm thấy trong phạm vi của bạn", "Not found in your scope")


class LookupInvalid(Exception):
    """What was typed or sent cannot be looked up; ``errors`` are (Vietnamese, English), every one at once, each
    naming its line. Nothing was read."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(en for _, en in errors))
        self.errors = errors


@dataclass(frozen=True)
class PersonRow:
    """One person found (or, with ``found`` False, one code asked and not found in the caller's scope)."""

    asked: str | None
    found: bool
    employee_id: int | None = None
    si_code: str | None = None
    national_id: str | None = None
    full_name: str | None = None
    date_of_birth: date | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    claim_id: int | None = None
    claim_state: str | None = None
    amount_vnd: int | None = None
    payment_state: str | None = None
    payment_channel: str | None = None
    #: The latest payment's day: when it was paid (settled), else sent, else made.
    payment_at: datetime | None = None

    @property
    def state_words(self) -> tuple[str, str]:
        """The claim's state as the user reads it (the claim states' labels), or no claim, or not found."""
        if not self.found:
            return NOT_FOUND
        if self.claim_state is None:
            return NO_CLAIM
        return STATE_LABELS[ClaimState(self.claim_state)]

    @property
    def payment_words(self) -> tuple[str, str] | None:
        if self.payment_state is None:
            return None
        return payment_state_label(self.payment_state, self.payment_channel or "bank")

    @property
    def summary_key(self) -> str:
        """The row's count in the summary: its claim's state, ``no_claim`` or ``not_found``."""
        if not self.found:
            return "not_found"
        return self.claim_state or "no_claim"


@dataclass(frozen=True)
class NameMatches:
    rows: list[PersonRow]
    #: How many matched (at most :data:`MATCHES_COUNTED`; ``more``: more than that).
    total: int
    more: bool


# ------------------------------------------------------------------------------------------------ what is asked


def kind_of(code: str) -> str | None:
    """``si_code`` (10 digits), ``national_id`` (CMND 9 or CCCD 12 digits), or None for anything else."""
    if not (code.isascii() and code.isdigit()):
        return None
    if len(code) == 10:
        return "si_code"
    if len(code) in (9, 12):
        return "national_id"
    return None


def code_error(code: str) -> tuple[str, str] | None:
    """What a code of the wrong shape is told, (Vietnamese, English); None for an SI code or a national ID."""
    if kind_of(code) is not None:
        return None
    others = list(dict.fromkeys(c for c in code if not ("0" <= c <= "9")))
    if others:
        shown = ", ".join(f"“{c}”" for c in others[:5])
        return (
            f"“{code[:40]}” không phải mã số BHXH (10 chữ số) hay số CMND (9 chữ số) / CCCD (12 chữ số): có ký tự "
            f"khác chữ số: {shown}.",
            f"“{code[:40]}” is not an SI code (10 digits) nor a national ID number (CMND 9 digits, CCCD 12): it has "
            f"other characters than digits: {shown}.",
        )
    return (
        f"“{code}” có {len(code)} chữ số: mã số BHXH có 10 chữ số, số CMND 9 chữ số, số CCCD 12 chữ số.",
        f"“{code}” has {len(code)} digits: an SI code has 10 digits, a CMND 9 and a CCCD 12.",
    )


#: How many wrong codes a list's refusal names (the first ones); it says how many there were.
ERRORS_NAMED = 20


def parse_codes(*sources: tuple[str, Sequence[tuple[int, str]]]) -> list[str]:
    """The codes of a list, in the order given. Each source is (``text``: typed in the page's box or sent to the API,
    or ``file``: a spreadsheet's first column, its rows numbered as the spreadsheet shows them; its lines as (line
    number, text)); a line holds one code or several separated by commas, semicolons or spaces (blank lines are
    passed over). Raises :class:`LookupInvalid` naming the line of each code of the wrong shape (the first
    :data:`ERRORS_NAMED`), or when there are more than :data:`MAX_CODES` codes, or none."""
    codes: list[str] = []
    errors: list[tuple[str, str]] = []
    for source, lines in sources:
        for number, line in lines:
            for code in SEPARATORS.split(composed(line).strip()):
                if not code:
                    continue
                if (wrong := code_error(code)) is not None:
                    where = ("Tệp, dòng", "File, row") if source == "file" else ("Dòng", "Line")
                    errors.append((f"{where[0]} {number}: {wrong[0]}", f"{where[1]} {number}: {wrong[1]}"))
                codes.append(code)
    if len(codes) > MAX_CODES:
        return _refused(
            [
                (
                    f"Danh sách có {_vi(len(codes))} mã; mỗi lần tra cứu tối đa {_vi(MAX_CODES)} mã.",
                    f"The list has {len(codes):,} codes; look up at most {MAX_CODES:,} at a time.",
                )
            ]
        )
    if not codes and not errors:
        return _refused([("Danh sách không có mã nào.", "The list holds no code.")])
    if len(errors) > ERRORS_NAMED:
        more = len(errors) - ERRORS_NAMED
        errors = [
            *errors[:ERRORS_NAMED],
            (f"… và {_vi(more)} mã sai khác.", f"… and {more:,} other wrong codes."),
        ]
    if errors:
        return _refused(errors)
    return codes


def _refused(errors: list[tuple[str, str]]) -> list[str]:
    raise LookupInvalid(errors)


def _vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def file_lines(path: Path) -> list[tuple[int, str]]:
    """The first column of a spreadsheet (.xlsx or .csv, read by :func:`disburse.spreadsheets.read_table`, which
    refuses a hostile file), as (row number, text): the first row too when it holds codes (digits and separators
    only), not when it is a header ("Mã số BHXH (10 chữ số)"). A
    number cell (a code Excel turned into a number) is written in digits, without its lost leading zeros, so that its
    length is named. Raises :class:`~disburse.spreadsheets.UnusableFile` for a file that cannot be read, or one with
    more rows than :data:`MAX_CODES` (and its header)."""
    try:
        header, rows, _ = read_table(path, max_rows=MAX_CODES + 1)
    except TooManyRows as exc:
        raise UnusableFile(
            f"Tệp có hơn {_vi(MAX_CODES)} dòng; mỗi lần tra cứu tối đa {_vi(MAX_CODES)} mã.",
            f"The file has over {MAX_CODES:,} rows; look up at most {MAX_CODES:,} codes at a time.",
        ) from exc
    if not header:
        return []
    first = header[0]
    lines = [(1, first)] if first and CODES_ONLY.fullmatch(first) else []
    for number, cells in rows:
        value = cells.get(first)
        lines.append((number, _cell_text(value)))
    return lines


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def name_words(typed: str) -> str | None:
    """A name search's words however spaced, or None when it is not one: anything with a digit is a code (a name has
    none), told its shape by :func:`code_error` when it is not an SI code nor a national ID."""
    typed = " ".join(composed(typed).split())
    if not typed or DIGIT.search(typed):
        return None
    return typed


# ------------------------------------------------------------------------------------------------- the scope


_Work = aliased(Employer)


def _in_scope(user: User, claim_district: Any) -> Any:
    """The SQL condition that the caller may see the person (the columns of :func:`_people`): their own district,
    their registry unit's district or their claim's district is the caseworker's; within the supervisor's province
    (or any, for a national supervisor); always for an admin; never for anyone else."""
    places = (Employee.district_code, _Work.district_code, claim_district)
    if user.role == "admin" or (user.role == "supervisor" and user.province_code is None):
        return true()
    if user.role == "supervisor":
        province = select(District.code).where(District.province_code == user.province_code)
        return or_(*(place.in_(province) for place in places))
    if user.role == "caseworker" and user.district_code is not None:
        return or_(*(place == user.district_code for place in places))
    return false()


def _people(program: Program, columns: Sequence[Any]) -> Any:
    return (
        select(*columns)
        .select_from(Employee)
        .outerjoin(_Work, _Work.id == Employee.employer_id)
        .outerjoin(Claim, and_(Claim.employee_id == Employee.id, Claim.program_id == program.id))
    )


_ClaimUnit = aliased(Employer)

_DETAILS = (
    Employee.id,
    Employee.si_code,
    Employee.national_id,
    Employee.full_name,
    Employee.date_of_birth,
    # The claim's unit (a Form 04 may name another), else the registry's current or last one.
    func.coalesce(_ClaimUnit.unit_code, _Work.unit_code).label("unit_code"),
    func.coalesce(_ClaimUnit.name, _Work.name).label("unit_name"),
    Claim.id.label("claim_id"),
    Claim.state.label("claim_state"),
    Claim.amount_vnd,
)

_LATEST = text(
    """SELECT c.id AS claim_id, p.state, p.at, b.channel, p.provider
       FROM unnest(CAST(:ids AS bigint[])) AS c(id)
       CROSS JOIN LATERAL (
           SELECT state, batch_id, provider, coalesce(settled_at, sent_at, created_at) AS at FROM payments
           WHERE claim_id = c.id ORDER BY attempt DESC, id DESC LIMIT 1
       ) p
       LEFT JOIN payment_batches b ON b.id = p.batch_id"""
)


def _rows(program: Program, user: User, condition: Any) -> list[Any]:
    statement = (
        _people(program, _DETAILS)
        .outerjoin(_ClaimUnit, _ClaimUnit.id == Claim.employer_id)
        .where(condition, _in_scope(user, Claim.district_code))
    )
    return list(db.session.execute(statement).all())


def _with_payments(found: Sequence[Any], asked: dict[int, str] | None = None) -> list[PersonRow]:
    claim_ids = [row.claim_id for row in found if row.claim_id is not None]
    payments = {row.claim_id: row for row in db.session.execute(_LATEST, {"ids": claim_ids})} if claim_ids else {}
    rows = []
    for row in found:
        payment = payments.get(row.claim_id)
        channel = None
        if payment is not None:
            channel = payment.channel or ("cash" if payment.provider == "cash" else "bank")
        rows.append(
            PersonRow(
                asked=(asked or {}).get(row.id),
                found=True,
                employee_id=row.id,
                si_code=row.si_code,
                national_id=row.national_id,
                full_name=row.full_name,
                date_of_birth=row.date_of_birth,
                unit_code=row.unit_code,
                unit_name=row.unit_name,
                claim_id=row.claim_id,
                claim_state=row.claim_state,
                amount_vnd=row.amount_vnd,
                payment_state=payment.state if payment is not None else None,
                payment_channel=channel,
                payment_at=payment.at if payment is not None else None,
            )
        )
    return rows


def _order(row: PersonRow) -> tuple[object, ...]:
    return vietnamese_name_key(row.full_name or ""), row.si_code or ""


# ------------------------------------------------------------------------------------------------- look-ups


def find_by_code(program: Program, user: User, code: str) -> list[PersonRow]:
    """The people with the SI code or the national ID ``code`` within the caller's scope (a national ID may be held
    by more than one registry record: a possible duplicate), in name order; empty for an unknown code and one
    outside the scope alike."""
    kind = kind_of(code)
    if kind is None:
        return []
    column = Employee.si_code if kind == "si_code" else Employee.national_id
    return sorted(_with_payments(_rows(program, user, column == code)), key=_order)


def find_by_name(
    program: Program, user: User, typed: str, district: str | None, limit: int | None = None
) -> NameMatches:
    """The people of one district whose name contains ``typed`` (any case, with or without diacritics, however
    spaced): the first ``limit`` (:data:`MAX_ROWS`) in Vietnamese name order of at most :data:`MATCHES_COUNTED`
    matched, and how many matched (:func:`_name_keys` says who the district's people are).

    The district is a caseworker's own, always (``district`` is not read for them); a supervisor or an admin names
    one within their scope (the page asks for it: :class:`disburse.casework.forms.FindPersonForm`), and it is
    checked here again, so that no caller reads a district outside the scope. Nobody is found without a district,
    nor in one outside the scope."""
    typed = " ".join(typed.split())
    limit = MAX_ROWS if limit is None else limit
    area = name_district(user, district)
    if area is None:
        return NameMatches([], 0, False)
    keys = db.session.execute(_name_keys(program, area, typed).limit(MATCHES_COUNTED + 1)).all()
    more = len(keys) > MATCHES_COUNTED
    keys = sorted(keys[:MATCHES_COUNTED], key=lambda row: (vietnamese_name_key(row.full_name), row.si_code))
    ids = [row.id for row in keys[:limit]]
    if not ids:
        return NameMatches([], len(keys), more)
    rows = _with_payments(_rows(program, user, Employee.id.in_(ids)))
    return NameMatches(sorted(rows, key=_order), len(keys), more)


def name_district(user: User, district: str | None) -> str | None:
    """The district whose people a name search by ``user`` reads: a caseworker's own; for a supervisor or an admin
    ``district`` when it exists and is within their scope (:func:`disburse.verification.review.visible_district`);
    None otherwise (no district, one outside the scope, anyone else)."""
    if user.role == "caseworker":
        return user.district_code
    if user.role not in ("supervisor", "admin") or not district:
        return None
    try:
        return visible_district(user, district)
    except NotFound:
        return None


def _name_keys(program: Program, district: str, typed: str) -> Any:
    """The ids, names and SI codes of the people of ``district`` whose name contains ``typed``.

    The district's people are read first, then their names (:func:`~disburse.claims.unit.name_contains`): the people
    of the district's registry units (``employers.district_code``, then ``employees.employer_id``, both indexed) and
    the people with a claim the district handles (the queue's index on claims: every state named, so that it
    answers). Bounded by the district, never by the registry, whatever the name: a district holds a few thousand to
    a few tens of thousands of people. A person who lives in the district (``employees.district_code``) but works for
    a unit elsewhere and has no claim there is not found by name (a code finds them): reading the people who live
    there would need an index on that column, which the import would pay for."""
    exact = name_contains(Employee.full_name, typed)
    columns = (Employee.id, Employee.full_name, Employee.si_code)
    working = (
        select(*columns).join(_Work, _Work.id == Employee.employer_id).where(_Work.district_code == district, exact)
    )
    handled = (
        select(*columns)
        .join(Claim, Claim.employee_id == Employee.id)
        .where(
            Claim.program_id == program.id,
            # Every state named, so that the queue's index (program, state, district) answers it.
            Claim.state.in_([state.value for state in ClaimState]),
            Claim.district_code == district,
            exact,
        )
    )
    return union(working, handled)


def find_codes(program: Program, user: User, codes: Sequence[str]) -> list[PersonRow]:
    """One row per code of ``codes`` (checked already: :func:`parse_codes`), in the order asked: the person with
    that SI code, or each person with that national ID, within the caller's scope; or a "not found" row for a code
    no one in the scope has. A code asked twice answers twice. Two queries, whatever the list's length."""
    si_codes = sorted({code for code in codes if kind_of(code) == "si_code"})
    national_ids = sorted({code for code in codes if kind_of(code) == "national_id"})
    conditions = []
    if si_codes:
        conditions.append(Employee.si_code.in_(si_codes))
    if national_ids:
        conditions.append(Employee.national_id.in_(national_ids))
    found = _with_payments(_rows(program, user, or_(*conditions))) if conditions else []
    by_si: dict[str, list[PersonRow]] = {}
    by_id: dict[str, list[PersonRow]] = {}
    for row in sorted(found, key=_order):
        by_si.setdefault(row.si_code or "", []).append(row)
        by_id.setdefault(row.national_id or "", []).append(row)
    answer: list[PersonRow] = []
    for code in codes:
        matches = (by_si if kind_of(code) == "si_code" else by_id).get(code)
        if matches:
            answer.extend(_asked(row, code) for row in matches)
        else:
            answer.append(PersonRow(asked=code, found=False))
    return answer


def _asked(row: PersonRow, code: str) -> PersonRow:
    return PersonRow(**{**row.__dict__, "asked": code})


def counts_by_state(rows: Sequence[PersonRow]) -> dict[str, int]:
    """How many rows are in each claim state (``no_claim``, ``not_found`` too), the largest first."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.summary_key] = counts.get(row.summary_key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def summary_words(key: str) -> tuple[str, str]:
    if key == "not_found":
        return NOT_FOUND
    if key == "no_claim":
        return NO_CLAIM
    return STATE_LABELS[ClaimState(key)]


def found_count(rows: Sequence[PersonRow]) -> int:
    return sum(1 for row in rows if row.found)
