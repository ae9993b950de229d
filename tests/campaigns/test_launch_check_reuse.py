"""Launching right after the preview: the whole-audience text check the preview made is reused when
nothing was written in between (one walk of the audience, not two), and made again otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gatewayd.campaigns import audience as aud
from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.preview import preview
from gatewayd.campaigns.service import NewCampaign
from gatewayd.contacts.service import ContactInput, ContactService, GroupService
from gatewayd.errors import Conflict
from gatewayd.store import templates as template_store

from .conftest import World


async def _campaign(world: World, count: int) -> tuple[int, list[int]]:
    contacts = ContactService(world.db, world.settings, world.clock)
    group = await GroupService(world.db, world.clock).create("Clients", "", None)
    ids = [(await contacts.create(ContactInput(f"06{20000000 + i:08d}", first_name=f"P{i}", groups=(group.id,)),
                                  "t")).id for i in range(count)]
    text = await template_store.insert(world.db, title="t", line=None, text="Bonjour {first_name}",
                                       now=world.clock.now())
    campaign, _ = await world.service.create(NewCampaign(name="Soldes", templates={"default": text},
                                                         audience=AudienceSpec(group_ids=(group.id,))))
    return campaign.id, ids


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the audience was walked whole (each preview or check walks it once; the launch
    itself materialises groups and contacts in SQL and walks only typed numbers and files)."""
    counted: list[int] = []
    real = aud.drafts

    def counting(*args: Any, **kwargs: Any) -> AsyncIterator[list[aud.Draft]]:
        if kwargs.get("contacts", True):
            counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(aud, "drafts", counting)
    return counted


async def test_launch_after_an_unchanged_preview_walks_the_audience_once(world: World, walks: list[int]) -> None:
    cid, _ = await _campaign(world, 5)
    shown = await preview(world.service, cid)
    assert shown["text_checks"]["recipients"] == 0 and len(walks) == 1
    launched = await world.service.schedule(cid)
    assert launched.state == "running"
    assert len(walks) == 1  # the preview's check stood for the launch's


async def test_a_change_after_the_preview_is_checked_again_at_launch(world: World, walks: list[int]) -> None:
    cid, ids = await _campaign(world, 5)
    assert (await preview(world.service, cid))["text_checks"]["recipients"] == 0
    # Someone empties a first name between the preview and the launch: {first_name} would go out empty.
    contacts = ContactService(world.db, world.settings, world.clock)
    before = await contacts.get(ids[2])
    await contacts.update(ids[2], ContactInput(before.mobile, first_name="", groups=tuple(before.groups)), "t")
    with pytest.raises(Conflict) as refused:
        await world.service.schedule(cid)
    assert refused.value.code == "campaign.text_problems" and len(walks) == 2
    assert (await world.service.get(cid)).state == "draft"
