"""Rules about the code as a whole, each checked over every file so that a whole class of mistake cannot land:

- only the claims' and payments' services write a claim's or a payment's state;
- ``workers`` imports ``disburse``, never the reverse, and the app sends work only by task name;
- nothing in the repository points at a document a cloner cannot open.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = [*sorted((ROOT / "disburse").rglob("*.py")), *sorted((ROOT / "workers").rglob("*.py"))]

#: The one transition path.
STATE_WRITERS = {"disburse/claims/service.py", "disburse/payments/service.py"}
#: Code that creates claims or payments, always in their initial state (checked below), and nothing else.
CREATORS = {"disburse/claims/lists.py": "INSERT INTO claims"}
#: Other tables with a ``state`` column of their own, written by their own service.
OTHER_STATE_OWNERS = {"disburse/jobs/service.py", "disburse/payments/recoveries.py"}

_SQL_UPDATE = re.compile(
    r"UPDATE\s+(claims|payments)\b(?P<rest>.*?)(?:\bWHERE\b|\bFROM\b|\bRETURNING\b|$)", re.S | re.I
)
_SQL_INSERT = re.compile(r"INSERT\s+INTO\s+(claims|payments)\s*\(", re.I)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def state_writes(source: str) -> list[str]:
    """Every place in ``source`` that writes a claim's or a payment's state, or may: SQL ``UPDATE claims|payments …
    SET … state``, SQL ``INSERT INTO claims|payments``, an ORM ``update(Claim|Payment)`` / ``insert(…)``, a
    ``Claim(…)``/``Payment(…)`` built with ``state=``, and any assignment to an attribute named ``state``."""
    found = []
    for match in _SQL_UPDATE.finditer(source):
        if re.search(r"\bstate\s*=", match.group("rest")):
            found.append(f"SQL UPDATE {match.group(1)} SET state")
    found += [f"SQL INSERT INTO {m.group(1)}" for m in _SQL_INSERT.finditer(source)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                found += [f"line {node.lineno}: .state =" for t in elements if _is_state(t)]
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in ("update", "insert") and any(_call_name_of(a) in ("Claim", "Payment") for a in node.args):
                found.append(f"line {node.lineno}: {name}({ast.unparse(node.args[0])})")
            if name in ("Claim", "Payment") and any(k.arg == "state" for k in node.keywords):
                found.append(f"line {node.lineno}: {name}(state=…)")
            if name == "setattr" and len(node.args) > 1 and _literal(node.args[1]) == "state":
                found.append(f"line {node.lineno}: setattr(…, 'state')")
    return found


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
    ],
)
def test_the_check_finds_every_kind_of_state_write(source):
    assert state_writes(source), f"not caught: {source}"


def test_the_check_leaves_reads_and_other_updates_alone():
    source = (
        "x = claim.state\nif payment.state == 'paid': pass\nsql = 'UPDATE claims SET reasons = :r WHERE state = :s'"
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
