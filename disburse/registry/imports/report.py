"""The report: one errors-file line per failed rule, with the spreadsheet row, the column, the value and a
message in Vietnamese and English (:mod:`~disburse.registry.imports.messages`).

The rows come from the checked table (their ``errs``) joined with the staged cells, in row order, merged with
the rows the reader could not stage at all; a server-side cursor keeps memory flat however many rows failed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from disburse.registry.imports.messages import describe
from disburse.registry.imports.read import NUMBER_MARK, RowProblem, Staged
from disburse.registry.imports.tables import ScratchTables
from disburse.spreadsheets import SpreadsheetWriter

#: How many errors the result keeps in memory (the errors file has them all).
MAX_ERRORS_KEPT = 100
ERRORS_HEADER = ("row", "column", "value", "error_code", "message_vi", "message_en")


@dataclass
class RowError:
    #: The row as a spreadsheet shows it: the header is row 1, the first data row is row 2.
    row: int
    column: str
    value: str
    error_code: str
    message_vi: str
    message_en: str


@dataclass
class Report:
    #: The first :data:`MAX_ERRORS_KEPT` errors; ``count`` counts them all.
    errors: list[RowError] = field(default_factory=list)
    count: int = 0
    #: The errors file, when one was asked for.
    path: str | None = None


def report_errors(
    conn: psycopg.Connection[Any],
    tables: ScratchTables,
    staged: Staged,
    *,
    rejected: bool,
    errors_out: Path | None,
    today: date,
) -> Report:
    """Every error of the rejected rows (when there are any) into the result and ``errors_out`` (when given: the
    file is written, with its header, even when nothing was rejected)."""
    report = Report()
    if not rejected and errors_out is None:
        return report
    writer = None
    if errors_out is not None:
        # For spreadsheets: UTF-8 with a BOM, and no cell (a value echoed as received) can run as a formula.
        writer = SpreadsheetWriter(Path(errors_out), ERRORS_HEADER)
        report.path = str(errors_out)
    try:
        if rejected:
            for error in _iter_errors(conn, tables, staged, today):
                report.count += 1
                if len(report.errors) < MAX_ERRORS_KEPT:
                    report.errors.append(error)
                if writer is not None:
                    writer.write(
                        (error.row, error.column, error.value, error.error_code, error.message_vi, error.message_en)
                    )
    finally:
        if writer is not None:
            writer.close()
    return report


def _iter_errors(
    conn: psycopg.Connection[Any], tables: ScratchTables, staged: Staged, today: date
) -> Iterator[RowError]:
    index = {name: i for i, name in enumerate(staged.header)}
    problems = (error for p in staged.problems for error in _problem_errors(p, today))
    with conn.cursor(name=f"import_errors_{tables.ty}") as cur:
        cur.itersize = 5000
        cur.execute(
            f"""SELECT t.row, t.errs, s.* FROM (SELECT row, errs FROM {tables.ty} WHERE errs <> '') t
                JOIN {tables.stage} s ON s.row = t.row ORDER BY t.row"""
        )

        def from_rows() -> Iterator[RowError]:
            for record in cur:
                row_no, errs, raw = record[0], record[1], record[3:]
                for token in errs.split():
                    column, rest = token.split(":", 1)
                    code, _, detail = rest.partition("=")  # a stored value the message names (Spec.stored_rules)
                    value = raw[index[column]] or ""
                    if code == "account_number_cell":  # the number as the cell held it, without the reader's mark
                        value = value.removeprefix(NUMBER_MARK)
                    vi, en = describe(column, code, value, today=today, detail=detail)
                    yield RowError(row_no, column, value, code, vi, en)

        yield from heapq.merge(problems, from_rows(), key=lambda e: e.row)


def _problem_errors(problem: RowProblem, today: date) -> Iterator[RowError]:
    if problem.uncalculated:
        for column, formula in problem.uncalculated:
            vi, en = describe(column, "uncalculated_formula", formula, today=today)
            yield RowError(problem.row, column, formula, "uncalculated_formula", vi, en)
        return
    yield RowError(
        problem.row,
        "",
        "",
        "columns",
        f"Dòng có {problem.values} giá trị nhưng tiêu đề có {problem.expected} cột; hãy kiểm tra dấu phẩy và "
        "dấu ngoặc kép.",
        f"The row has {problem.values} values but the header has {problem.expected} columns; check its commas "
        "and quotes.",
    )
