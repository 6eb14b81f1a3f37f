"""Text typed or saved decomposed (NFD: a Vietnamese keyboard set to "Unicode tổ hợp" sends "ế" as e + two combining
marks) is read as the same text composed, wherever people's text comes in: a page's form, the API's bodies, the
spreadsheets employers return (their cells and their headers) and the registry files' headers."""

from __future__ import annotations

import csv
import io
import unicodedata
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from disburse.api.schemas import COMPOSED, ApiModel
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.formatting import composed
from disburse.forms import BaseForm
from disburse.registry.imports.read import _normalise_header as registry_header
from disburse.registry.models import Employee
from disburse.spreadsheets import read_table
from tests.factories import create_claim, create_employee, create_employer, create_user


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@given(st.text())
def test_composed_is_nfc(text):
    assert composed(text) == unicodedata.normalize("NFC", text)
    assert composed(nfd(text)) == unicodedata.normalize("NFC", text)


def test_a_forms_text_and_an_api_bodys_text_are_read_composed(app):
    from wtforms import PasswordField, StringField

    class Form(BaseForm):
        class Meta:
            csrf = False

        name = StringField()
        password = PasswordField()

    class Body(ApiModel):
        name: str
        note: str | None = None

    typed = nfd("  Nguyễn Thị Phương Thảo ")
    assert typed != "  Nguyễn Thị Phương Thảo "
    with app.test_request_context(method="POST", data={"name": typed, "password": nfd("mật khẩu ")}):
        form = Form()
        assert form.name.data == "Nguyễn Thị Phương Thảo"
        assert form.password.data == nfd("mật khẩu ")  # a password is taken as typed (the commands store it so)
    body = Body.model_validate_json(f'{{"name": "{nfd("Đỗ Minh Đức")}", "note": "{nfd("ghi chú")}"}}')
    assert (body.name, body.note) == ("Đỗ Minh Đức", "ghi chú")


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_a_spreadsheets_headers_and_text_cells_are_read_composed(tmp_path):
    rows = [[nfd("Mã số BHXH"), nfd("Không nhận hỗ trợ: ghi x")], ["0101234567", nfd("có")]]
    for name, content in (("f.csv", _csv(rows)), ("f.xlsx", _xlsx(rows))):
        path = tmp_path / name
        path.write_bytes(content)
        header, data, _ = read_table(path)
        assert header == ["mã số bhxh", "không nhận hỗ trợ: ghi x"], name
        assert data == [(2, {"mã số bhxh": "0101234567", "không nhận hỗ trợ: ghi x": "có"})], name
    assert registry_header([nfd("Họ và tên"), None]) == ["họ và tên", ""]


def test_a_form_02_saved_decomposed_is_taken_as_typed_composed(client, app, db_session, monkeypatch):
    """The employer's returned Form 02 with its headers by label and a decline written in words, all decomposed: every
    row recorded, as the same file composed is."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")  # inside the employers' review window
    unit = create_employer(name="Công ty TNHH May Thử")
    listed = [create_claim("listed", employee=create_employee(employer_id=unit.id)) for _ in range(2)]
    si = [db.session.get(Employee, c.employee_id).si_code for c in listed]
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user.get_id(), True
    db.session.commit()
    upload = _csv(
        [
            [nfd(h) for h in ("Mã số BHXH", "Ngân hàng", "Số tài khoản", "Không nhận hỗ trợ: ghi x")],
            [si[0], "VCB", "0071000123456", ""],
            [si[1], "", "", nfd("Không nhận hỗ trợ")],
        ]
    )
    response = client.post(
        f"/employers/{unit.unit_code}/form-02/upload",
        data={"file": (io.BytesIO(upload), "mau02.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert [db.session.get(Claim, c.id).state for c in listed] == ["employer_confirmed", "declined"]


def test_a_workbook_whose_data_is_on_another_sheet_says_which(app, db_session, tmp_path):
    """The first sheet empty, the data on the second: "the workbook is empty" was false. The sheet is named, by the
    employer's Form 02 reader and the registry's importer alike."""
    from disburse.registry import importer
    from disburse.spreadsheets import UnusableFile

    book = openpyxl.Workbook()
    book.active.title = "Trống"
    book.create_sheet("Dữ liệu").append(["unit_code", "name"])
    path = tmp_path / "hai-trang.xlsx"
    book.save(path)
    for read in (lambda: read_table(path), lambda: importer.import_file("employers", path)):
        with pytest.raises(UnusableFile) as refused:
            read()
        assert "The data is on 'Dữ liệu': move that sheet to the front" in refused.value.message_en
        assert "Dữ liệu ở trang 'Dữ liệu'" in refused.value.message_vi


def _api_models() -> list[type[ApiModel]]:
    found, todo = [], [ApiModel]
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return found


def _limited_text(annotation: Any, metadata: list[Any]) -> bool:
    """A text field (``str``, optional or not) with a length limit, at this level or in an Annotated within."""
    limits = [m for m in metadata if getattr(m, "max_length", None) is not None]
    if get_origin(annotation) is Annotated:
        inner, *more = get_args(annotation)
        return _limited_text(inner, [*metadata, *more])
    if get_origin(annotation) in (Union, UnionType):
        return any(_limited_text(arm, metadata) for arm in get_args(annotation) if arm is not type(None))
    return annotation is str and bool(limits)


def test_every_api_text_with_a_length_limit_is_composed_before_it_is_counted(app):
    """The class of the bug: a length limit counted a decomposed text's marks (an address typed with a Vietnamese
    keyboard in "Unicode tổ hợp" refused at 400 letters). Every API model's text field with a limit has COMPOSED."""
    unmarked = [
        f"{model.__module__}.{model.__name__}.{name}"
        for model in _api_models()
        for name, info in model.model_fields.items()
        if _limited_text(info.annotation, info.metadata) and COMPOSED not in info.metadata
    ]
    assert len(_api_models()) > 20
    assert unmarked == []
