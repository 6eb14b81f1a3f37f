"""What the Form 02/03/04 services answer: per-row results with field errors in Vietnamese and English.

Forms check the shape of a value; the services check the rules. Both report through :class:`FieldError`, so that
the API, the CLI's errors file and (later) the pages say the same thing in the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from disburse.claims.models import Claim
from disburse.reference.service import KnownBanks
from disburse.spreadsheets import UNCALCULATED_FORMULA, UncalculatedFormula
from disburse.verification.checks import BANK_ACCOUNT_SHAPE
from disburse.verification.reasons import BANK_DETAILS_MALFORMED, BANK_DETAILS_MISSING

#: Whole-value patterns (``fullmatch``: a trailing newline is not a digit).
SI_CODE = re.compile(r"[0-9]{10}")
NATIONAL_ID = re.compile(r"[0-9]{9}|[0-9]{12}")
#: A bank account number we can pay: verification's shape (6 to 19 digits), which is also what the bank takes
#: (``account:<6 to 19 digits>@<BANK>``). The one rule for every place that takes an account from a person or a file
#: (Forms 02, 03 and 04, a caseworker's correction) and for the payments before they go out: a looser rule let an
#: account the bank refuses back to ``approved``, and its refusal held up every other payment of its batch.
BANK_ACCOUNT = re.compile(BANK_ACCOUNT_SHAPE)
#: What is wrong with an account that is not :data:`BANK_ACCOUNT`, in both languages.
BANK_ACCOUNT_MESSAGE = (
    "Số tài khoản chỉ gồm chữ số, từ 6 đến 19 số (không có chữ cái hay ký tự khác; dấu cách giữa các nhóm số được bỏ "
    "qua).",
    "The account number has digits only, 6 to 19 of them (no letters or other characters; spaces between digit groups "
    "are left out).",
)
#: A phone number in Vietnam, as the person's Form 04 and the employer's Form 03 give it: 0 then 9 digits (a mobile,
#: 0912 345 678) or 10 (a landline with its area code, 024 3883 1234). The one rule for every place a phone is typed
#: or imported (:func:`phone_error`): the forms used to differ (10 digits on the person's page, 9 to 15 at the desk).
PHONE = re.compile(r"0[0-9]{9,10}")
#: What is wrong with a phone that is not :data:`PHONE`, in both languages.
PHONE_MESSAGE = (
    "Số điện thoại gồm 10 hoặc 11 chữ số, bắt đầu bằng 0 (di động: 0912345678; cố định có mã vùng: 024 3883 1234).",
    "The phone number has 10 or 11 digits starting with 0 (a mobile: 0912345678; a landline with its area code: "
    "024 3883 1234).",
)
#: What may separate a phone number's groups of digits as people write them (``(024) 3883-1234``).
_PHONE_MARKS = str.maketrans("", "", " .-()\u00a0")
#: Vietnam's country code as people write it before a number without its leading 0 (``+84 912 345 678``).
_COUNTRY_CODES = ("+84", "0084")


def phone_digits(value: str) -> str:
    """A phone number as typed, without the spaces, dots, dashes and brackets between its groups
    (``0912.345.678``), and written as at home when typed with Vietnam's country code (``+84 912 345 678`` is
    ``0912345678``): the form :data:`PHONE` checks and that is stored."""
    digits = value.strip().translate(_PHONE_MARKS)
    for prefix in _COUNTRY_CODES:
        if digits.startswith(prefix):
            return "0" + digits.removeprefix(prefix)
    return digits


def phone_error(value: str) -> tuple[str, str] | None:
    """Why ``value`` (as typed: :func:`phone_digits` is applied) is not a phone number (:data:`PHONE`), in both
    languages; None when it is one. Blank is the caller's to judge (required on Form 04, optional elsewhere)."""
    return None if PHONE.fullmatch(phone_digits(value)) else PHONE_MESSAGE


#: An account number as people copy it from a card or a banking app: digit groups between spaces or dashes
#: ("1903 5566 7788 99", "0011-0044-55667"). Dots are not taken as such: "1234567.0" is a number's decimals.
_ACCOUNT_GROUPS = re.compile(r"[0-9]+(?:[ \u00a0\u202f-]+[0-9]+)*")
_ACCOUNT_MARKS = re.compile(r"[ \u00a0\u202f-]+")


def account_digits(value: str) -> str:
    """An account number as typed, trimmed, and without the spaces or dashes between its digit groups; anything
    else as it is, for :func:`is_bank_account` to refuse. The one cleaning of every place an account comes in."""
    value = value.strip()
    return _ACCOUNT_MARKS.sub("", value) if _ACCOUNT_GROUPS.fullmatch(value) else value


def account_filter(value: Any) -> Any:
    """A form's account field's filter: :func:`account_digits` of what was typed, so that what a check page reads
    back ("0011 2233 44" typed) is what will be stored (0011223344)."""
    return account_digits(value) if isinstance(value, str) else value


def is_bank_account(value: object) -> bool:
    """Whether ``value`` is an account number we can pay (:data:`BANK_ACCOUNT`, the whole value)."""
    return isinstance(value, str) and BANK_ACCOUNT.fullmatch(value) is not None


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message_vi: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message_vi": self.message_vi, "message_en": self.message_en}


