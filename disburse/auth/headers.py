"""Security headers on every response, pages, API and error answers alike.

- Content-Security-Policy: HTML (pages, and the refusal notices the API serves) loads scripts, styles, images and
  fonts only from this site and runs no inline script or style (templates carry none; a test reads them); anything
  else (the API's JSON) may load nothing at all. Neither may be framed (clickjacking), post forms elsewhere or
  change the base URL.
- X-Frame-Options DENY for browsers that predate ``frame-ancestors``; X-Content-Type-Options nosniff, so a JSON
  answer is never run as a script or page.
- Referrer-Policy no-referrer: our URLs carry SI codes (``/api/v1/employees/<si_code>/support``), which must not
  travel to another site in a Referer header.
- Cache-Control no-store on everything but the static files: pages and answers carry personal data (names, IDs,
  bank accounts, amounts), which must not stay in a shared computer's cache or a proxy's.
- Strict-Transport-Security in production (``HSTS_SECONDS``): browsers use HTTPS only, even when a link says http.
- WWW-Authenticate on every 401 (RFC 9110 §15.5.2): how to authenticate, a bearer token unless the answer names
  another way (the provider callbacks' signatures).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
NOTHING_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def add_security_headers(response: Response) -> Response:
    html = response.mimetype == "text/html"
    response.headers["Content-Security-Policy"] = PAGE_POLICY if html else NOTHING_POLICY
    for name, value in HEADERS.items():
        response.headers[name] = value
    # A static file may be kept; an error page (a missing file, a bad Range) is drawn in the layout with the signed-in
    # person's name and a CSRF token, and may not.
    if request.endpoint != "static" or response.status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
    hsts = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts > 0:
        response.headers["Strict-Transport-Security"] = f"max-age={hsts}"
    if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="disburse"'
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
