# Targets say what they do. The README's two commands work without make; these are shortcuts.
.PHONY: install demo test test-machine lint format typecheck bench clean

install:            ## create .venv and install disburse with its development tools
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'

demo: install       ## run the web app, a worker and beat with a seeded demo (embedded servers unless env set)
	.venv/bin/disburse up --demo

test: install       ## the whole test suite (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
	.venv/bin/pytest

test-machine: install  ## the suite against this machine's PostgreSQL and Redis on 127.0.0.1
	DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/pytest

lint:               ## ruff lint and format check
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:             ## apply ruff's formatting and safe fixes
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

typecheck:          ## mypy on disburse/ and workers/
	.venv/bin/mypy

bench:              ## benchmarks (minutes; not part of the tests); results go in BENCHMARKS.md
	.venv/bin/python bench/bench_import.py && .venv/bin/python bench/bench_lists.py

clean:              ## stop nothing, delete caches (instance/ keeps the embedded databases)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis
