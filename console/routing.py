"""Console routes with their access rule attached, so the middleware can refuse before the view runs.

Every console view is declared through `Pages`: `role=None` means open to anyone (sign-in, first
run), otherwise the least role needed. A route without a declared rule is refused (fail closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROLE_RANK = {"viewer": 0, "operator": 1, "admin": 2}
ACCESS_ATTR = "__console_access__"


@dataclass(frozen=True)
class Access:
    """Who may call a view: `role` None = anyone; `multipart` = the view checks CSRF itself."""

    role: str | None
    multipart: bool = False
    json: bool = False


def allows(user_role: str, needed: str) -> bool:
    """True when `user_role` is at least `needed` (admin > operator > viewer)."""
    return ROLE_RANK.get(user_role, -1) >= ROLE_RANK[needed]


def access_of(handler: Any) -> Access | None:
    return getattr(handler, ACCESS_ATTR, None)


class Pages:
    """A RouteTableDef whose decorators also record each view's access rule."""

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()

    def _add(self, method: str, path: str, role: str | None, name: str | None, multipart: bool,
             json: bool) -> Callable[[Handler], Handler]:
        if role is not None and role not in ROLE_RANK:
            raise ValueError(f"unknown role {role!r}")

        def decorate(handler: Handler) -> Handler:
            setattr(handler, ACCESS_ATTR, Access(role, multipart, json))
            kwargs: dict[str, Any] = {"name": name} if name else {}
            self.routes.route(method, path, **kwargs)(handler)
            return handler

        return decorate

    def get(self, path: str, *, role: str | None = "viewer", name: str | None = None,
            json: bool = False) -> Callable[[Handler], Handler]:
        return self._add("GET", path, role, name, False, json)

    def post(self, path: str, *, role: str | None = "operator", name: str | None = None,
             multipart: bool = False, json: bool = False) -> Callable[[Handler], Handler]:
        return self._add("POST", path, role, name, multipart, json)
