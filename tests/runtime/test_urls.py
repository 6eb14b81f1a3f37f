from __future__ import annotations

from disburse import runtime


def test_database_urls_use_psycopg3():
    assert runtime.sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert runtime.sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert runtime.libpq_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    assert (
        runtime.with_database("postgresql+psycopg://u@/x?host=/run/pg", "y") == "postgresql+psycopg://u@/y?host=/run/pg"
    )


def test_unix_socket_redis_urls_for_each_client():
    url = "unix:///srv/app/redis.socket?db=3"
    assert runtime.celery_broker_url(url) == "redis+socket:///srv/app/redis.socket?virtual_host=3"
    assert runtime.limiter_storage_url(url) == "redis+unix:///srv/app/redis.socket?db=3"
    tcp = "redis://127.0.0.1:6379/0"
    assert runtime.celery_broker_url(tcp) == tcp
    assert runtime.limiter_storage_url(tcp) == tcp


def test_signals_stop_the_process_even_when_sigint_was_inherited_ignored() -> None:
    """A shell starts background jobs with SIGINT ignored; `disburse up` must still stop on Ctrl-C / kill -INT."""
    import subprocess
    import sys

    code = (
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from disburse import runtime\n"
        "runtime.exit_on_signals()\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        "try:\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "except KeyboardInterrupt:\n"
        "    raise SystemExit(3)\n"
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 3, done.stderr


def test_up_says_which_server_and_database_a_given_url_names_never_its_password(monkeypatch, tmp_path):
    """`up` said "PostgreSQL: DATABASE_URL" and "Redis: REDIS_URL", naming no server: an operator could not see that the
    demo went into the database they meant."""
    monkeypatch.setattr(runtime, "ensure_database", lambda url: None)  # nothing is connected to
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:6399/4")
    for given, said in (
        ("postgresql://admin:s3cret@db.example:6543/disburse", "db.example:6543/disburse"),
        # A socket's, as the embedded server's URL is written (the test failed under the embedded servers: "/disburse").
        ("postgresql://admin:s3cret@/disburse?host=/run/postgresql", "socket /run/postgresql, disburse"),
    ):
        monkeypatch.setenv("DATABASE_URL", given)
        services = runtime.ensure_services(tmp_path)
        assert services.notes == [f"PostgreSQL: DATABASE_URL ({said})", "Redis: REDIS_URL (127.0.0.1:6399/4)"]
        assert "s3cret" not in str(services.notes) and "hunter2" not in str(services.notes)
