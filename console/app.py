"""setup_console(app): templates, static files, the console gate and every page whose service exists."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from console import views
from console.middleware import console_middleware
from console.security import add_security_headers
from console.state import CONSOLE_STATE

from gatewayd import keys
from gatewayd.accounts import first_run
from gatewayd.store import users as user_store

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


def make_environment(app: web.Application) -> jinja2.Environment:
    """The Jinja environment: autoescape on for every template, undefined names are errors."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every template, whatever its extension: texts come from SMS, files and users
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def setup_console(app: web.Application) -> None:
    """Add the web console to the daemon's app (called by build_app before the app starts)."""
    make_environment(app)
    app[CONSOLE_STATE] = {}
    app.middlewares.append(console_middleware)
    app.on_response_prepare.append(add_security_headers)
    app.router.add_static("/static/", HERE / "static", name="static", append_version=False)
    for module in views.available(keys):
        app.add_routes(module.pages.routes)
    app.on_startup.append(_first_run_code)


async def _first_run_code(app: web.Application) -> None:
    """While no user exists, a one-time code lets someone off this machine and off the trusted
    networks create the first administrator (gatewayd.accounts.first_run)."""
    if await user_store.count(app[keys.DB]) == 0:
        app[CONSOLE_STATE]["setup_code"] = first_run.issue_code(app[keys.SETTINGS].storage.database)
