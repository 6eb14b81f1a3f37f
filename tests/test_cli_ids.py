"""Every command that takes a row's id refuses a number no row can have as a usage error (exit 2, a message), never
the database's out-of-range error and a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import click

from disburse.extensions import RECORD_ID
from disburse.payments.cli import BATCH

#: The argument types that take a record's number (a batch's also takes its reference).
ID_TYPES = (RECORD_ID, BATCH)


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_an_id_out_of_range_is_a_usage_error_in_every_command(app):
    taking_ids = [
        (path, [p for p in command.params if isinstance(p, click.Argument)])
        for path, command in _commands(app.cli)
        if any(isinstance(p, click.Argument) and p.type in ID_TYPES for p in command.params)
    ]
    assert {" ".join(path) for path, _ in taking_ids} >= {"payments export", "payments send", "tokens revoke"}
    for path, arguments in taking_ids:
        position = next(i for i, argument in enumerate(arguments) if argument.type in ID_TYPES)
        for value in ("99999999999999999999", "0", "-5"):
            args = [*path, *(["1"] * position), "--", value, *(["x"] * (len(arguments) - position - 1))]
            result = app.test_cli_runner().invoke(args=args)
            assert result.exit_code == 2, (path, value, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit), (path, result.exception)
            assert "range" in result.output, (path, value, result.output)


def test_an_unknown_programme_is_said_once_in_every_command(app, db_session, tmp_path):
    """Every command that takes ``--program`` refuses one that does not exist: exit 2, the words once in each language
    (``payments batch`` printed them twice)."""
    required = {"unit_code": "DN01000001", "out": str(tmp_path / "out.xlsx"), "path": str(tmp_path / "in.csv")}
    (tmp_path / "in.csv").write_text("si_code\n")
    seen = 0
    for path, command in _commands(app.cli):
        if not any("--program" in getattr(p, "opts", ()) for p in command.params):
            continue
        seen += 1
        args = [*path, *(required[p.name] for p in command.params if isinstance(p, click.Argument))]
        args += [f"--{p.name}=017" for p in command.params if isinstance(p, click.Option) and p.required]
        result = app.test_cli_runner().invoke(args=[*args, "--program", "NOPE"])
        assert result.exit_code == 2, (path, result.output)
        assert result.output.count("There is no program with code 'NOPE'") == 1, (path, result.output)
        assert result.output.count("Không có chương trình mã 'NOPE'") == 1, (path, result.output)
    assert seen >= 5