@dataclass
class RowResult:
    """The outcome of one row of a form: ``confirmed``, ``declined``, ``added``, ``removed``, ``corrected``,
    ``unchanged`` (the row says what is already recorded) or ``error`` (nothing changed for it)."""

    row: int
    si_code: str
    outcome: str = "error"
    claim_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, field_name: str, code: str, vi: str, en: str) -> RowResult:
        self.outcome = "error"
        self.errors.append(FieldError(field_name, code, vi, en))
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "si_code": self.si_code,
            "outcome": self.outcome,
            "claim_id": self.claim_id,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class FormResult:
    unit_code: str
    rows: list[RowResult]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for r in self.rows:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        return {"unit_code": self.unit_code, "summary": outcomes, "rows": [r.as_dict() for r in self.rows]}


class FormRefused(Exception):
    """The whole form cannot be taken (a deadline passed, an unknown unit): nothing changed."""

    def __init__(self, code: str, vi: str, en: str, status: int = 422) -> None:
        super().__init__(en)
        self.code, self.message_vi, self.message_en, self.status = code, vi, en, status


def text_value(row: dict[str, Any], key: str) -> str:
    """A cell as trimmed text ('' for missing or null, and for a formula never calculated: its value is not in the
    file, :func:`uncalculated_errors` says so); numbers from spreadsheets become their digits."""
    value = row.get(key)
    if value is None or isinstance(value, UncalculatedFormula):
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def number_cell(row: dict[str, Any], key: str) -> bool:
    """Whether the cell is a number (a spreadsheet's number cell, or a JSON number), not text."""
    value = row.get(key)
    return isinstance(value, int | float) and not isinstance(value, bool)


def uncalculated_errors(result: RowResult, row: dict[str, Any], keys: tuple[str, ...]) -> bool:
    """Adds an error to ``result`` for each of the cells ``keys`` that holds a formula never calculated (a
    spreadsheet's :class:`~disburse.spreadsheets.UncalculatedFormula`: the value Excel shows is not in the file); True
    when there was one. The row's other checks are then pointless: its values are not known."""
    before = len(result.errors)
    for key in keys:
        if isinstance(row.get(key), UncalculatedFormula):
            result.fail(key, "uncalculated_formula", *UNCALCULATED_FORMULA)
    return len(result.errors) > before


def si_code_value(row: dict[str, Any], key: str = "si_code") -> str:
    """The SI code of a row: text as it is; a number cell (Excel drops the leading zeros of a code typed as a number)
    padded back to the SI code's 10 digits, as the registry importer does."""
    value = row.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**10:
        return str(value).zfill(10)
    return text_value(row, key)


def si_code_words(si_code: str, *, typed: bool = False) -> tuple[str, str] | None:
    """What an SI code that is not 10 digits 0–9 is told, (Vietnamese, English); None for one that is. The words fit
    where the code came from: ``typed`` in a form (a web page, the API, the desk), they say what to type; from a file
    (a spreadsheet, the API's rows), a code short of digits adds that a spreadsheet may have dropped its leading
    zeros, and how to keep them. A code with other characters than digits is told which: "01O5A29570" has its 10
    characters, and "đang có 10 ký tự" contradicted itself."""
    if SI_CODE.fullmatch(si_code):
        return None
    others = list(dict.fromkeys(c for c in si_code if not ("0" <= c <= "9")))
    if others:
        shown = ", ".join(f"“{c}”" for c in others[:5])
        vi = f"Mã số BHXH chỉ gồm 10 chữ số 0–9; mã này có ký tự khác: {shown}."
        en = f"An SI code is 10 digits 0–9 only; this one has other characters: {shown}."
        if {"O", "o"} & set(others):
            vi += " Chữ O có thể là số 0."
            en += " The letter O may be the digit 0."
        return vi, en
    length = len(si_code)
    characters = "character" if length == 1 else "characters"
    if typed:
        return (
            f"Mã số BHXH gồm 10 chữ số (đang có {length} ký tự).",
            f"The SI code has 10 digits (this one has {length} {characters}).",
        )
    vi = f"Mã số BHXH phải gồm đúng 10 chữ số (đang có {length} ký tự)."
    en = f"The SI code must have exactly 10 digits (this one has {length} {characters})."
    if si_code.isascii() and si_code.isdigit() and length < 10:
        vi += " Nếu tệp đã qua Excel, các chữ số 0 ở đầu có thể đã mất: hãy định dạng cột này là văn bản (Text)."
        en += " If the file went through Excel, its leading zeros may be lost: format this column as text."
    return vi, en


def si_code_error(result: RowResult, si_code: str, *, typed: bool = False) -> bool:
    """Adds the SI code's shape error (:func:`si_code_words`) to ``result``; True when there was one."""
    words = si_code_words(si_code, typed=typed)
    if words is not None:
        result.fail("si_code", "si_code_format", *words)
    return words is not None


