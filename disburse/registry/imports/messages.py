"""The errors file's messages: one Vietnamese and one English sentence per failed rule (``column:code``).

Made in Python for the rejected rows only; the check itself records just the codes. A message is a template
over the column, its label, the value and the programme's today (see :func:`describe`).
"""

from __future__ import annotations

from datetime import date

from disburse.formatting import BadDay, parse_day
from disburse.programs.models import SECTORS
from disburse.registry.codes import UNIT_CODE_WORDS
from disburse.spreadsheets import UNCALCULATED_FORMULA

LABELS = {
    "si_code": "Mã số BHXH",
    "national_id": "Số CMND/CCCD",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "gender": "Giới tính",
    "phone": "Số điện thoại",
    "province_code": "Mã tỉnh",
    "district_code": "Mã quận/huyện",
    "address": "Địa chỉ",
    "employer_unit_code": "Mã đơn vị",
    "ui_status": "Trạng thái BHTN",
    "ui_stopped_on": "Ngày dừng đóng BHTN",
    "unused_months": "Số tháng chưa hưởng",
    "pension_decision": "Quyết định hưởng lương hưu",
    "bank_code": "Mã ngân hàng",
    "bank_account": "Số tài khoản",
    "unit_code": "Mã đơn vị",
    "name": "Tên đơn vị",
    "tax_code": "Mã số thuế",
    "sector": "Loại hình đơn vị",
    "ui_joined_on": "Ngày tham gia BHTN",
    "email": "Email",
    "month": "Tháng",
    "ui_salary_fund_vnd": "Quỹ lương đóng BHTN",
    "ui_participants": "Số người tham gia",
}
#: The longest text a column may hold (the ``too_long`` rule).
LIMITS = {"full_name": 200, "address": 500, "name": 300}

