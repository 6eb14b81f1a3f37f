"""The ``disburse`` command: a Flask CLI group (so ``disburse db upgrade``, ``disburse shell`` and
``disburse routes`` work) plus disburse's own commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from disburse import deployment, runtime
from disburse.background import QueueNames


def _create_app() -> Flask:
    from disburse import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """disburse: Resolution 116 cash support and contribution reductions."""


def register_commands(app: Flask) -> None:
    """Put disburse's commands on ``app.cli``: the ``disburse`` group and ``app.test_cli_runner()`` both see them."""
    from disburse.auth.cli import tokens_cli, users_cli
    from disburse.claims.cli import lists_cli
    from disburse.claims.forms_cli import forms_cli
    from disburse.payments.cli import payments_cli
    from disburse.registry.import_cli import import_cli
    from disburse.registry.seed_cli import seed_cmd
    from disburse.sandbox.cli import sandbox_cli

    for command in (up, users_cli, tokens_cli, import_cli, seed_cmd, lists_cli, forms_cli, sandbox_cli, payments_cli):
        app.cli.add_command(command)


# ------------------------------------------------------------------------------ production: web, worker, beat


def _refuse(exc: deployment.Refused) -> NoReturn:
    click.echo(str(exc), err=True)
    sys.exit(2)


