"""The audit log's actions and kinds of record read as words in the page's language (Vietnamese first, English for
an English user), with the codes beside them and as the action filter's values; an entry written by each of the
product's own functions is shown so, an action nobody labelled shows as its code, and every action and kind of record
the source writes has a label."""

from __future__ import annotations

import ast
import html as html_
import io
import re
from pathlib import Path

from disburse.admin import service
from disburse.admin.views import AUDIT_ACTIONS, AUDIT_OBJECTS
from disburse.auth import service as auth
from disburse.auth.models import AuditLog
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.payments.models import Recovery
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.programs.models import Program
from tests.admin.conftest import sign_in
from tests.factories import create_claim, create_offer, create_payment

ROOT = Path(__file__).resolve().parents[2]
#: Where the product writes the audit log from.
SOURCES = ("disburse", "workers")
#: The functions that write an entry, and the position of the action and of the kind of record in their arguments.
WRITERS = {"audit": (1, 2), "_audit": (0, 1)}
#: The functions that only pass on what their caller gave them (and are checked through their callers).
PASSING_ON = {("disburse/auth/service.py", "audit"), ("disburse/auth/service.py", "_audit")}


def _written_codes() -> tuple[set[str], set[str], list[str]]:
    """The actions and kinds of record written anywhere in the source, and the places that write one this reading
    cannot tell (not a string literal, outside the functions that pass them on)."""
    actions: set[str] = set()
    objects: set[str] = set()
    unknown: list[str] = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            source = path.read_text(encoding="utf-8")
            if re.search(r"insert\s+into\s+audit_log", source, re.IGNORECASE):
                unknown.append(f"{name}: SQL that inserts into audit_log")
            tree = ast.parse(source, name)
            passing_on = {
                id(node)
                for function in ast.walk(tree)
                if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and (name, function.name) in PASSING_ON
                for node in ast.walk(function)
            }
            for call in [node for node in ast.walk(tree) if isinstance(node, ast.Call) and id(node) not in passing_on]:
                called = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                arguments: list[tuple[ast.expr | None, set[str]]] = []
                if called in WRITERS:
                    action_at, object_at = WRITERS[called]
                    given_at = dict(enumerate(call.args))
                    arguments = [(given_at.get(action_at), actions), (given_at.get(object_at), objects)]
                elif called == "AuditLog":
                    given = {keyword.arg: keyword.value for keyword in call.keywords}
                    arguments = [(given.get("action"), actions), (given.get("object_type"), objects)]
                for argument, codes in arguments:
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        codes.add(argument.value)
                    else:
                        unknown.append(f"{name}:{call.lineno}: {ast.unparse(call)[:80]}")
    return actions, objects, unknown


def _recovery() -> Recovery:
    """A payment returned after it settled: its recovery, owed."""
    payment = create_payment(state="sent")
    for status in (ProviderStatus.PAID, ProviderStatus.RETURNED):
        apply_updates("sandbox", [StatusUpdate(payment.provider_reference, status, "AC04")], source="poll")
    return db.session.query(Recovery).filter_by(payment_id=payment.id).one()


def test_every_action_and_kind_of_record_the_product_writes_has_a_label():
    actions, objects, unknown = _written_codes()
    assert unknown == [], "give these a string literal (and a label), or teach this test to read them"
    # The reading finds the writers in every module that writes (not nothing, by a change in how they are called).
    assert {"import.upload", "user.create", "user.set_password", "token.revoke", "job.retry", "target.set"} <= actions
    assert "lists.build" in actions  # the admins' Form 01 lists build (disburse/claims/list_builds.py)
    assert actions - AUDIT_ACTIONS.keys() == set(), "label these actions in disburse/admin/views.py: AUDIT_ACTIONS"
    assert objects - AUDIT_OBJECTS.keys() == set(), "label these kinds of record in disburse/admin/views.py"
    for code, (vi, en) in {**AUDIT_ACTIONS, **AUDIT_OBJECTS}.items():
        assert vi.strip() and en.strip() and code not in (vi, en), code


