"""Browser-facing protections: security headers on every console response, and CSRF checks.

CSRF: a signed-in form carries its session's token (hidden `_csrf` field or `X-CSRF-Token`
header from scripts); forms shown before sign-in carry the token of a `gw_pre` cookie
(double submit). Cookies are SameSite=Strict and a foreign Origin is refused, as extra layers.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web
from console.routing import Access
from console.state import CSRF_EXPECTED

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The JSON API, operations, and the compatible APIs of gatewayd.compat (SMSEagle's, SMS Gateway for Android's).
NOT_CONSOLE = ("/api/", "/healthz", "/readyz", "/metrics", "/jsonrpc/", "/3rdparty/", "/http_api/", "/index.php/")


def is_console_path(path: str) -> bool:
    return not path.startswith(NOT_CONSOLE)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: headers for every console response (pages, static files, errors)."""
    if not is_console_path(request.path):
        return
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/static/"):
        # URLs carry the version (?v=), so a day of caching cannot serve stale code after an upgrade.
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
        ctype = response.headers.get("Content-Type", "")
        if ctype.startswith(("text/", "application/javascript")) and "charset" not in ctype:
            response.headers["Content-Type"] = ctype + "; charset=utf-8"
    else:
        response.headers.setdefault("Cache-Control", "no-store")


class CsrfError(Exception):
    """A state-changing request without the right token, or from a foreign origin."""


def same_origin(request: web.Request) -> bool:
    """False when Origin (or, lacking it, Referer) names another site than the one requested."""
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if not referer:
            return True  # some clients send neither; the token still decides
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower()


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


async def check_csrf(request: web.Request, access: Access, expected: str | None) -> None:
    """Raise CsrfError unless this unsafe request proves it came from one of our pages."""
    if not same_origin(request):
        raise CsrfError("cross-site request refused")
    given = request.headers.get("X-CSRF-Token")
    if given is None and access.multipart and request.content_type.startswith("multipart/"):
        return  # the view reads the `_csrf` part first (check_multipart_token) before any file
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get("_csrf")
        given = value if isinstance(value, str) else None
    if not tokens_match(expected, given):
        raise CsrfError("missing or wrong CSRF token")


def check_multipart_token(request: web.Request, given: str | None) -> None:
    """For multipart views: the `_csrf` part (read first) must match, or CsrfError."""
    if request.headers.get("X-CSRF-Token") is not None:
        given = request.headers["X-CSRF-Token"]
    if not tokens_match(request.get(CSRF_EXPECTED), given):
        raise CsrfError("missing or wrong CSRF token")
