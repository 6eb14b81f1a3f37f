"""What each notification says, in Vietnamese then English (or English first for an employer user who chose it),
from the facts on its row: the unit, counts, dates (dd/mm/yyyy), a link. Never a worker's name, SI code, ID or
account: e-mail is not a safe channel, and a count says what the unit needs to act."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from disburse.formatting import dmy, number

SEPARATOR = "\n\n----------------------------------------\n\n"

_FOOTER = (
    "Thư này do hệ thống chi trả hỗ trợ tự động gửi; vui lòng không trả lời thư này.",
    "This message was sent automatically by the support payment system; please do not reply to it.",
)


def _form_01_ready(p: Mapping[str, Any], link: str) -> tuple[tuple[str, str], tuple[str, str]]:
    due = dmy(date.fromisoformat(p["due_on"]))
    subject = (
        f"Danh sách Mẫu số 01 của đơn vị {p['unit_code']} đã sẵn sàng: hạn gửi Mẫu số 02 {due}",
        f"Form 01 list of unit {p['unit_code']} is ready: Form 02 due by {due}",
    )
    vi = (
        f"Kính gửi {p['unit_name']} (mã đơn vị {p['unit_code']}),\n\n"
        f"Cơ quan BHXH đã lập Mẫu số 01: Danh sách người lao động của đơn vị ({p['program_code']}): "
        f"{number(p['people'], locale='vi')} người.\n\n"
        f"Hạn gửi Mẫu số 02 (Danh sách đề nghị hỗ trợ): {due}.\n"
        f"Xem danh sách và gửi Mẫu số 02 tại: {link}\n\n"
        f"{_FOOTER[0]}"
    )
    en = (
        f"To {p['unit_name']} (unit code {p['unit_code']}),\n\n"
        f"The social security office has prepared your unit's Form 01: list of employees ({p['program_code']}): "
        f"{number(p['people'], locale='en')} {'person' if p['people'] == 1 else 'people'}.\n\n"
        f"Form 02 (confirmed list requesting support) is due by {due}.\n"
        f"See the list and send Form 02 at: {link}\n\n"
        f"{_FOOTER[1]}"
    )
    return subject, (vi, en)


def _form_02_reminder(p: Mapping[str, Any], link: str) -> tuple[tuple[str, str], tuple[str, str]]:
    due = dmy(date.fromisoformat(p["due_on"]))
    subject = (
        f"Nhắc hạn gửi Mẫu số 02 của đơn vị {p['unit_code']}: {due}",
        f"Reminder: Form 02 of unit {p['unit_code']} is due by {due}",
    )
    vi = (
        f"Kính gửi {p['unit_name']} (mã đơn vị {p['unit_code']}),\n\n"
        f"Hạn gửi Mẫu số 02 (Danh sách đề nghị hỗ trợ) của đơn vị là {due}. "
        f"{number(p['people'], locale='vi')} người trong Mẫu số 01 đang chờ đơn vị xác nhận.\n\n"
        f"Gửi Mẫu số 02 tại: {link}\n\n"
        f"{_FOOTER[0]}"
    )
    en = (
        f"To {p['unit_name']} (unit code {p['unit_code']}),\n\n"
        f"Your unit's Form 02 (confirmed list requesting support) is due by {due}. "
        f"{number(p['people'], locale='en')} {'person' if p['people'] == 1 else 'people'} on your Form 01 "
        f"{'is' if p['people'] == 1 else 'are'} waiting for the unit's confirmation.\n\n"
        f"Send Form 02 at: {link}\n\n"
        f"{_FOOTER[1]}"
    )
    return subject, (vi, en)


def _details_needed(p: Mapping[str, Any], link: str) -> tuple[tuple[str, str], tuple[str, str]]:
    due = dmy(date.fromisoformat(p["due_on"]))
    one = p["people"] == 1
    subject = (
        f"Đơn vị {p['unit_code']}: {number(p['people'], locale='vi')} người chờ bổ sung thông tin tài khoản",
        f"Unit {p['unit_code']}: {number(p['people'], locale='en')} {'person' if one else 'people'} awaiting "
        "payment details",
    )
    vi = (
        f"Kính gửi {p['unit_name']} (mã đơn vị {p['unit_code']}),\n\n"
        f"{number(p['people'], locale='vi')} người lao động của đơn vị chưa nhận được khoản hỗ trợ vì tài khoản "
        "ngân hàng của họ không nhận được tiền (tài khoản đã đóng, bị phong toả, không tồn tại hoặc tên chủ tài khoản "
        "không khớp), và đang chờ bổ sung thông tin tài khoản.\n\n"
        f"Đơn vị hãy gửi Mẫu số 03: Danh sách điều chỉnh thông tin với tài khoản mới của họ, hạn cuối {due}.\n"
        f"Xem danh sách và gửi Mẫu số 03 tại: {link}\n\n"
        f"{_FOOTER[0]}"
    )
    en = (
        f"To {p['unit_name']} (unit code {p['unit_code']}),\n\n"
        f"{number(p['people'], locale='en')} {'employee' if one else 'employees'} of your unit "
        f"{'has' if one else 'have'} not received the support because the bank account could not take the money "
        "(closed, blocked, unknown, or the holder's name does not match), and "
        f"{'is' if one else 'are'} awaiting payment details.\n\n"
        f"Please send Form 03 (adjustments) with their new accounts by {due}.\n"
        f"See the list and send Form 03 at: {link}\n\n"
        f"{_FOOTER[1]}"
    )
    return subject, (vi, en)


_RENDER = {
    "form_01_ready": _form_01_ready,
    "form_02_reminder": _form_02_reminder,
    "details_needed": _details_needed,
}


def render(kind: str, params: Mapping[str, Any], locale: str, base_url: str) -> tuple[str, str]:
    """The subject and the plain-text body: both languages, ``locale``'s first."""
    (subject_vi, subject_en), (vi, en) = _RENDER[kind](params, f"{base_url.rstrip('/')}{params['path']}")
    if locale == "en":
        return f"{subject_en} / {subject_vi}", f"{en}{SEPARATOR}{vi}"
    return f"{subject_vi} / {subject_en}", f"{vi}{SEPARATOR}{en}"
