"""Preview over a mixed audience (group, contacts, typed numbers, uploaded file) without writing anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.preview import preview
from gatewayd.campaigns.service import NewCampaign
from gatewayd.contacts.service import ContactInput, ContactService, GroupService
from gatewayd.store import campaigns as store
from gatewayd.store import contacts as contact_store
from gatewayd.store import optouts
from gatewayd.store import templates as template_store

from .conftest import World


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_preview_mixed_audience(world: World) -> None:
    contacts = ContactService(world.db, world.settings, world.clock)
    await contacts.add_field("ville")
    group = await GroupService(world.db, world.clock).create("G", "", None)
    a = await contacts.create(ContactInput("0611111111", first_name="Łukasz", language="fr",
                                           fields={"ville": "Gdańsk"}, groups=(group.id,)), "t")
    await contacts.create(ContactInput("0611111112", first_name="Anne", fields={"ville": "Aix"},
                                       groups=(group.id,)), "t")
    await contacts.create(ContactInput("0611111113", first_name="Opted", groups=(group.id,)), "t")
    async with world.db.write() as conn:
        await optouts.record(conn, number="+33611111113", action="out", source="sms", now=world.clock.now())
    upload = await world.imports.save_upload(
        _bytes("Mobile;Prénom;Code\n0622222222;Fichier;A1\n0611111112;Dup;B2\nxx;Bad;C3\n".encode()),
        filename="f.csv", purpose="campaign", created_by="t")
    await world.imports.analyse(upload.id)
    tid = await template_store.insert(world.db, title="t", line=None,
                                      text="Bonjour {first_name} de {ville} {code}", now=world.clock.now())
    campaign, unknown = await world.service.create(NewCampaign(
        name="Mix", templates={"default": tid},
        audience=AudienceSpec(group_ids=(group.id,), contact_ids=(a.id,), numbers=("06 33 33 33 33", "123"),
                              file_import_id=upload.id)))
    assert unknown == {}  # ville is a contact field, code a column of the file
    result = await preview(world.service, campaign.id)
    totals = result["totals"]
    assert totals["recipients"] == 4     # Łukasz, Anne, typed 0633…, file 0622…
    assert totals["excluded"] == {"opted_out": 1, "invalid": 2, "duplicate": 2, "text": 0}
    first = result["recipients"][0]
    assert first["text"] == "Bonjour Łukasz de Gdańsk\nSTOP au 06 00 00 00 00"  # mention from the settings
    assert first["encoding"] == "UCS-2" and first["ucs2_characters"] == ["Ł", "ń"]
    assert first["missing_variables"] == ["code"]
    by_number = {r["number"]: r for r in result["recipients"]}
    assert by_number["+33622222222"]["text"].startswith("Bonjour Fichier de  A1")
    assert by_number["+33622222222"]["encoding"] == "GSM-7"
    assert totals["segments"] == sum(r["segments"] for r in result["recipients"])
    assert result["estimated_duration"]["text"].startswith("about")
    async with world.db.read() as conn:
        assert (await store.recipient_counts(conn, campaign.id))["pending"] == 0  # preview wrote nothing


async def test_file_recipients_are_sent_with_their_columns(world: World) -> None:
    upload = await world.imports.save_upload(
        _bytes("Numéro;Prénom;Code;Langue\n0622222222;Ana;A1;en\n622222223;Bo;B2;fr\n0622222222;Dup;C3;fr\n"
               .encode("cp1252")), filename="clients.csv", purpose="campaign", created_by="t")
    analysis = await world.imports.analyse(upload.id)
    assert analysis["mapping"] == ["mobile", "first_name", "field:code", "language"]
    fr = await template_store.insert(world.db, title="fr", line=None, text="Salut {first_name}, code {code}",
                                     now=world.clock.now())
    en = await template_store.insert(world.db, title="en", line=None, text="Hi {first_name}, code {code}",
                                     now=world.clock.now())
    campaign, unknown = await world.service.create(NewCampaign(
        name="File", templates={"default": fr, "en": en}, category="transactional",
        audience=AudienceSpec(file_import_id=upload.id)))
    assert unknown == {}
    await world.service.schedule(campaign.id)
    await world.runner.tick()
    sent = {m["to_number"]: m["text"] for m in await world.outbound.all()}
    assert sent == {"+33622222222": "Hi Ana, code A1", "+33622222223": "Salut Bo, code B2"}  # no STOP: transactional
    async with world.db.read() as conn:
        assert await contact_store.by_mobile(conn, "+33622222222") is None  # file recipients are not contacts
