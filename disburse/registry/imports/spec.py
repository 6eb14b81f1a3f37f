"""What an import kind is, as data: the :class:`Spec` that each of employers.py, employees.py and
salary_funds.py fills in, and that :mod:`~disburse.registry.imports.statements` turns into SQL.

A kind's differences from the others live here as values (its natural key, how a new row is recognised, which
tables its rows refer to, whether it flags duplicate national IDs, what the command line calls it, whether a set of
files may hold none of it), never as ``if kind == …`` in the steps or the commands.

The SQL fragments are templates, filled in once per statement by ``Statements.fill`` (statements.py) from one
vocabulary: ``{today}`` (the programme's today as a DATE literal), the scratch tables of ``ScratchTables``
(tables.py: ``{ty}``, ``{dates}``, ``{months}``, ``{dup}`` …), and ``{cells}`` in the fast path. A literal brace
in SQL is written doubled (``{{4,30}}``).

Inside the check, ``n`` is the row being checked (its cells named as :attr:`Spec.normalise` names them) and ``tgt``
the stored row with the same natural key, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The phone rule, shared by employers and employees: true when ``n.phone`` holds anything but digits, ``+-.()``
#: and spaces, or more than 20 characters (NULL: no phone).
PHONE_BAD = "(n.phone IS NOT NULL AND (length(n.phone) > 20 OR ltrim(n.phone, '0123456789+-.() ') <> ''))"

#: A bank cell (``n.bank``) as :func:`disburse.reference.service.bank_key` makes it, in SQL: without marks
#: (``disburse_unaccent``, which also turns đ into d and lowers the case), then only its letters a-z and digits.
#: "NH TMCP Ngoại Thương" and "nh tmcp ngoai thuong" are one key, as in Form 02.
BANK_KEY = "regexp_replace(disburse_unaccent(n.bank), '[^a-z0-9]+', '', 'g')"


@dataclass(frozen=True)
class Field:
    """One column of the checked table ``ty``: its name, its value in the check's SELECT, and where it is written."""

    name: str
    #: SQL over ``n`` and the kind's joins, e.g. ``dob.d`` (the looked-up date) or ``n.name``.
    value: str
    #: The column of the kind's table it is written to; None for a column only the import reads.
    stored: str | None = None
    #: Part of the stored row's identity (its natural key): inserted, never compared or updated.
    key: bool = False


@dataclass(frozen=True)
class Spec:
    kind: str
    #: What the command line calls the kind, in Vietnamese and English ("Nhập đơn vị … / Import employers …").
    label: tuple[str, str]
    #: The table the rows are written to.
    table: str
    #: The file's columns: the header must name each of them (any order, others ignored).
    columns: tuple[str, ...]
    #: XLSX number cells padded back to these widths (see read._cell_text; -1: a national ID; 0: refused, a bank
    #: account; -2: a phone number, its leading 0 put back; -3: a month, whose date cell on the 1st is that month).
    pad: dict[str, int]
    #: The values the check reads: name → (file column, how it is normalised: "text" trimmed and blank → NULL,
    #: "lower"/"upper" also case-folded, "code2"/"code3" also padded with leading zeros,
    #: "date" a day or month of one digit padded: 1/5/1990 → 01/05/1990).
    normalise: dict[str, tuple[str, str]]
    #: The columns of ``ty`` after ``row``, in order (see :class:`Field`).
    fields: tuple[Field, ...]
    #: FROM-clause joins after ``n``: the lookups (``{dates}``, ``{months}``, reference tables) and ``tgt``.
    joins: str
    #: True when ``tgt`` was found (a stored row has the natural key).
    found: str
    #: One CASE expression per rule, each giving a ``column:code`` token or NULL; a row's tokens make its ``errs``.
    checks: tuple[str, ...]
    #: The natural key, as columns of ``ty``: two rows of a file with the same key are both rejected.
    key: tuple[str, ...]
    #: The column a repeated key is reported on.
    key_column: str
    #: Over ``ty``: the row is not stored yet (it is inserted; the others are updated when they differ).
    is_new: str
    #: Over ``ty t`` and the stored row ``s``: ``s`` is the row ``t`` updates.
    stored_row: str
    #: More assignments of the UPDATE, after the changed values (e.g. ``updated_at = now()``).
    also_update: str = ""
    #: More (column, value over ``ty``) pairs of the INSERT, after the fields.
    also_insert: tuple[tuple[str, str], ...] = ()
    #: The tables new rows refer to, each with the ``ty`` column that holds the referenced id, or None for a small
    #: table locked whole: what the foreign-key triggers would lock, locked set-based.
    references: tuple[tuple[str, str | None], ...] = ()
    #: Whether the import marks rows sharing a national ID under two natural keys (write.py's duplicate step); its
    #: summaries then say how many rows it marked.
    flags_duplicate_national_ids: bool = False
    #: Whether the check may find a bank by its name as well as its code (``{bank_names}``, filled by
    #: ``check.create_lookups``): "Vietcombank", "NH TMCP Ngoại thương Việt Nam", 970436 as Form 02 takes them.
    bank_names: bool = False
    #: Whether a set of registry files may hold no row of this kind yet (salary funds begin with the first reduced
    #: month): the seed then leaves the empty file out, since the importer refuses an empty file.
    may_be_empty: bool = False
    #: Optional fast path for re-imports: a SELECT over the file's cells ``{cells} n`` giving the
    #: :attr:`unchanged_columns` for every row whose cells equal, as text, a stored row that satisfies every rule;
    #: those rows skip the typed check (see :meth:`Statements.unchanged`).
    unchanged: str | None = None
    #: The ``ty`` columns the fast path fills (the others stay NULL: unchanged rows are never written).
    unchanged_columns: str = ""
    #: Rules a row breaks through what other tables hold about its stored row, not through its own values (a unit
    #: whose claims its district works may not move: employers.py): statements over ``{ty}`` run in order after the
    #: check, before the counts, each adding ``column:code`` tokens to the ``errs`` of the rows it refuses (a token may
    #: end with ``=detail``, a value its message names: ``district_code:unit_has_claims=017``). The first may lock the
    #: stored rows the others read, so that what they read cannot change before the import commits. Only rows in
    #: ``ty`` are judged: the fast path's rows are unchanged, so they break no such rule.
    stored_rules: tuple[str, ...] = ()

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        """The fields written to the table."""
        return tuple(f for f in self.fields if f.stored is not None)

    @property
    def compared_fields(self) -> tuple[Field, ...]:
        """The fields compared with the stored row, and updated when they differ."""
        return tuple(f for f in self.stored_fields if not f.key)
