"""Every statement an import runs that depends on its kind, built in one place from the kind's :class:`Spec`.

The check is one ``CREATE UNLOGGED TABLE … AS SELECT`` (:meth:`Statements.typed`) that turns the staged text into
typed values, looks every code up (hash joins against the reference tables and the target table), and records
every failed rule of a row in ``errs``: space-separated ``column:code`` tokens, '' for a good row. The same
statement compares a good row with the row already stored under its natural key, so that the writes that follow
touch only new and changed rows. Messages for people are made in Python, for the rejected rows only
(:mod:`~disburse.registry.imports.messages`).

Digit checks use ``ltrim(x, '0123456789') = ''`` rather than regular expressions: on a million rows each
regular expression costs about a second, ``ltrim`` a fifth of that. (Not so for the bank account's 62 letters
and digits, where ``ltrim`` walks the whole set for every character: a regular expression is cheaper there.)
Dates are looked up in a small table of every valid date from 1900 to 2100, written dd/mm/yyyy and ISO (one hash join
gives validity and value without any cast that could fail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from disburse.registry.imports.spec import Spec
from disburse.registry.imports.tables import ScratchTables


def normalise_expr(how: str, col: str, *, trim: bool) -> str:
    """The expression that normalises staging column ``col`` (see :attr:`Spec.normalise`)."""
    v = f"btrim({col})" if trim else col
    if how == "text":
        return f"nullif({v}, '')"
    if how in ("lower", "upper"):
        # The C collation: these are ASCII keywords and codes, and locale-aware case folding costs twice as much.
        return f"nullif({how}({v} COLLATE \"C\"), '')"
    if how == "date":
        # A day or month of one digit written dd/mm/yyyy or mm/yyyy (1/5/1990, 5/2021) padded to two: the form
        # the date lookup holds.
        return f"nullif(regexp_replace({v}, '(^|/)([0-9])(?=/)', '\\10\\2', 'g'), '')"
    # GSO codes are fixed width; a spreadsheet may have dropped the leading zeros ("1" for "01").
    width = int(how.removeprefix("code"))
    return f"CASE WHEN length({v}) BETWEEN 1 AND {width - 1} THEN lpad({v}, {width}, '0') ELSE nullif({v}, '') END"


def dirty_expr(how: str, col: str, *, trim: bool) -> str:
    """Whether :func:`normalise_expr` would change the value: the same answer as
    ``normalise_expr(...) IS DISTINCT FROM col`` (NULL for NULL), without building the normalised text."""
    tests = [f"{col} = ''"]
    if trim:
        tests += [f"{col} LIKE ' %'", f"{col} LIKE '% '"]
    if how in ("lower", "upper"):
        tests.append(f'{col} <> {how}({col} COLLATE "C")')
    elif how == "date":
        # A slash second or fifth: a one-digit day or month (1/5/1990, 31/5/1990, 5/2021); dd/mm/yyyy, mm/yyyy
        # and ISO have digits there.
        tests.append(f"substr({col}, 2, 1) = '/' OR substr({col}, 5, 1) = '/'")
    elif how.startswith("code"):
        tests.append(f"length({col}) < {int(how.removeprefix('code'))}")
    return f"({' OR '.join(tests)})"


def _not_blank(c: dict[str, str]) -> str:
    # A row whose cells are all empty is not a data row (spreadsheets leave such rows at the end).
    return f"num_nonnulls({', '.join(f'nullif({col}, {chr(39) * 2})' for col in c.values())}) > 0"


@dataclass(frozen=True)
class Statements:
    """The SQL of one import: a kind's :class:`Spec`, the import's scratch tables and the programme's today.

    ``c`` maps the spec's file columns to the staging table's columns (``c0``, ``c1`` …, in the file's order).
    """

    spec: Spec
    tables: ScratchTables
    today: date

    def fill(self, template: str, **more: str) -> str:
        """A statement made of SQL text, names and the spec's fragments, its placeholders filled in (see
        :mod:`~disburse.registry.imports.spec`): every statement below that holds a fragment goes through here,
        once."""
        return template.format(today=f"DATE '{self.today.isoformat()}'", **self.tables.names(), **more)

    # ------------------------------------------------------------------------------------- the file's cells

    def normalised(self, *, stage: str, c: dict[str, str], trim: bool = True) -> str:
        """The staged cells trimmed, blank → NULL, codes padded: one row per data row (blank rows dropped).

        ``OFFSET 0`` keeps the planner from copying each expression into every place that uses the value.
        """
        columns = ", ".join(
            f"{normalise_expr(how, c[src], trim=trim)} AS {name}" for name, (src, how) in self.spec.normalise.items()
        )
        return f"SELECT row, {columns} FROM {stage} WHERE {_not_blank(c)} OFFSET 0"

    def _cells(self, c: dict[str, str]) -> str:
        return ", ".join(f"{c[src]} AS {name}" for name, (src, _) in self.spec.normalise.items())

    def cells(self, *, stage: str, c: dict[str, str]) -> str:
        """The staged cells as they are, named as :meth:`normalised` names them (blank rows included)."""
        return f"SELECT row, {self._cells(c)} FROM {stage}"

    def raw(self, *, stage: str, c: dict[str, str], trim: bool = True) -> str:
        """The staged cells as they are, named as :meth:`normalised` names them, and ``dirty``: whether normalising
        would change any of them. For a row that is not dirty, checking the raw cells is checking the normalised
        ones, without the cost of normalising every value wherever it is used. (So the typed check must not fail on
        any raw value, such as an empty string where normalising gives NULL: every cast there is guarded.)"""
        dirty = " OR ".join(dirty_expr(how, c[src], trim=trim) for src, how in self.spec.normalise.values())
        return f"SELECT row, {self._cells(c)}, coalesce({dirty}, false) AS dirty FROM {stage} WHERE {_not_blank(c)}"

    # ------------------------------------------------------------------------------------------ the check

    def typed(self, *, source: str, dirty: str = "false") -> str:
        """The one SELECT that types, checks and compares every row of ``source``, a table or subquery with the
        columns of :meth:`normalised` (or of :meth:`raw`, whose ``dirty`` column is passed on)."""
        spec = self.spec
        fields = ", ".join(f.value if f.value.endswith(f".{f.name}") else f"{f.value} AS {f.name}" for f in spec.fields)
        stored = ", ".join(f"tgt.{f.stored}" for f in spec.compared_fields)
        values = ", ".join(f.value for f in spec.compared_fields)
        checks = ",\n    ".join(spec.checks)
        return self.fill(
            f"""SELECT n.row, {fields},
  ({spec.found} AND ({stored}) IS NOT DISTINCT FROM ({values})) AS same,
  concat_ws(' ',
    {checks}
  ) AS errs, {dirty} AS dirty