#: A row whose person chose a bank transfer (the browser's Form 02) without its bank or account number.
BANK_REQUIRED_MESSAGE = (
    "Đã chọn chuyển khoản: cần ghi cả ngân hàng và số tài khoản. Nếu người lao động nhận tiền mặt, hãy chọn "
    "“Nhận tiền mặt tại cơ quan BHXH”.",
    "A bank transfer was chosen: give both the bank and the account number. If the person takes cash, choose "
    "“Cash at the office”.",
)


def bank_errors(
    result: RowResult,
    bank_code: str,
    bank_account: str,
    known_banks: KnownBanks,
    *,
    account_is_number: bool = False,
    required: bool = False,
) -> bool:
    """Adds the bank details' errors to ``result`` (both given or both blank, a known bank, an account of 6 to 19
    digits: :func:`is_bank_account`, given as text: ``account_is_number``, a number cell or a JSON number, may have
    lost its leading zeros, and money must not go to an account one digit short); True when there was one.
    ``required``: the person chose a bank transfer, so blank details are not a payout in cash but an error
    (``bank_required``, on the first blank field)."""
    before = len(result.errors)
    scientific = bool(_SCIENTIFIC.fullmatch(bank_account))
    if scientific or (account_is_number and bank_account):
        result.fail("bank_account", "account_number_cell", *_number_cell_message(bank_account, scientific))
    if required and not (bank_code and bank_account):
        result.fail("bank_account" if bank_code else "bank_code", "bank_required", *BANK_REQUIRED_MESSAGE)
    elif bool(bank_code) != bool(bank_account):
        result.fail(
            "bank_account" if bank_code else "bank_code",
            "bank_pair",
            "Cần ghi cả ngân hàng và số tài khoản (hoặc để trống cả hai).",
            "Give both the bank and the account number (or leave both blank).",
        )
    shared = known_banks.sharing(bank_code) if bank_code and bank_code.upper() not in known_banks else ""
    if shared:
        result.fail(
            "bank_code",
            "bank_shared",
            # Not quoted: it came in capitals ("NGÂN HÀNG SÀI GÒN"); the field or the file's row shows it as written.
            f"Tên ngân hàng này có thể là một trong nhiều ngân hàng: {shared}. Hãy ghi mã ngân hàng.",
            f"This bank name may be any of several banks: {shared}. Write the bank's code.",
        )
    elif bank_code and bank_code.upper() not in known_banks:
        result.fail(
            "bank_code",
            "bank_unknown",
            f"Không rõ ngân hàng '{bank_code[:40]}': hãy ghi mã ngân hàng (ví dụ VCB, BIDV, ICB, VBA) hoặc tên ngân "
            "hàng (ví dụ Vietcombank, Ngân hàng Ngoại thương).",
            f"The bank '{bank_code[:40]}' is not known: write the bank's code (e.g. VCB, BIDV, ICB, VBA) or its name "
            "(e.g. Vietcombank, Ngân hàng Ngoại thương).",
        )
    if bank_account and not (scientific or account_is_number) and not is_bank_account(bank_account):
        result.fail("bank_account", "account_format", *BANK_ACCOUNT_MESSAGE)
    return len(result.errors) > before


#: An account number as Excel shows a number of 12 digits or more in a narrow or "General" column, 3.86679E+12, and
#: writes it so into a CSV: the digits after the sixth are gone.
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+")


def _number_cell_message(bank_account: str, scientific: bool) -> tuple[str, str]:
    """Why an account number given as a number (a number cell, a JSON number, Excel's 3.86679E+12) is refused, and
    how to fix it: its leading zeros may be lost; past 15 digits, Excel turned its last digits into zeros; written
    with E+, most of its digits are gone."""
    fix_vi = "hãy định dạng cột này là văn bản (Text) rồi nhập lại đúng số tài khoản."
    fix_en = "format this column as text and enter the account number again."
    if scientific:
        return (
            f"Số tài khoản bị Excel ghi dạng số mũ ({bank_account[:20]}) nên đã mất các chữ số; {fix_vi}",
            f"Excel wrote the account number in scientific notation ({bank_account[:20]}), so its digits are lost; "
            f"{fix_en}",
        )
    try:
        long = float(bank_account) >= 1e15
    except ValueError:
        long = False
    if long:
        return (
            f"Số tài khoản đang ở dạng số; Excel chỉ giữ 15 chữ số nên các chữ số cuối có thể đã thành 0; {fix_vi}",
            f"The account number is given as a number; Excel keeps only 15 digits, so its last digits may have "
            f"become zeros; {fix_en}",
        )
    return (
        f"Số tài khoản đang ở dạng số nên có thể đã mất các chữ số 0 ở đầu; {fix_vi}",
        f"The account number is given as a number, so its leading zeros may be lost; {fix_en}",
    )


def drop_bank_reasons(claim: Claim) -> None:
    """The claim's new bank details (checked) or its payout in cash answer verification's findings about the old
    ones: those reasons leave the claim's list of what needs checking (the events keep what was found)."""
    stale = {BANK_DETAILS_MISSING, BANK_DETAILS_MALFORMED}
    if any(reason in stale for reason in claim.reasons or ()):
        claim.reasons = [reason for reason in claim.reasons if reason not in stale]
