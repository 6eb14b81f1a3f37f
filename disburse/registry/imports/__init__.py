"""The steps of a registry import, run by :func:`disburse.registry.importer.import_file`.

read (stage the file) → check (type, look up, compare; repeated keys; counts) → write (insert, update, duplicate
flags) → report (the errors file); one :class:`~disburse.registry.imports.spec.Spec` per kind (employers.py,
employees.py, salary_funds.py) says what differs, statements.py builds the SQL from it, tables.py names the
scratch tables and messages.py words the errors.
"""