#: (Vietnamese, English) per error code, or per ``code/variant`` (see :func:`_message_key`). The placeholders:
#: ``label``, ``column``, ``code``, ``v`` (the value, stripped), ``length`` (its length), ``dmy`` (a date value as
#: dd/mm/yyyy), ``limit`` (:data:`LIMITS`), ``today``, ``sectors``, ``detail`` (a stored value the rule names: see
#: :attr:`~disburse.registry.imports.spec.Spec.stored_rules`).
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("{label} ({column}) không được để trống.", "{column} must not be blank."),
    "si_format/digits": (
        "Mã số BHXH phải gồm đúng 10 chữ số (đang có {length}).",
        "The SI code must have exactly 10 digits (this one has {length}).",
    ),
    "si_format": ("Mã số BHXH chỉ được gồm 10 chữ số.", "The SI code must be 10 digits and nothing else."),
    "nid_format/digits": (
        "Số CMND/CCCD phải gồm 9 hoặc 12 chữ số (đang có {length}).",
        "The national ID must have 9 or 12 digits (this one has {length}).",
    ),
    "nid_format": (
        "Số CMND/CCCD chỉ được gồm 9 hoặc 12 chữ số.",
        "The national ID must be 9 or 12 digits and nothing else.",
    ),
    "too_long": (
        "{label} dài quá {limit} ký tự (đang có {length}).",
        "{column} is longer than {limit} characters (this one has {length}).",
    ),
    "date": (
        "{label} «{v}» không phải ngày hợp lệ; hãy ghi theo dạng dd/mm/yyyy (ví dụ 31/01/1990) hoặc YYYY-MM-DD, từ "
        "năm 1900 đến 2100.",
        "{column} '{v}' is not a valid date; write it as dd/mm/yyyy (e.g. 31/01/1990) or YYYY-MM-DD, years 1900 to "
        "2100.",
    ),
    "future": (
        "{label} {dmy} nằm trong tương lai (hôm nay là {today:%d/%m/%Y}).",
        "{column} {dmy} is in the future (today is {today:%d/%m/%Y}).",
    ),
    "gender": ("Giới tính phải là male, female hoặc để trống.", "gender must be male, female or blank."),
    "phone": (
        "Số điện thoại chỉ gồm chữ số (có thể có + - . ( ) và dấu cách), tối đa 20 ký tự.",
        "The phone number may hold digits (and + - . ( ) and spaces) only, 20 characters at most.",
    ),
    "province_unknown": (
        "Không có tỉnh/thành phố mã «{v}» (mã Tổng cục Thống kê 2021, 2 chữ số, ví dụ 01 = Hà Nội).",
        "There is no province with code '{v}' (2021 GSO code, 2 digits, e.g. 01 = Hà Nội).",
    ),
    "district_unknown": (
        "Không có quận/huyện mã «{v}» (mã Tổng cục Thống kê 2021, 3 chữ số, ví dụ 017 = Đông Anh).",
        "There is no district with code '{v}' (2021 GSO code, 3 digits, e.g. 017 = Đông Anh).",
    ),
    "district_province": (
        "Quận/huyện mã «{v}» không thuộc tỉnh/thành phố đã ghi ở cột province_code.",
        "District '{v}' is not in the province given in province_code.",
    ),
    "employer_unknown": (
        "Không tìm thấy đơn vị có mã «{v}»; hãy nhập danh sách đơn vị trước.",
        "No employer has unit code '{v}'; import the employers first.",
    ),
    "employer_required": (
        "Người đang tham gia BHTN (participating) phải có mã đơn vị.",
        "A participating employee needs the employer's unit code.",
    ),
    "ui_status": (
        "Trạng thái BHTN phải là participating (đang tham gia) hoặc stopped (đã dừng).",
        "ui_status must be participating or stopped.",
    ),
    "stop_required": (
        "Người đã dừng đóng BHTN (stopped) phải có ngày dừng (ui_stopped_on).",
        "A stopped employee needs the date UI stopped (ui_stopped_on).",
    ),
    "months": (
        "Số tháng chưa hưởng phải là số nguyên từ 0 đến 600 (đang là «{v}»).",
        "unused_months must be a whole number from 0 to 600 (this one is '{v}').",
    ),
    "yes_no": (
        "Quyết định hưởng lương hưu phải là yes, no hoặc để trống.",
        "pension_decision must be yes, no or blank.",
    ),
    "bank_unknown": (
        "Không rõ ngân hàng «{v}»: hãy ghi mã ngân hàng (mã ngắn theo danh sách VietQR/NAPAS, ví dụ VCB, BIDV, ICB) "
        "hoặc tên ngân hàng (ví dụ Vietcombank, Ngân hàng Ngoại thương).",
        "The bank '{v}' is not known: write the bank's code (short code from the VietQR/NAPAS list, e.g. VCB, BIDV, "
        "ICB) or its name (e.g. Vietcombank, Ngân hàng Ngoại thương).",
    ),
    "bank_shared": (
        "«{v}» có thể là một trong nhiều ngân hàng (tên của ngân hàng này là phần đầu tên của ngân hàng khác): hãy ghi "
        "mã ngân hàng (ví dụ SCB, STB) hoặc tên riêng của ngân hàng (ví dụ Sacombank, Saigonbank).",
        "'{v}' may be any of several banks (this bank's name begins others' names): write the bank's code (e.g. SCB, "
        "STB) or the bank's own name (e.g. Sacombank, Saigonbank).",
    ),
    "bank_pair": (
        "Cần ghi cả ngân hàng (mã hoặc tên) và số tài khoản, hoặc để trống cả hai.",
        "Give both the bank (its code or name) and the account number, or leave both blank.",
    ),
    "account_format": (
        "Số tài khoản chỉ gồm chữ và số, từ 4 đến 30 ký tự.",
        "The bank account number must be 4 to 30 letters and digits.",
    ),
    "account_number_cell": (
        "Số tài khoản đang ở ô kiểu số nên có thể đã mất các chữ số 0 ở đầu; hãy định dạng cột này là văn bản (Text) "
        "rồi nhập lại.",
        "The account number is in a number cell, so its leading zeros may be lost; format this column as text and "
        "enter it again.",
    ),
    "duplicate/si_code": (
        "Mã số BHXH {v} xuất hiện nhiều lần trong tệp; không dòng nào có mã này được nhập.",
        "SI code {v} appears more than once in the file; none of its rows was imported.",
    ),
    "duplicate/unit_code": (
        "Mã đơn vị {v} xuất hiện nhiều lần trong tệp; không dòng nào có mã này được nhập.",
        "Unit code {v} appears more than once in the file; none of its rows was imported.",
    ),
    "duplicate": (
        "Đơn vị và tháng {v} xuất hiện nhiều lần trong tệp; không dòng nào trong số đó được nhập.",
        "The same unit and month {v} appear more than once in the file; none of those rows was imported.",
    ),
    "unit_format": UNIT_CODE_WORDS,
    "tax_format": (
        "Mã số thuế phải gồm 10 chữ số, hoặc 10 chữ số, dấu - và 3 chữ số.",
        "The tax code must be 10 digits, or 10 digits, a dash and 3 digits.",
    ),
    "sector": ("Loại hình đơn vị phải là một trong: {sectors}.", "sector must be one of: {sectors}."),
    "unit_has_claims": (
        "Đơn vị đang thuộc quận/huyện mã {detail}, nơi đang xử lý hồ sơ hỗ trợ của đơn vị, nên tệp nhập không chuyển "
        "được đơn vị sang quận/huyện «{v}»: hồ sơ vẫn do quận/huyện {detail} xử lý, còn trang đơn vị sẽ sang "
        "quận/huyện mới, tách đơn vị khỏi hồ sơ của mình. Dòng này không được nhập (kể cả các cột khác); để cập nhật "
        "các cột khác, hãy ghi mã quận/huyện {detail}. Cách chuyển đơn vị: xem hướng dẫn vận hành, mục nhập danh sách.",
        "The unit is in district {detail}, which works the unit's support claims, so an import cannot move it to "
        "district '{v}': the claims would stay with district {detail} while the unit's page moved, splitting the "
        "unit from its claims. This row was not imported (its other columns neither); to update them, write "
        "district {detail}. How to move a unit: see the operations guide, registry import files.",
    ),
    "email": ("Email không hợp lệ.", "The email address is not valid."),
    "month": (
        "Tháng «{v}» không hợp lệ; hãy ghi theo dạng mm/yyyy (ví dụ 10/2021) hoặc YYYY-MM (ví dụ 2021-10).",
        "Month '{v}' is not valid; write it as mm/yyyy (e.g. 10/2021) or YYYY-MM (e.g. 2021-10).",
    ),
    "money": (
        "Quỹ lương phải là số nguyên đồng, không âm, tối đa 15 chữ số, không có dấu phân cách (ví dụ 125000000).",
        "The salary fund must be a whole, non-negative number of đồng, at most 15 digits, without separators "
        "(e.g. 125000000).",
    ),
    "count": ("Số người tham gia phải là số nguyên không âm.", "ui_participants must be a whole, non-negative number."),
    # A row the reader could not stage: the reader wrote the whole message as the value.
    "columns": ("{v}", "{v}"),
    # A workbook's cell holding a formula never calculated: its value is not in the file (the row is not staged).
    "uncalculated_formula": UNCALCULATED_FORMULA,
}
#: Any other code (a rule added without a message).
FALLBACK = ("{label}: giá trị không hợp lệ ({code}).", "{column}: invalid value ({code}).")


