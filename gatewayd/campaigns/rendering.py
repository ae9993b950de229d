"""Which template a recipient gets, compiled once per campaign (outbound's composition makes the final text)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiosqlite

from gatewayd.campaigns.templates import CompiledTemplate, compile_template
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
    sources: Mapping[str, str]  # the template texts as written, per language (what the runner composes)
    transliterate: Mapping[str, bool | None]  # each template's switch (None: the site default)
    defaults: Mapping[str, Mapping[str, str]]  # each template's own default values
    resolver: Resolver = field(default_factory=lambda: Resolver({}))  # variables <- columns, defaults

    def values_of(self, values: Mapping[str, str]) -> Mapping[str, str]:
        """A recipient's values with the campaign's variables mapped from its columns (or defaults)."""
        return self.resolver.apply(values) if self.resolver else values

    def template_for(self, language: str | None) -> str:
        """'fr' / 'en' when the campaign has a template for that language, else 'default'."""
        return language if language and language in self.by_language else "default"


async def load_texts(conn: aiosqlite.Connection, campaign: Campaign) -> CampaignTexts:
    """Compile the campaign's templates; LookupError when one was deleted meanwhile."""
    compiled: dict[str, CompiledTemplate] = {}
    sources: dict[str, str] = {}
    switches: dict[str, bool | None] = {}
    defaults: dict[str, Mapping[str, str]] = {}
    line = campaign.line
    for language, template_id in campaign.templates.items():
        template = await template_store.get_in(conn, template_id)
        if template is None:
            raise LookupError(f"template {template_id} ({language}) no longer exists")
        compiled[language] = compile_template(template.text, template.defaults)
        sources[language] = template.text
        defaults[language] = template.defaults
        # The campaign's own switch, else the template's (None: the site default, in compose()).
        switches[language] = campaign.transliterate if campaign.transliterate is not None else template.transliterate
        if language == "default" and line is None:
            line = template.line
    return CampaignTexts(compiled, dict(campaign.templates), campaign.stop_mention, line, sources, switches, defaults,
                         Resolver(campaign.audience.get("variables") or {}))
