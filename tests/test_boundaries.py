"""Rules about the code as a whole, each checked over every file so that a whole class of mistake cannot land:

- only the claims' and payments' services write a claim's or a payment's state (the benchmarks only in the
  baselines listed in ``BENCH_WRITES``);
- ``workers`` imports ``disburse``, never the reverse, and the app sends work only by task name;
- nothing in the repository points at a document a cloner cannot open;
- a check for "all digits" accepts ASCII digits only.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = [*sorted((ROOT / "disburse").rglob("*.py")), *sorted((ROOT / "workers").rglob("*.py"))]

#: The one transition path.
STATE_WRITERS = {"disburse/claims/service.py", "disburse/payments/service.py"}
#: Code that creates claims or payments, always in their initial state (checked below), and nothing else.
CREATORS = {"disburse/claims/lists.py": "INSERT INTO claims"}
#: Other tables with a ``state`` column of their own, written by their own service.
OTHER_STATE_OWNERS = {
    "disburse/jobs/service.py",
    "disburse/payments/recoveries.py",
    "disburse/notifications/service.py",
}

BENCH = sorted((ROOT / "bench").rglob("*.py"))
#: The benchmarks that write a claim's or a payment's state directly, on purpose, and exactly which writes: each is
#: the bare SQL baseline the real path is measured against, or a set-up that makes rows in bulk in the benchmark's
#: own scratch database; none of it is code the product runs. A new direct write in a benchmark fails.
BENCH_WRITES = {
    # The bare INSERT … SELECT of the same claim rows that `lists build` is measured against.
    "bench/bench_lists.py": ["SQL INSERT INTO claims"],
    # The approved claims to pay, inserted in SQL; the bare `UPDATE payments … FROM unnest(ids)` settlement (named in
    # the docstring too) and its claims' UPDATE, which `apply_updates` is measured against.
    "bench/bench_payments.py": [
        "SQL UPDATE payments SET state",
        "SQL UPDATE payments SET state",
        "SQL UPDATE payments SET state",
        "SQL UPDATE claims SET state",
        "SQL INSERT INTO claims",
    ],
    # The confirmed claims to verify, inserted in SQL and restored from a copy between runs; the bare
    # `UPDATE claims … FROM answer` baselines that a verification batch is measured against.
    "bench/bench_verification.py": [
        "SQL UPDATE claims SET state",
        "SQL UPDATE claims SET state",
        "SQL INSERT INTO claims",
        "SQL INSERT INTO claims",
    ],
    # The state mix the dashboards read (claims moved straight from listed) and failed payments for the failure
    # figures: the read benchmark needs a national spread of states, not the way to it.
    "bench/bench_dashboard.py": ["SQL UPDATE claims SET state", "SQL INSERT INTO payments"],
}

#: ``claims`` or ``payments`` as SQL may name the table: ``ONLY``, the ``public`` schema, double quotes.
_TABLE = r'(?:ONLY\s+)?(?:"?public"?\s*\.\s*)?"?(claims|payments)"?(?![\w"])'
_SQL_UPDATE = re.compile(rf"\bUPDATE\s+{_TABLE}", re.I)
_SQL_INSERT = re.compile(rf"\b(INSERT\s+INTO|MERGE\s+INTO|(?-i:COPY))\s+{_TABLE}", re.I)
#: Where an UPDATE's SET list ends: FROM, WHERE or RETURNING outside parentheses, or the statement's end.
_SET_END = re.compile(r"\b(?:FROM|WHERE|RETURNING)\b|;", re.I)
#: ``state =`` (plain or quoted, not ``x.state`` or ``to_state``), or ``(…, state, …) =``.
_SETS_STATE = re.compile(r'(?<![\w.])"?state"?\s*=(?!=)|\([^()]*(?<![\w.])"?state"?(?![\w"])[^()]*\)\s*=', re.I)
_MODELS = ("Claim", "Payment")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _strings(tree: ast.AST) -> list[str]:
    """Every string in the module: literals, and f-strings with ``{}`` for what they interpolate."""
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            found.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
    return found


def _set_list(sql: str, start: int) -> str:
    """The text of an UPDATE from ``start`` up to where its SET list ends (parentheses skipped over, so a subquery's
    FROM or WHERE does not end it)."""
    depth = 0
    for i in range(start, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
        elif depth == 0 and _SET_END.match(sql, i) and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            return sql[start:i]
    return sql[start:]


def state_writes(source: str) -> list[str]:
    """Every place in ``source`` that writes a claim's or a payment's state, or may. In its strings (SQL): ``UPDATE
    [ONLY] [public.]claims|payments [[AS] alias] SET … state = …`` (or ``(…, state) = …``), ``INSERT INTO``,
    ``MERGE INTO`` or ``COPY`` into either table. In its code: an ORM or Core ``update``/``insert`` of ``Claim`` or
    ``Payment`` (the class, ``models.Claim`` or ``Claim.__table__``), ``Claim.__table__.update()``,
    ``session.query(Claim)….update(…)``, ``bulk_update_mappings``/``bulk_insert_mappings`` of either, a
    ``Claim(…)``/``Payment(…)`` built with ``state=``, ``setattr(…, "state", …)``, and any assignment to an attribute
    named ``state``."""
    found = []
    tree = ast.parse(source)
    for sql in _strings(tree):
        for match in _SQL_UPDATE.finditer(sql):
            if _SETS_STATE.search(_set_list(sql, match.end())):
                found.append(f"SQL UPDATE {match.group(1).lower()} SET state")
        for match in _SQL_INSERT.finditer(sql):
            found.append(f"SQL {' '.join(match.group(1).upper().split())} {match.group(2).lower()}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                found += [f"line {node.lineno}: .state =" for t in elements if _is_state(t)]
        elif isinstance(node, ast.Call):
            found += _call_writes(node)
    return found


def _call_writes(node: ast.Call) -> list[str]:
    name = _call_name(node)
    where = f"line {node.lineno}"
    if name in ("update", "insert", "bulk_update_mappings", "bulk_insert_mappings") and any(
        _model(a) for a in node.args
    ):
        return [f"{where}: {name}({ast.unparse(node.args[0])})"]
    if name in ("update", "insert") and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        if _model(receiver) and isinstance(receiver, ast.Attribute) and receiver.attr == "__table__":
            return [f"{where}: {ast.unparse(receiver)}.{name}()"]
        if name == "update" and _queries_a_model(receiver):
            return [f"{where}: query(…).update()"]
    if name in _MODELS and any(k.arg == "state" for k in node.keywords):
        return [f"{where}: {name}(state=…)"]
    if name == "setattr" and len(node.args) > 1 and _literal(node.args[1]) == "state":
        return [f"{where}: setattr(…, 'state')"]
    return []


def _model(node: ast.expr) -> str | None:
    """``Claim``/``Payment`` when ``node`` names the model (``Claim``, ``models.Claim``) or its ``__table__``."""
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        node = node.value
    name = _call_name_of(node)
    return name if name in _MODELS else None


def _queries_a_model(node: ast.expr) -> bool:
    """Whether a method chain (``session.query(Claim).filter(…)``) starts from a query of a claim or a payment."""
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            if _call_name(node) == "query" and any(_model(a) for a in node.args):
                return True
            node = node.func
        else:
            node = node.value
    return False


def _is_state(target: ast.expr) -> bool:
    return isinstance(target, ast.Attribute) and target.attr == "state"


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _call_name_of(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def test_only_the_services_write_a_claims_or_a_payments_state():
    offenders = {}
    for path in PRODUCT:
        rel = _rel(path)
        if rel in STATE_WRITERS:
            continue
        writes = state_writes(path.read_text(encoding="utf-8"))
        if rel in CREATORS:
            writes = [w for w in writes if w != f"SQL {CREATORS[rel]}"]
        if rel in OTHER_STATE_OWNERS:
            writes = [w for w in writes if not w.endswith(".state =")]
        if writes:
            offenders[rel] = writes
    assert offenders == {}


def test_the_benchmarks_write_states_only_in_their_listed_baselines():
    """Exactly the listed writes: a new one fails, and so does a listed one that is gone (drop it from the list)."""
    offenders = {}
    for path in BENCH:
        rel = _rel(path)
        found, listed = Counter(state_writes(path.read_text(encoding="utf-8"))), Counter(BENCH_WRITES.get(rel, []))
        if found != listed:
            offenders[rel] = {
                "unlisted": sorted((found - listed).elements()),
                "gone": sorted((listed - found).elements()),
            }
    assert offenders == {}
    assert set(BENCH_WRITES) <= {_rel(p) for p in BENCH}, "a listed benchmark is gone: drop it from BENCH_WRITES"


def test_the_creators_create_in_the_initial_state_only():
    from disburse.claims import lists

    assert re.findall(r"INSERT INTO claims\b", Path(lists.__file__).read_text()) == ["INSERT INTO claims"]
    statement = str(lists._list_range_statement("NULL AS x", lock=False))
    assert "'listed'" in statement and "'applied'" not in statement


@pytest.mark.parametrize(
    "source",
    [
        "db.session.execute(text('UPDATE claims SET state = :s WHERE id = :id'))",
        "sql = '''UPDATE payments p\n  SET updated_at = now(), state = 'paid'\n  FROM x WHERE p.id = x.id'''",
        "claim.state = 'approved'",
        "a, payment.state = 1, 'paid'",
        "db.session.execute(update(Claim).values(state='paid'))",
        "db.session.add(Payment(claim_id=1, state='paid'))",
        "conn.execute('INSERT INTO payments (claim_id, state) VALUES (1, 2)')",
        "setattr(claim, 'state', 'paid')",
        # The table as SQL may name it, with an alias, a quoted or a multi-column target, a subquery in the SET list.
        "text('UPDATE ONLY claims SET state = :s')",
        "text('UPDATE public.claims SET state = :s WHERE id = :id')",
        'text(\'UPDATE "public"."payments" SET "state" = :s\')',
        "text('UPDATE claims AS c SET state = :s FROM x WHERE c.id = x.id')",
        "text('update claims c set paid_at = now(), state = :s where c.id = :id')",
        "text('UPDATE claims SET (state, paid_at) = (:s, now())')",
        "text('UPDATE claims SET months = (SELECT m FROM t WHERE t.id = claims.id), state = :s')",
        "text(f'UPDATE {schema}.x SET a = 1; UPDATE claims c SET state = {new!r}')",
        "text('INSERT INTO public.claims SELECT * FROM seed')",
        "text('MERGE INTO payments p USING x ON p.id = x.id WHEN MATCHED THEN UPDATE SET state = x.s')",
        "cursor.copy('COPY claims (id, state) FROM STDIN')",
        # SQLAlchemy Core and ORM forms.
        "db.session.execute(Claim.__table__.update().values(state='paid'))",
        "db.session.execute(models.Payment.__table__.update())",
        "db.session.execute(update(Payment).where(Payment.id == 1).values(state='sent'))",
        "db.session.execute(sa.update(Claim.__table__).values(state='paid'))",
        "db.session.execute(insert(Payment.__table__).values(claim_id=1))",
        "db.session.query(Claim).filter(Claim.id == 1).update({'state': 'paid'})",
        "db.session.bulk_update_mappings(Payment, [{'id': 1, 'state': 'paid'}])",
    ],
)
def test_the_check_finds_every_kind_of_state_write(source):
    assert state_writes(source), f"not caught: {source}"


def test_the_check_leaves_reads_and_other_updates_alone():
    source = (
        "x = claim.state\nif payment.state == 'paid': pass\nsql = 'UPDATE claims SET reasons = :r WHERE state = :s'\n"
        "a = 'UPDATE claims c SET reasons = :r FROM x WHERE x.state = c.state RETURNING c.state'\n"
        "b = 'UPDATE claim_counters SET state = :s'\nc = 'UPDATE payment_batches SET state = :s'\n"
        "d = 'UPDATE claims SET to_state = 1'\ne = 'INSERT INTO claim_events (state) VALUES (1)'\n"
        "f = db.session.query(Claim).filter(Claim.state == 'paid').count()\ng = update(Job).values(state='failed')\n"
        "# UPDATE claims SET state = 'paid' in a comment writes nothing\n"
        "h = 'we copy claims into a temporary table'\n"
    )
    assert state_writes(source) == []


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_disburse_never_imports_workers():
    offenders = {
        _rel(path): sorted(name for name in _imports(path) if name == "workers" or name.startswith("workers."))
        for path in sorted((ROOT / "disburse").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_app_sends_work_only_by_task_name():
    """``.delay``/``.apply_async`` need the task object (an import of workers); ``send_task`` belongs to the one
    helper that sends after the commit."""
    offenders = []
    for path in sorted((ROOT / "disburse").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or _call_name(node) not in ("delay", "apply_async", "send_task"):
                continue
            if not (_rel(path) == "disburse/background.py" and _call_name(node) == "send_task"):
                offenders.append(f"{_rel(path)}:{node.lineno}")
    assert offenders == []


_DOCUMENTS = re.compile(r"[\w./-]*\.md\b")


def _readable_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for folder in ("disburse", "workers", "tests", "bench", "migrations", "templates"):
        files += [p for p in sorted((ROOT / folder).rglob("*")) if p.suffix in (".py", ".html", ".md", ".cfg")]
    return [*files, ROOT / "config.py", ROOT / "pyproject.toml", ROOT / "Makefile"]


def test_nothing_points_outside_the_repository():
    """No ``../shared`` path, and every Markdown document named anywhere is a file in the repository."""
    in_repo = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    offenders = []
    for path in _readable_files():
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        if "shared/" in text:
            offenders.append(f"{_rel(path)}: shared/")
        offenders += [f"{_rel(path)}: {name}" for name in _DOCUMENTS.findall(text) if Path(name).name not in in_repo]
    assert offenders == []


def test_every_spreadsheet_is_read_and_written_through_disburse_spreadsheets():
    """The safe reader (bombs, DTDs, lying sizes) and the safe writer (no formulas, Excel's limits) are the only
    doors: no other module opens a workbook or writes a CSV for people."""
    doors = re.compile(r"\bcsv\.writer\(|\bcsv\.DictWriter\(|\bopenpyxl\.|\bload_workbook\(|\bimport openpyxl\b")
    offenders = [
        f"{_rel(path)}:{n}"
        for path in PRODUCT
        if _rel(path) != "disburse/spreadsheets.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if doors.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


def test_a_digits_check_accepts_ascii_digits_only():
    """``str.isdigit()`` is true of "²" and "٣" too, and ``int("²")`` raises: a value that passed the check then broke
    the code after it (an application's months, a provider's amount, a configuration number). Every such check in
    the product says ``isascii()`` beside it."""
    offenders = [
        f"{_rel(path)}:{n}"
        for path in [*PRODUCT, ROOT / "config.py"]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\.is(digit|decimal|numeric)\(\)", line) and ".isascii()" not in line
    ]
    assert offenders == []


def test_a_flag_is_tested_as_itself_so_partial_indexes_serve_it():
    """PostgreSQL uses a partial index only for a condition that implies its predicate as written, and ``x IS false``
    does not imply ``NOT x`` (nor ``x IS true`` imply ``x``): the sandbox's return pass, written with ``IS false``,
    read every transfer the bank ever took (2.7 s a pass at 1.8 million, twice a second) instead of its partial index
    (0.03 ms). Every boolean column is tested as ``col`` or ``~col`` in the product."""
    offenders = [
        f"{_rel(path)}:{n}"
        for path in PRODUCT
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\.is_\((True|False)\)|\.isnot\((True|False)\)|\.is_not\((True|False)\)", line)
    ]
    assert offenders == []
