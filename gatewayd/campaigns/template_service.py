"""TemplateService: the one place a template is validated and stored (the API and the console call it).

A template is a title, a text with `{variables}` (and `{name|default}` defaults), default values
of its own per variable, the line it prefers and its transliteration switch (None: the site default). Variables no contact field or
file column provides are reported, not refused: a campaign's file may bring them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from gatewayd.campaigns.templates import TemplateSyntaxError, check_defaults, compile_template, unknown_variables
from gatewayd.clock import Clock
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.outbound.compose import LineDirectory
from gatewayd.store import contacts as contact_store
from gatewayd.store import templates as store
from gatewayd.store.db import Database
from gatewayd.store.templates import Template


@dataclass(frozen=True)
class TemplateInput:
    title: str
    text: str
    line: str | None = None
    transliterate: bool | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)  # an empty value: no default

    def kept_defaults(self) -> dict[str, str]:
        """The defaults worth storing (a blank field in a form means none)."""
        return {name.strip(): value.strip() for name, value in self.defaults.items() if value.strip()}


class TemplateService:
    def __init__(self, db: Database, clock: Clock, lines: LineDirectory) -> None:
        self.db = db
        self.clock = clock
        self.lines = lines

    async def check(self, new: TemplateInput) -> list[str]:
        """The template's unknown variables; InvalidInput (codes) when it cannot be used."""
        if not new.title.strip():
            raise InvalidInput("title", code="template.title_required")
        if not new.text.strip():
            raise InvalidInput("text", code="text.required")
        names = self.lines.names()
        if new.line is not None and new.line not in names:
            raise InvalidInput("line", code="line.unknown", line=new.line, known=", ".join(names) or "none")
        try:
            compiled = compile_template(new.text)
        except TemplateSyntaxError as exc:
            raise InvalidInput("text", problems=[exc.problem("text")]) from None
        problems = check_defaults(compiled, new.kept_defaults())
        if problems:
            raise InvalidInput("defaults", problems=problems)
        async with self.db.read() as conn:
            known = await contact_store.field_names(conn)
        return list(unknown_variables(compiled, known))

    async def create(self, new: TemplateInput) -> tuple[Template, list[str]]:
        unknown = await self.check(new)
        tid = await store.insert(self.db, title=new.title.strip(), line=new.line, text=new.text,
                                 transliterate=new.transliterate, defaults=new.kept_defaults(), now=self.clock.now())
        return await self.get(tid), unknown

    async def update(self, template_id: int, new: TemplateInput) -> tuple[Template, list[str]]:
        unknown = await self.check(new)
        if not await store.update(self.db, template_id, title=new.title.strip(), line=new.line, text=new.text,
                                  transliterate=new.transliterate, defaults=new.kept_defaults(),
                                  now=self.clock.now()):
            raise NotFound(code="template.not_found", id=template_id)
        return await self.get(template_id), unknown

    async def delete(self, template_id: int) -> None:
        try:
            deleted = await store.delete(self.db, template_id)
        except sqlite3.IntegrityError:
            raise Conflict(code="template.in_use", id=template_id) from None
        if not deleted:
            raise NotFound(code="template.not_found", id=template_id)

    async def get(self, template_id: int) -> Template:
        template = await store.get(self.db, template_id)
        if template is None:
            raise NotFound(code="template.not_found", id=template_id)
        return template
