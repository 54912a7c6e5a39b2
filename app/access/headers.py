"""Security headers on every response, with a per-request nonce for the pages' scripts.

Scripts run only from Simpul's own files or with this request's nonce: Flask-AppBuilder's
templates put `nonce="{{ baselib.get_nonce() }}"` on every script tag and take the nonce from
a `csp_nonce()` template function, which this module provides. Styles keep 'unsafe-inline':
FAB's templates and its scripts (select2, datepicker, the filter panel) set `style` attributes,
which no nonce can allow; CSS cannot run script. Nothing may frame a page, plugins are off,
forms post only to Simpul, and no address (list filters can carry a NIK) is sent as a
referrer to another site.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

NONCE_BYTES = 16


def csp_nonce() -> str:
    """This request's script nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    """The policy every Simpul page keeps to."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def init_headers(app: Flask) -> None:
    """Send the security headers on every response (a view's own header of the same name wins)."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin rather than no-referrer: Simpul's own "back" after an expired form needs it.
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["HTTPS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