FROM {{source}} n {spec.joins}""",
            source=source,
        )

    def unchanged(self, *, cells: str) -> str | None:
        """The fast path of a re-import: the rows whose cells say exactly what is stored, which need no typed check.

        A stored row was checked when it was written (by the rules here, or by the table's constraints), so a file
        row that says exactly the same, in the same canonical text, is good and unchanged. Anything else (a value
        written differently, such as ``07`` for ``7`` or `` 017`` for ``017``) simply takes the full check.
        The joins are written in the order to run them (``join_collapse_limit = 1``): the stored side first, so
        that every join runs in the parallel workers.
        """
        if self.spec.unchanged is None:
            return None
        return self.fill(self.spec.unchanged, cells=cells)

    def stored_rules(self) -> list[str]:
        """The kind's rules over what other tables hold about the stored rows (:attr:`Spec.stored_rules`)."""
        return [self.fill(rule) for rule in self.spec.stored_rules]

    def count(self) -> str:
        """The rows of ``ty``: all, rejected, new, changed, unchanged."""
        new = self.spec.is_new
        return self.fill(
            f"""SELECT count(*), count(*) FILTER (WHERE errs <> ''),
                      count(*) FILTER (WHERE errs = '' AND {new}),
                      count(*) FILTER (WHERE errs = '' AND NOT ({new}) AND NOT same),
                      count(*) FILTER (WHERE errs = '' AND same)
               FROM {self.tables.ty}"""
        )

    def repeated_keys(self, *, with_set_aside: bool) -> str:
        """The rows whose natural key another row of the file has, into ``repeated``; with ``with_set_aside``, the
        rows the fast path set aside (``same``) take part. A self-join finds them in parallel workers (a GROUP BY
        runs in one process)."""
        t, key = self.tables, ", ".join(self.spec.key)
        source = (
            f"(SELECT row, {key} FROM {t.ty} UNION ALL SELECT row, {key} FROM {t.same})" if with_set_aside else t.ty
        )
        same_key = " AND ".join(f"b.{k} = a.{k}" for k in self.spec.key)
        return (
            f"CREATE UNLOGGED TABLE {t.repeated} AS SELECT DISTINCT a.row FROM {source} a JOIN {source} b "
            f"ON {same_key} AND b.row <> a.row"
        )

    def move_repeated_into_ty(self) -> str:
        """The set-aside rows whose key repeats move into ``ty``, to be rejected there."""
        t, columns = self.tables, self.spec.unchanged_columns
        moved = f"DELETE FROM {t.same} WHERE row IN (SELECT row FROM {t.repeated}) RETURNING {columns}"
        return f"WITH moved AS ({moved}) INSERT INTO {t.ty} ({columns}) SELECT {columns} FROM moved"

    def mark_repeated(self) -> str:
        t = self.tables
        mark = f"ltrim(errs || ' {self.spec.key_column}:duplicate')"
        return f"UPDATE {t.ty} SET errs = {mark} WHERE row IN (SELECT row FROM {t.repeated})"

    # ------------------------------------------------------------------------------------------ the write

    def insert(self) -> str:
        """The new good rows into the table."""
        spec = self.spec
        pairs = [(f.stored, f.name) for f in spec.stored_fields] + list(spec.also_insert)
        columns = ", ".join(str(column) for column, _ in pairs)
        values = ", ".join(value for _, value in pairs)
        return self.fill(
            f"INSERT INTO {spec.table} ({columns}) SELECT {values} FROM {self.tables.ty} "
            f"WHERE errs = '' AND {spec.is_new}"
        )

    def update(self) -> str:
        """The stored rows whose values the file changes, and nothing else."""
        spec = self.spec
        assignments = [f"{f.stored} = t.{f.name}" for f in spec.compared_fields]
        if spec.also_update:
            assignments.append(spec.also_update)
        return self.fill(
            f"UPDATE {spec.table} s SET {', '.join(assignments)} FROM {self.tables.ty} t "
            f"WHERE t.errs = '' AND NOT t.same AND {spec.stored_row}"
        )

    def lock(self, table: str, column: str | None) -> str:
        """Lock ``FOR KEY SHARE`` the rows of ``table`` that new rows refer to through ``column``, or all of them
        when ``column`` is None."""
        if column is None:
            return f"SELECT 1 FROM {table} FOR KEY SHARE"
        new = f"SELECT {column} FROM {self.tables.ty} WHERE errs = '' AND {self.spec.is_new}"
        return self.fill(f"SELECT 1 FROM {table} WHERE id IN ({new}) FOR KEY SHARE")
