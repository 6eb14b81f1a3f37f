"""``disburse sandbox serve``: run the sandbox bank (its HTTP API and its settle thread) until Ctrl-C or SIGTERM."""

from __future__ import annotations

from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from config import ConfigError


@click.group("sandbox", short_help="Ngân hàng thử nghiệm / The sandbox bank.")
def sandbox_cli() -> None:
    """Ngân hàng thử nghiệm: ngân hàng giả lập cho demo và kiểm thử (không bao giờ dùng khi vận hành thật, trừ khi cấu
    hình cho phép).

    The sandbox bank: a simulated bank for the demo and the tests (never in production unless configured)."""


@sandbox_cli.command("serve", short_help="Chạy ngân hàng thử nghiệm / Run the sandbox bank.")
@click.option(
    "--host",
    default=None,
    help="Địa chỉ lắng nghe (mặc định: của DISBURSE_SANDBOX_URL) / Address to listen on (default: the host of "
    "DISBURSE_SANDBOX_URL).",
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="Cổng (mặc định: của DISBURSE_SANDBOX_URL, 5001) / Port (default: the port of DISBURSE_SANDBOX_URL, 5001).",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Hạt giống ngẫu nhiên: lỗi và hoàn tiền lặp lại được / Decide failures and returns reproducibly.",
)
@with_appcontext
def serve(host: str | None, port: int | None, seed: int | None) -> None:
    """Chạy API của ngân hàng thử nghiệm và quyết toán các lệnh chuyển, trên cơ sở dữ liệu của ứng dụng (lược đồ
    ``sandbox``).

    Serve the sandbox bank's API and settle its transfers, on the app's database (schema ``sandbox``)."""
    from werkzeug.serving import make_server

    from disburse import runtime
    from disburse.payments.sandbox_client import check_sandbox_allowed
    from disburse.sandbox.app import create_sandbox_app

    config = current_app.config
    try:
        check_sandbox_allowed(config)
    except ConfigError as exc:
        raise click.ClickException(f"{exc.vi}\n{exc.en}") from exc
    runtime.exit_on_signals()
    url = urlsplit(config["DISBURSE_SANDBOX_URL"])
    host = host or url.hostname or "127.0.0.1"
    port = port or url.port or 5001
    app = create_sandbox_app(
        config["DATABASE_URL"],
        delay_s=config["DISBURSE_SANDBOX_DELAY_S"],
        failure_rate=config["DISBURSE_SANDBOX_FAILURE_RATE"],
        return_rate=config["DISBURSE_SANDBOX_RETURN_RATE"],
        webhook_secret=config["DISBURSE_SANDBOX_WEBHOOK_SECRET"].split(),
        seed=seed,
        token=config["DISBURSE_SANDBOX_TOKEN"],
        start_settler=True,
        bulk=bool(config.get("DISBURSE_SANDBOX_BULK")),
    )
    server = make_server(host, port, app, threaded=True)
    delay = app.extensions["sandbox"].delay_s
    mode_vi, mode_en = (", chế độ lô", ", bulk mode") if app.extensions["sandbox"].bulk else ("", "")
    click.echo(
        f"Ngân hàng thử nghiệm tại http://{host}:{port}/ (độ trễ {delay} giây{mode_vi}) / sandbox bank at "
        f"http://{host}:{port}/ (delay {delay} s{mode_en})"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["sandbox_settler"].stop()
        server.server_close()
        app.extensions["sandbox"].engine.dispose()