def _dmy(value: str) -> str:
    try:
        return parse_day(value).strftime("%d/%m/%Y")
    except BadDay:
        return value


def _message_key(column: str, code: str, value: str) -> str:
    """The code, or the code and the variant its message takes: a format error on a value of digits says how
    many there are; a repeated key names the key."""
    if code in ("si_format", "nid_format") and value.isascii() and value.isdigit():
        return f"{code}/digits"
    if code == "duplicate" and column in ("si_code", "unit_code"):
        return f"{code}/{column}"
    return code


def describe(column: str, code: str, value: str | None, *, today: date, detail: str = "") -> tuple[str, str]:
    """(message_vi, message_en) for one failed rule; ``detail``: the stored value a rule over stored rows names."""
    v = (value or "").strip()
    if code == "date":
        # Why the date was refused (a two-digit year, the month first, not in the calendar), as every date input
        # says it; a date the parser takes was refused by the lookup's years alone (the generic message).
        try:
            parse_day(v)
        except BadDay as bad:
            return f"{LABELS.get(column, column)}: {bad.vi}", f"{column}: {bad.en}"
    vi, en = MESSAGES.get(_message_key(column, code, v), FALLBACK)
    values = {
        "label": LABELS.get(column, column),
        "column": column,
        "code": code,
        "v": v,
        "length": len(v),
        "dmy": _dmy(v),
        "limit": LIMITS.get(column, 0),
        "today": today,
        "sectors": ", ".join(SECTORS),
        "detail": detail,
    }
    return vi.format(**values), en.format(**values)