def _cells(page: str) -> list[tuple[str, str]]:
    """(action, record) of each row of the log, as the reader sees them (tags dropped, the code kept)."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", body, re.DOTALL)

    def text(cell: str) -> str:
        return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<br>", " ", re.sub(r"<(?!br)[^>]+>", "", cell))).strip())

    return [(text(action), text(record)) for action, record in rows]


def test_entries_written_by_the_products_functions_read_as_words_in_both_languages(
    app,
    monkeypatch,
    admin_client,
    admin,
    folders,
    broker,
):
    # Each action, written the way the product writes it: the admin's services, the account and token services,
    # and the pages that audit in the view (an upload, a job's retry, a district's target).
    user, _ = service.create_user(
        "nguoi.moi@bhxh.example.vn",
        "caseworker",
        full_name="Nguyễn Văn Mới",
        district="017",
        province=None,
        employer_unit=None,
        actor=admin,
    )
    service.update_user(
        user,
        role="caseworker",
        full_name="Nguyễn Văn Cũ",
        district="017",
        province=None,
        employer_unit=None,
        actor=admin,
    )
    service.reset_password(user, actor=admin)
    service.deactivate_user(user, actor=admin)
    service.reactivate_user(user, actor=admin)
    auth.create_token(user, "máy chủ báo cáo")
    [token] = auth.tokens_of(user)
    auth.revoke_token(token.id)
    program = db.session.query(Program).filter_by(code="NQ116").one()
    service.set_max_payment_failures(program, 5 if program.max_payment_failures != 5 else 4, actor=admin)
    db.session.commit()
    uploaded = admin_client.post(
        "/admin/imports",
        data={"kind": "employers", "file": (io.BytesIO(b"unit_code\n"), "don-vi.csv")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    job = db.session.get(Job, int(uploaded.headers["Location"].rsplit("/", 1)[1]))
    job.state, job.error = "failed", "boom"
    db.session.commit()
    assert admin_client.post(f"/jobs/{job.id}/retry").status_code == 302
    target = {"district": "017", "target_date": "30/11/2021", "percent": "80"}
    clock = app.config.get("DISBURSE_TODAY")
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")  # a target is for a day to come
    assert admin_client.post("/dashboard/targets", data=target).status_code == 302
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", clock)
    recovery = _recovery()
    moved = {"to_state": "written_off", "note": "Người nhận đã mất", "confirmed": "1"}
    assert admin_client.post(f"/dashboard/recoveries/{recovery.id}", data=moved).status_code == 302
    claim = create_claim("awaiting_payment_details")
    offer = create_offer(claim)
    dismissed = {"offer": str(offer.id), "reason": "Người lao động không gửi đề nghị này."}
    assert admin_client.post(f"/caseworker/claims/{claim.id}/offer-dismiss", data=dismissed).status_code == 302
    phone = {"id_card_seen": "y", "phone": "0987 111 333"}
    assert admin_client.post(f"/caseworker/claims/{claim.id}/phone", data=phone).status_code == 302
    assert admin_client.post("/caseworker/people/find", data={"codes": "0100000001"}).status_code == 200
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-15")  # before NQ116's list deadline
    built = admin_client.post("/admin/lists")
    assert built.status_code == 302
    lists_job = int(built.headers["Location"].rsplit("/", 1)[1])
    written = {entry.action for entry in db.session.query(AuditLog)}
    assert written == AUDIT_ACTIONS.keys(), "every action the product writes, written here by its own function"

    page = admin_client.get("/admin/audit").get_data(as_text=True)
    cells = _cells(page)
    assert ("Tạo người dùng user.create", f"Người dùng {user.id}") in cells
    assert ("Sửa thông tin người dùng user.update", f"Người dùng {user.id}") in cells
    assert ("Đặt mật khẩu mới user.set_password", f"Người dùng {user.id}") in cells
    assert ("Khoá tài khoản user.deactivate", f"Người dùng {user.id}") in cells
    assert ("Mở lại tài khoản user.reactivate", f"Người dùng {user.id}") in cells
    assert ("Tạo token API token.create", f"Token API {token.id}") in cells
    assert ("Thu hồi token API token.revoke", f"Token API {token.id}") in cells
    assert ("Sửa tham số chương trình program.update", f"Chương trình {program.id}") in cells
    assert ("Tải lên tệp danh sách để nhập import.upload", f"Công việc {job.id}") in cells
    assert ("Chạy lại công việc bị lỗi job.retry", f"Công việc {job.id}") in cells
    assert ("Đặt mục tiêu chi trả cho quận/huyện target.set", "Quận/huyện Huyện Đông Anh (017)") in cells
    assert ("Chuyển trạng thái khoản thu hồi recovery.move", f"Khoản thu hồi {recovery.id}") in cells
    assert ("Bỏ qua đề nghị thông tin tài khoản của người lao động claim.dismiss_offer", f"Hồ sơ {claim.id}") in cells
    assert ("Ghi số điện thoại mới của người lao động claim.record_phone", f"Hồ sơ {claim.id}") in cells
    assert ("Lập danh sách Mẫu số 01 lists.build", f"Công việc {lists_job}") in cells
    assert ("Tra cứu một danh sách người lao động people.bulk_lookup", f"Người dùng {admin.id}") in cells
    # And the signed-in admin's own creation (the fixture makes them with the same service, no actor).
    assert ("Tạo người dùng user.create", f"Người dùng {admin.id}") in cells
    assert len(cells) == len(AUDIT_ACTIONS) + 1
    assert '<span title="api_token">Token API</span>' in page  # the kind's code, for whoever knows it
    # The filter shows words with the code; what it submits stays the code.
    assert '<option value="user.create">Tạo người dùng (user.create)</option>' in page
    assert '<option value="target.set">Đặt mục tiêu chi trả cho quận/huyện (target.set)</option>' in page
    filtered = _cells(admin_client.get("/admin/audit?action=token.revoke").get_data(as_text=True))
    assert filtered == [("Thu hồi token API token.revoke", f"Token API {token.id}")]

    sign_in(admin_client, admin, "en")
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    cells = _cells(page)
    assert ("User created user.create", f"User {user.id}") in cells
    assert ("User details changed user.update", f"User {user.id}") in cells
    assert ("New password set user.set_password", f"User {user.id}") in cells
    assert ("Account deactivated user.deactivate", f"User {user.id}") in cells
    assert ("Account reactivated user.reactivate", f"User {user.id}") in cells
    assert ("API token created token.create", f"API token {token.id}") in cells
    assert ("API token revoked token.revoke", f"API token {token.id}") in cells
    assert ("Programme parameter changed program.update", f"Programme {program.id}") in cells
    assert ("Registry file uploaded for import import.upload", f"Job {job.id}") in cells
    assert ("Failed job run again job.retry", f"Job {job.id}") in cells
    assert ("Form 01 lists build started lists.build", f"Job {lists_job}") in cells
    assert ("District target set target.set", "District Huyện Đông Anh (017)") in cells
    assert ("Person's offer of details dismissed claim.dismiss_offer", f"Claim {claim.id}") in cells
    assert ("Person's new phone number recorded claim.record_phone", f"Claim {claim.id}") in cells
    assert ("List of people looked up people.bulk_lookup", f"User {admin.id}") in cells
    assert '<option value="user.create">User created (user.create)</option>' in page
    shown = page.split('name="action"')[1]  # the filter's choices and the log
    assert not any(vi in shown for vi in ("Tạo người dùng", "Người dùng", "Token API", "Công việc", "Quận/huyện"))


def test_an_action_or_kind_of_record_with_no_label_shows_as_its_code(admin_client, admin):
    # No product function writes an unknown action: an older or newer release's entry, written as any entry is.
    auth.audit(admin, "report.archive", "report_file", "77", {"note": "cũ"})
    db.session.flush()
    page = admin_client.get("/admin/audit?record=77").get_data(as_text=True)
    assert _cells(page) == [("report.archive", "report_file 77")]
    assert "<td><code>report.archive</code></td>" in page
    assert '<option value="report.archive">report.archive</option>' in page


def test_an_entrys_data_reads_in_words_a_parameter_changed_as_one_line(app):
    """A programme parameter's change was "Tham số: max_payment_failures", "Trước: 3" and "Sau: 5" on three lines;
    a lists build's programme and an upload's kind were their codes."""
    from disburse.admin.views import audit_lines

    with app.test_request_context():
        changed = audit_lines({"code": "NQ116", "field": "max_payment_failures", "before": 3, "after": 5})
        assert changed == [
            ("Mã chương trình", "NQ116"),
            ("Tham số", "Số lần chi trả lỗi trước khi đề nghị nhận tiền mặt (max_payment_failures)"),
            ("Giá trị", "3 → 5"),
        ]
        assert audit_lines({"program": "DEMO116"}) == [("Chương trình", "DEMO116")]
        kind = dict(audit_lines({"kind": "employers", "filename": "don-vi.csv"}))["Loại"]
        assert kind.endswith("(employers)") and kind != "employers"


def test_a_label_that_already_names_its_code_is_not_followed_by_it_again(admin_client, admin):
    """An upload's detail read "Loại: Đơn vị sử dụng lao động (employers) (employers)": the import kinds' Vietnamese
    names end with their code already. Every label shown with its code, in both languages, names it once."""
    from disburse.admin.views import PARAMETER_LABELS, with_code

    labelled = {**service.IMPORT_KINDS, **PARAMETER_LABELS, **AUDIT_ACTIONS, **AUDIT_OBJECTS}
    for code, labels in labelled.items():
        for label in labels:
            assert with_code(label, code).count(f"({code})") == 1, (code, label)
    for kind in service.IMPORT_KINDS:
        auth.audit(admin, "import.upload", "job", "9001", {"kind": kind, "filename": f"{kind}.csv", "strict": False})
    db.session.flush()
    page = html_.unescape(admin_client.get("/admin/audit?record=9001").get_data(as_text=True))
    for kind, (vi, _en) in service.IMPORT_KINDS.items():
        assert f"Loại:</span> {with_code(vi, kind)}</li>" in page and page.count(f"({kind})") == 1, kind
    assert "Loại:</span> Đơn vị sử dụng lao động (employers)</li>" in page
    sign_in(admin_client, admin, "en")
    page = html_.unescape(admin_client.get("/admin/audit?record=9001").get_data(as_text=True))
    assert "Kind:</span> Employers (units) (employers)</li>" in page
    assert "Kind:</span> Monthly UI salary funds (salary_funds)</li>" in page
    assert all(page.count(f"({kind})") == 1 for kind in service.IMPORT_KINDS)