def _become(args: list[str]) -> NoReturn:
    """Replace this process by ``python -m <args>`` (same pid, same environment): a service manager's signals
    (SIGTERM to stop, SIGHUP to gunicorn) then reach gunicorn or Celery directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", *args])  # noqa: S606 - our interpreter, fixed module list


@main.command("web", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    "web_workers",
    default=(os.cpu_count() or 1) + 1,
    show_default="CPUs + 1",
    type=click.IntRange(1, 256),
    help="gunicorn worker processes.",
)
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(5, 3600), help="Seconds per request.")
def web(host: str, port: int, web_workers: int, timeout: int) -> None:
    """Production web node: gunicorn serving disburse.wsgi:app on the configured PostgreSQL and Redis."""
    try:
        deployment.preflight()
    except deployment.Refused as exc:
        _refuse(exc)
    _become(
        [
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            "--timeout",
            str(timeout),
            "--access-logfile",
            "-",
            "disburse.wsgi:app",
        ]
    )


@main.command("worker", with_appcontext=False)
@click.option("--queues", "-Q", default=None, help="Comma-separated queues to consume (default: all).")
@click.option("--concurrency", "-c", default=None, type=click.IntRange(1, 256), help="Processes (default: CPUs).")
@click.option("--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "solo", "threads"]))
@click.option("--hostname", "-n", default=None, help="Worker name (default: disburse-<queues>-<pid>@<host>).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def worker(queues: str | None, concurrency: int | None, pool: str, hostname: str | None, loglevel: str) -> None:
    """Production worker: a Celery worker on the given queues, on the configured PostgreSQL and Redis."""
    try:
        names = deployment.parse_queues(queues)
        deployment.preflight()
    except deployment.Refused as exc:
        _refuse(exc)
    label = "all" if queues is None else "+".join(names)
    args = ["celery", "-A", "workers.worker", "worker", "--loglevel", loglevel, "--pool", pool, "-Q", ",".join(names)]
    args += ["--hostname", hostname or f"disburse-{label}-{os.getpid()}@%h"]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    _become(args)


@main.command("beat", with_appcontext=False)
@click.option(
    "--schedule",
    "schedule_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="File keeping when each periodic task last ran (default: celerybeat-schedule in the instance folder).",
)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def beat(schedule_file: str | None, loglevel: str) -> None:
    """Production beat, exactly one in the whole system: sends the periodic tasks. Refuses to start while another
    beat holds the lock on the same Redis."""
    from disburse.spreadsheets import UnusableFile, writable

    path = Path(schedule_file) if schedule_file else runtime.default_instance_path() / "celerybeat-schedule"
    try:
        writable(path, what=("tệp lịch chạy", "schedule file"))  # before the lock: Celery would fail after taking it
    except UnusableFile as exc:
        _refuse(deployment.Refused(exc.message_vi, exc.message_en))
    try:
        config = deployment.preflight()
        token = deployment.take_beat_lock(config)
    except deployment.Refused as exc:
        _refuse(exc)
    os.environ[deployment.BEAT_TOKEN_ENV] = token
    _become(
        [
            "celery",
            "-A",
            "workers.worker",
            "beat",
            "--loglevel",
            loglevel,
            "--scheduler",
            "workers.beat:LockedScheduler",
            "--schedule",
            str(path),
        ]
    )


# ------------------------------------------------------------------------------------------- development: up


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # Our own interpreter running our own fixed module list: no untrusted input reaches the command line.
    return subprocess.Popen([sys.executable, "-m", *args], env=os.environ.copy())  # noqa: S603


@click.command("up")
@click.option("--demo", is_flag=True, help="Seed a province-sized demo when the database is empty.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", "web_workers", default=2, show_default=True, type=int, help="Web worker processes.")
@click.option("--demo-employers", default=200, show_default=True, type=click.IntRange(1, 100_000), help="Demo units.")
@click.option(
    "--demo-employees", default=20_000, show_default=True, type=click.IntRange(1, 2_000_000), help="Demo people."
)
@with_appcontext
def up(demo: bool, host: str, port: int, web_workers: int, demo_employers: int, demo_employees: int) -> None:
    """Ensure PostgreSQL and Redis, apply migrations, then run the web server, a Celery worker and beat."""
    from flask_migrate import upgrade

    runtime.exit_on_signals()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    services = app.extensions.get("disburse_services")
    for note in services.notes if services else ["PostgreSQL: DATABASE_URL", "Redis: REDIS_URL"]:
        click.echo(note)
    os.environ["DATABASE_URL"] = app.config["DATABASE_URL"]
    os.environ["REDIS_URL"] = app.config["REDIS_URL"]

    runtime.ensure_database(app.config["DATABASE_URL"])
    click.echo("Applying migrations…")
    upgrade()
    if demo:
        from disburse.demo import DEMO_BACKLOG_EVERY_S, DEMO_PAYMENT_BATCH_EVERY_S, DEMO_PROGRAM, ensure_demo

        # The demo's claims live in its own program, with a calendar around today: show that one by default.
        if not os.environ.get("DISBURSE_PROGRAM"):
            os.environ["DISBURSE_PROGRAM"] = app.config["DISBURSE_PROGRAM"] = DEMO_PROGRAM
        # Beat batches approved claims every 15 s instead of every minute, so that the first payments come within
        # a minute of the start rather than two (beat reads the setting from the environment).
        if not os.environ.get("DISBURSE_PAYMENT_BATCH_EVERY_S"):
            os.environ["DISBURSE_PAYMENT_BATCH_EVERY_S"] = str(DEMO_PAYMENT_BATCH_EVERY_S)
        # And counts the backlog pages' figures every minute instead of every five.
        if not os.environ.get("DISBURSE_BACKLOG_EVERY_S"):
            os.environ["DISBURSE_BACKLOG_EVERY_S"] = str(DEMO_BACKLOG_EVERY_S)

        for line in ensure_demo(employers=demo_employers, employees=demo_employees):
            click.echo(line)

    instance = runtime.default_instance_path()
    instance.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISBURSE_SANDBOX_CALLBACK_URL"):  # the sandbox calls this web server back
        callback = f"http://{host}:{port}/api/v1/providers/sandbox/events"
        os.environ["DISBURSE_SANDBOX_CALLBACK_URL"] = app.config["DISBURSE_SANDBOX_CALLBACK_URL"] = callback
    sandbox = _start_sandbox(app, host, port) if app.config["DISBURSE_PAYMENT_PROVIDER"] == "sandbox" else None
    children = {
        "web": _spawn(
            [
                "gunicorn",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                "--access-logfile",
                "-",
                "disburse.wsgi:app",
            ]
        ),
        "worker": _spawn(
            [
                "celery",
                "-A",
                "workers.worker",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "-Q",
                ",".join(QueueNames.all()),
                "--hostname",
                f"disburse-{os.getpid()}@%h",
            ]
        ),
        "beat": _spawn(
            [
                "celery",
                "-A",
                "workers.worker",
                "beat",
                "--loglevel",
                "INFO",
                # The same scheduler as `disburse beat`: it holds beat's Redis lock, which the health page reads.
                "--scheduler",
                "workers.beat:LockedScheduler",
                "--schedule",
                str(instance / "celerybeat-schedule"),
            ]
        ),
    }
    if sandbox is not None:
        children["sandbox"] = sandbox
    click.echo(f"\ndisburse is running at http://{host}:{port}/  (Ctrl-C to stop)\n")
    try:
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    raise click.ClickException(f"the {name} process exited with code {child.returncode}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("\nStopping…")
    finally:
        _stop_all(children)


def _start_sandbox(app: Flask, host: str, port: int) -> subprocess.Popen[bytes]:
    """The sandbox bank in a child process of its own, on the port of DISBURSE_SANDBOX_URL."""
    from urllib.parse import urlsplit

    url = urlsplit(app.config["DISBURSE_SANDBOX_URL"])
    sandbox_port = url.port or 5001
    if sandbox_port == port:
        raise click.ClickException(f"DISBURSE_SANDBOX_URL uses port {port}, the web server's: choose another")
    click.echo(f"sandbox bank: {app.config['DISBURSE_SANDBOX_URL']}")
    return _spawn(["disburse.cli", "sandbox", "serve", "--host", url.hostname or host, "--port", str(sandbox_port)])


def _stop_all(children: dict[str, Any]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
