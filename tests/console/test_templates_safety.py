"""Static guarantees on the console's templates and assets: nothing bypasses autoescaping, nothing
needs an inline script or style (the CSP forbids both), nothing is fetched from another site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web
from console import app as console_app

CONSOLE = Path(console_app.__file__).resolve().parent
TEMPLATES = sorted(CONSOLE.glob("templates/**/*.html"))
STATIC = sorted(CONSOLE.glob("static/*"))


def test_there_are_templates_and_assets() -> None:
    assert len(TEMPLATES) > 30 and {p.name for p in STATIC} >= {"console.css", "console.js", "segments.js"}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(CONSOLE)))
def test_template_never_bypasses_escaping_or_inlines_code(path: Path) -> None:
    text = path.read_text("utf-8")
    assert not re.search(r"\|\s*safe\b", text), "|safe would print SMS, file or user text as HTML"
    assert "autoescape" not in text and "Markup" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline script: the CSP refuses it"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler: the CSP refuses it"
    assert not re.search(r"\sstyle\s*=", text), "inline style: the CSP refuses it"
    assert "javascript:" not in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "assets come from the box itself (no CDN)"


@pytest.mark.parametrize("path", STATIC, ids=lambda p: p.name)
def test_assets_load_nothing_from_elsewhere(path: Path) -> None:
    text = path.read_text("utf-8")
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)
    if path.suffix == ".js":
        assert "innerHTML = data" not in text.replace("el.innerHTML = data.html", "")  # only server-escaped HTML
        assert "eval(" not in text and "new Function" not in text


def test_environment_autoescapes_every_template() -> None:
    import aiohttp_jinja2

    app = web.Application()
    env = console_app.make_environment(app)
    assert env.autoescape is True or all(env.autoescape(name) for name in ("x.html", "x.txt", "x"))
    assert aiohttp_jinja2.get_env(app) is env
    rendered = env.from_string("{{ v }}").render(v="<script>alert(1)</script>")
    assert rendered == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_every_input_type_the_templates_use_is_styled() -> None:
    """An input type missing from console.css shows as the browser's bare box (the webhook URL field
    did): every type written in a template, directly or through the input() macro, has its rule."""
    used: set[str] = set()
    for path in TEMPLATES:
        text = path.read_text("utf-8")
        used |= set(re.findall(r'<input[^>]*\btype="([a-z-]+)"', text))
        used |= set(re.findall(r'\binput\([^\n]*?\btype="([a-z-]+)"', text))
    css = (CONSOLE / "static" / "console.css").read_text("utf-8")
    styled = set(re.findall(r"input\[type=([a-z-]+)\]", css))
    unstyled = used - styled - {"hidden", "checkbox", "radio"}  # no box to style
    assert not unstyled, f"input types with no rule in console.css: {sorted(unstyled)}"
