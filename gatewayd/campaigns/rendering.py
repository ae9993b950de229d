"""Which template a recipient gets and the final text (template + STOP mention), compiled once per campaign."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiosqlite

from gatewayd.campaigns.templates import (
    CompiledTemplate, Rendered, compile_template, fixed_tail, render, render_text, with_stop_mention,
)
from gatewayd.campaigns.variables import Resolver
from gatewayd.store import templates as template_store
from gatewayd.store.campaigns import Campaign


@dataclass(frozen=True)
class CampaignTexts:
    """The campaign's compiled templates per language ('default' always present) and its STOP mention."""

    by_language: Mapping[str, CompiledTemplate]
    template_ids: Mapping[str, int]
    mention: str
    line: str | None  # the default template's line when the campaign names none
    resolver: Resolver = field(default_factory=lambda: Resolver({}))  # variables <- columns, defaults

    def template_for(self, language: str | None) -> str:
        """'fr' / 'en' when the campaign has a template for that language, else 'default'."""
        return language if language and language in self.by_language else "default"

    def render(self, language: str | None, values: Mapping[str, str]) -> Rendered:
        compiled = self.by_language[self.template_for(language)]
        out = render(compiled, self.resolver.apply(values) if self.resolver else values)
        return Rendered(with_stop_mention(out.text, self.mention), out.missing)

    def text_renderer(self) -> Callable[[str | None, Mapping[str, str]], str]:
        """A function giving render(language, values).text, faster: the template per language and
        what the STOP mention adds are settled once, not once per recipient (the launch's hot loop)."""
        plans: dict[str, tuple[CompiledTemplate, str | None]] = {
            language: (compiled, fixed_tail(compiled, self.mention)) for language, compiled in self.by_language.items()}
        default = plans["default"]
        mention = self.mention
        resolver = self.resolver if self.resolver else None

        def text(language: str | None, values: Mapping[str, str]) -> str:
            compiled, tail = plans.get(language, default) if language else default  # type: ignore[arg-type]
            out = render_text(compiled, resolver.apply(values) if resolver is not None else values)
            if tail is None:
                return with_stop_mention(out, mention)
            return out.rstrip() + tail if tail else out

        return text


async def load_texts(conn: aiosqlite.Connection, campaign: Campaign) -> CampaignTexts:
    """Compile the campaign's templates; LookupError when one was deleted meanwhile."""
    compiled: dict[str, CompiledTemplate] = {}
    line = campaign.line
    for language, template_id in campaign.templates.items():
        template = await template_store.get_in(conn, template_id)
        if template is None:
            raise LookupError(f"template {template_id} ({language}) no longer exists")
        compiled[language] = compile_template(template.text)
        if language == "default" and line is None:
            line = template.line
    return CampaignTexts(compiled, dict(campaign.templates), campaign.stop_mention, line,
                         Resolver(campaign.audience.get("variables") or {}))
