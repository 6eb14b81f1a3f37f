"""``forms list`` of a unit whose sector the programme leaves out says so (it wrote "0 người → cq.xlsx" and nothing
more), and a Form 02 (or a registry file) that is XML or HTML, not CSV or XLSX, is refused as such, exit 2: read as
CSV, a camt/pain message was "over 125 rows, more than the unit's Form 01 list"."""

from __future__ import annotations

import pytest

from disburse.extensions import db
from disburse.programs.models import Program
from tests.factories import create_claim, create_employee, create_employer


def test_the_form_01_of_a_unit_whose_sector_is_not_in_the_programme_says_why_it_is_empty(app, db_session, tmp_path):
    program = db.session.query(Program).filter_by(code="NQ116").one()
    assert "state_agency" in program.excluded_sectors
    unit = create_employer(sector="state_agency")
    out = tmp_path / "cq.xlsx"
    result = app.test_cli_runner().invoke(
        args=["forms", "list", unit.unit_code, "--out", str(out), "--program", "NQ116"]
    )
    assert result.exit_code == 0, result.output
    assert "0 people" in result.output
    assert "Đơn vị thuộc khu vực “Cơ quan nhà nước”, không thuộc đối tượng của chương trình NQ116" in result.output
    assert "The unit's sector (State agency) is not in programme NQ116: nobody of the unit is listed." in result.output

    listed = create_employer(sector="enterprise")  # in the programme, nobody listed yet: no such note
    result = app.test_cli_runner().invoke(
        args=["forms", "list", listed.unit_code, "--out", str(out), "--program", "NQ116"]
    )
    assert result.exit_code == 0 and "not in programme" not in result.output, result.output


#: A bank's message, as a unit might send it back instead of its Form 02.
XML = '<?xml version="1.0" encoding="UTF-8"?>\n<Document>\n' + "  <Ntry><Amt>1</Amt></Ntry>\n" * 200 + "</Document>\n"


@pytest.mark.parametrize("markup", [XML, "\ufeff  <html><body><table>\n" + "<tr><td>1</td></tr>\n" * 200])
@pytest.mark.parametrize("command", ["forms confirm", "import employers"])
def test_an_xml_or_html_file_is_refused_as_not_csv_or_xlsx(app, db_session, tmp_path, command, markup):
    unit = create_employer()
    create_claim("listed", employee=create_employee(employer_id=unit.id))
    path = tmp_path / "statement.camt.053.xml"
    path.write_text(markup, encoding="utf-8")
    args = (
        ["forms", "confirm", unit.unit_code, str(path)]
        if command == "forms confirm"
        else ["import", "employers", str(path)]
    )
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert "Đây là tệp XML hoặc HTML, không phải CSV hay XLSX" in result.output
    assert "This is an XML or HTML file, not a CSV or XLSX file" in result.output
    assert "more than the unit's Form 01 list" not in result.output
