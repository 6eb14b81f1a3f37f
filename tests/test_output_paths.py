"""Every command that writes a file checks where it writes before any work: a path it cannot write is an exit 2
with a message in both languages, never a traceback after the work is done, and nothing changes. The commands are
found by walking the CLI: a new option naming a file to write fails here until OUTPUTS says how to call it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import text

from disburse.cli import main
from disburse.extensions import db
from tests.factories import create_employer
from tests.registry.test_import_support import employer_row, write_csv

#: Options and arguments naming a file (or a folder) the command reads, not writes.
INPUTS = {
    "import employers file",
    "import employees file",
    "import salary-funds file",
    "forms confirm path",
    "payments import-status path",
    "payments reconcile path",
}


@pytest.fixture
def setting(db_session, tmp_path) -> dict[str, Any]:
    """What the commands need to do their work (a unit, an employers file), so that only the path can stop them."""
    unit = create_employer(district_code="017")
    db.session.commit()  # a refusal rolls back: the unit must outlive it
    return {"unit": unit.unit_code, "employers": write_csv(tmp_path / "in.csv", "employers", [employer_row()])}


#: "group command parameter": the command's arguments, given the path to write and the setting.
OUTPUTS: dict[str, Callable[[str, dict[str, Any]], list[str]]] = {
    "import employers errors": lambda out, s: ["import", "employers", str(s["employers"]), "--errors", out],
    "import employees errors": lambda out, s: ["import", "employees", str(s["employers"]), "--errors", out],
    "import salary-funds errors": lambda out, s: ["import", "salary-funds", str(s["employers"]), "--errors", out],
    "forms list out": lambda out, s: ["forms", "list", s["unit"], "--out", out],
    "forms confirm errors_out": lambda out, s: ["forms", "confirm", s["unit"], str(s["employers"]), "--errors", out],
    "payments cash-list out": lambda out, s: ["payments", "cash-list", "--district", "017", "--out", out],
    "seed out": lambda out, s: ["seed", "--employers", "2", "--employees", "2", "--out", out],
    "beat schedule_file": lambda out, s: ["beat", "--schedule", out],
}


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        elif (command.callback.__module__ or "").startswith("disburse"):  # not Flask's or Flask-Migrate's
            yield f"{prefix}{name}", command


def _path_parameters(app: Flask) -> set[str]:
    commands = {**dict(_commands(app.cli)), **dict(_commands(main))}
    return {
        f"{name} {param.name}"
        for name, command in commands.items()
        for param in command.params
        if isinstance(param.type, click.Path)
    }


def test_every_path_a_command_takes_is_known(app):
    assert _path_parameters(app) == INPUTS | set(OUTPUTS), "say whether the new path is read (INPUTS) or written"


def _employers() -> tuple[int, str]:
    row = db.session.execute(
        text("SELECT count(*), coalesce(md5(string_agg(e::text, '|' ORDER BY e.unit_code)), '') FROM employers e")
    ).one()
    return int(row[0]), str(row[1])


@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_a_path_that_cannot_be_written_is_refused_before_any_work(app, setting, tmp_path, output):
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    out = blocked / ("folder" if output == "seed out" else "out.csv")  # under a file: no one can write there
    args = OUTPUTS[output](str(out), setting)
    before = _employers()
    # beat is a command of the process launcher (`disburse`), not of the app
    result = CliRunner().invoke(main, args) if output.startswith("beat ") else app.test_cli_runner().invoke(args=args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 2, result.output
    assert "Không ghi được" in result.output and "cannot be written" in result.output, result.output
    assert _employers() == before  # nothing imported, nothing seeded
    assert blocked.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize("command", ["import", "forms"])
def test_an_errors_file_that_is_the_input_under_another_name_is_refused(app, setting, tmp_path, command):
    """A hard link is the same file under another name: writing the errors there would overwrite the input."""
    link = tmp_path / "errors.csv"
    os.link(setting["employers"], link)
    original = Path(setting["employers"]).read_bytes()
    if command == "import":
        args = ["import", "employers", str(setting["employers"]), "--errors", str(link)]
    else:
        args = ["forms", "confirm", setting["unit"], str(setting["employers"]), "--errors", str(link)]
    before = _employers()
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2 and "must not be the file" in result.output, result.output
    assert Path(setting["employers"]).read_bytes() == original and _employers() == before
