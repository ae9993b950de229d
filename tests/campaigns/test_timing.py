"""Campaigns on their own schedule, under an injected clock: reminders timed from each recipient's
date (French formats, Excel serial dates) across a quiet-hours boundary, and recurring campaigns
(APScheduler's cron rule) restored at start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gatewayd.campaigns import timing
from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.service import NewCampaign
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.service import ContactInput, ContactService, GroupService
from gatewayd.errors import InvalidInput
from gatewayd.outbound.quiet_hours import QuietHours
from gatewayd.store import campaigns as store
from gatewayd.store import templates as template_store

from .conftest import World, close_world, open_world

PARIS = ZoneInfo("Europe/Paris")
MONDAY_7AM = datetime(2027, 1, 11, 7, 0, tzinfo=PARIS)  # quiet hours end at 08:00


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=PARIS).astimezone(timezone.utc)


@pytest.fixture
def timed_settings(tmp_path: Path) -> Settings:
    return Settings(storage={"database": str(tmp_path / "gatewayd.db")}, http={"host": "127.0.0.1"},
                    quiet_hours={"enabled": True, "send_from": "08:00", "send_until": "20:00", "holidays": False},
                    campaigns={"window": 50})


@pytest.fixture
async def world(timed_settings: Settings) -> AsyncIterator[World]:
    w = await open_world(timed_settings, FakeClock(MONDAY_7AM.astimezone(timezone.utc)))
    yield w
    await close_world(w)


def test_reminder_plans_day_before_and_hours_before() -> None:
    quiet = QuietHours(True, frozenset(range(6)), time(8), time(20), PARIS)
    now = paris(11, 7)
    day_before = timing.Reminder("rdv", days_before=1, at=time(10))
    assert timing.plan_reminder(day_before, {"RDV": "13/01/2027 14h30"}, tz=PARIS, quiet=quiet,
                                now=now).send_at == paris(12, 10)
    # Excel's serial date 46400.4375 is 2027-01-13 10:30.
    two_hours = timing.Reminder("rdv", minutes_before=120)
    assert timing.plan_reminder(two_hours, {"rdv": "46400.4375"}, tz=PARIS, quiet=quiet,
                                now=now).send_at == paris(13, 8, 30)
    # 2 h before 09:00 is 07:00, in the quiet hours: moved to 08:00, still before the appointment.
    assert timing.plan_reminder(two_hours, {"rdv": "11/01/2027 09h00"}, tz=PARIS, quiet=quiet,
                                now=now).send_at == paris(11, 8)
    # A Sunday appointment: Saturday 20:30 is closed, Sunday is closed: too late by Monday.
    assert timing.plan_reminder(two_hours, {"rdv": "17/01/2027 22h30"}, tz=PARIS, quiet=quiet,
                                now=now).skipped == "too_late"
    assert timing.plan_reminder(two_hours, {"rdv": "10/01/2027 10:00"}, tz=PARIS, quiet=quiet,
                                now=now).skipped == "past"
    assert timing.plan_reminder(two_hours, {"rdv": "12/01/2027"}, tz=PARIS, quiet=quiet, now=now).skipped == "no_time"
    assert timing.plan_reminder(two_hours, {"rdv": "bientôt"}, tz=PARIS, quiet=quiet, now=now).skipped == "no_date"
    with pytest.raises(timing.TimingProblem, match="either days_before"):
        timing.parse({"kind": "reminder", "column": "rdv"})


async def _file(world: World, text: str) -> int:
    async def chunks() -> AsyncIterator[bytes]:
        yield text.encode("utf-8")
    row = await world.imports.save_upload(chunks(), filename="rdv.csv", purpose="campaign", created_by="t")
    await world.imports.analyse(row.id)
    return row.id


async def test_reminders_wait_for_their_time_across_the_quiet_hours_boundary(world: World) -> None:
    file_id = await _file(world, "Prénom;Date RDV;Mobile\r\n"
                                 "Hélène;12/01/2027 14h30;0612345601\r\n"    # reminder Tue 12:30
                                 "Hugo;11/01/2027 09h00;0612345602\r\n"      # 07:00 is quiet: 08:00
                                 "Léa;11/01/2027 08h00;0612345603\r\n"       # 08:00 is too late
                                 "Zoé;10/01/2027 10h00;0612345604\r\n"       # past
                                 "Noël;;0612345605\r\n")                     # no date
    tpl = await template_store.insert(world.db, title="r", line=None, text="Bonjour {first_name}, RDV {date_rdv}",
                                      now=world.clock.now())
    campaign, _ = await world.service.create(NewCampaign(
        name="Rappels", templates={"default": tpl}, audience=AudienceSpec(file_import_id=file_id),
        category="transactional", timing={"kind": "reminder", "column": "Date RDV", "minutes_before": 120}))
    assert campaign.timing == {"kind": "reminder", "column": "date_rdv", "days_before": None, "at": None,
                               "minutes_before": 120}
    launched = await world.service.schedule(campaign.id)
    assert launched.state == "running"
    assert launched.timing_report == {"skipped": {"too_late": 1, "past": 1, "no_date": 1}, "lines": [
        {"number": "+33612345603", "date": "11/01/2027 08h00", "reason": "too_late"},
        {"number": "+33612345604", "date": "10/01/2027 10h00", "reason": "past"},
        {"number": "+33612345605", "date": "", "reason": "no_date"}]}
    assert await world.service.next_sends(launched) == [paris(11, 8), paris(12, 12, 30)]

    await world.runner.tick()                                    # 07:00: nothing is due
    assert await world.outbound.all() == []
    world.clock.set(paris(11, 7, 59))
    await world.runner.tick()
    assert await world.outbound.all() == []
    world.clock.set(paris(11, 8))                                # the window opens
    await world.runner.tick()
    sent = await world.outbound.all()
    assert [(m["to_number"], m["text"]) for m in sent] == [("+33612345602", "Bonjour Hugo, RDV 11/01/2027 09h00")]
    await world.outbound.finish(10)
    await world.runner.tick()
    assert (await world.service.get(campaign.id)).state == "running"  # Hélène's reminder is still ahead
    world.clock.set(paris(12, 12, 30))
    await world.runner.tick()
    assert [m["to_number"] for m in await world.outbound.all()] == ["+33612345602", "+33612345601"]
    await world.outbound.finish(10)
    await world.runner.tick()
    assert (await world.service.get(campaign.id)).state == "completed"


async def test_reminder_column_must_exist(world: World) -> None:
    file_id = await _file(world, "Mobile;Date RDV\r\n0612345601;12/01/2027 14h30\r\n")
    tpl = await template_store.insert(world.db, title="r", line=None, text="Rappel", now=world.clock.now())
    with pytest.raises(InvalidInput, match="no column or contact field named 'date de naissance'"):
        await world.service.create(NewCampaign(
            name="x", templates={"default": tpl}, audience=AudienceSpec(file_import_id=file_id),
            timing={"kind": "reminder", "column": "date de naissance", "days_before": 1, "at": "10:00"}))


async def test_recurring_campaign_every_monday_restored_at_start(world: World) -> None:
    contacts = ContactService(world.db, world.settings, world.clock)
    group = await GroupService(world.db, world.clock).create("Équipe", "", None)
    await contacts.create(ContactInput("0612345601", first_name="Ana", groups=(group.id,)), "t")
    tpl = await template_store.insert(world.db, title="r", line=None, text="Réunion lundi 9 h", now=world.clock.now())
    campaign, _ = await world.service.create(NewCampaign(
        name="Hebdo", templates={"default": tpl}, audience=AudienceSpec(group_ids=(group.id,)),
        category="transactional", timing={"kind": "recurring", "days_of_week": ["mon"], "at": "09:00"}))
    scheduled = await world.service.schedule(campaign.id)
    assert scheduled.state == "scheduled" and scheduled.scheduled_at == paris(11, 9)
    assert await world.service.next_sends(scheduled) == [paris(11, 9), paris(18, 9), paris(25, 9)]
    assert f"campaign:{campaign.id}" in world.scheduler.jobs()

    # The daemon restarts: the job comes back from the database.
    settings, clock = world.settings, world.clock
    await close_world(world)
    again = await open_world(settings, clock)
    try:
        assert await again.service.restore_schedule() == 1
        assert f"campaign:{campaign.id}" in again.scheduler.jobs()
        again.clock.set(paris(11, 9))
        await again.runner.tick()                            # the runner does not look at dates
        async with again.db.read() as conn:
            assert await store.occurrences(conn, campaign.id) == []
        assert await again.scheduler.run_due() == [f"campaign:{campaign.id}"]  # the occurrence is due
        async with again.db.read() as conn:
            children = await store.occurrences(conn, campaign.id)
        assert len(children) == 1 and children[0][1] == "running"
        parent = await again.service.get(campaign.id)
        assert parent.state == "scheduled" and parent.scheduled_at == paris(18, 9)
        await again.runner.tick()
        assert [m["to_number"] for m in await again.outbound.all()] == ["+33612345601"]
        assert await again.scheduler.run_due() == []           # no second occurrence the same Monday
        async with again.db.read() as conn:
            assert len(await store.occurrences(conn, campaign.id)) == 1
        again.clock.advance(timedelta(days=7).total_seconds())
        assert await again.scheduler.run_due() == [f"campaign:{campaign.id}"]
        async with again.db.read() as conn:
            assert len(await store.occurrences(conn, campaign.id)) == 2
        await again.service.cancel(campaign.id)
        assert f"campaign:{campaign.id}" not in again.scheduler.jobs()
    finally:
        await close_world(again)


async def test_reminder_campaign_through_the_api_shows_its_next_send_times(app_client, api_key) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import FormData

    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    form = FormData()
    form.add_field("file", "Mobile;RDV\r\n0612345601;14/01/2099 14h30\r\n0612345602;02/01/2000 10h00\r\n".encode(),
                   filename="rdv.csv")
    upload = await (await app_client.post("/api/v1/imports?purpose=campaign", data=form, headers=h)).json()
    await app_client.post(f"/api/v1/imports/{upload['id']}/analyse", headers=h)
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={"title": "r", "text": "Rappel {rdv}"})).json()
    body = {"name": "Rappels", "category": "transactional", "templates": {"default": tpl["id"]},
            "audience": {"file": upload["id"]}, "timing": {"kind": "reminder", "column": "RDV", "days_before": 1,
                                                           "at": "10:00"}}
    r = await app_client.post("/api/v1/campaigns", headers=h, json={**body, "timing": {"kind": "reminder"}})
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "timing.column"
    created = await (await app_client.post("/api/v1/campaigns", headers=h, json=body)).json()
    r = await app_client.post(f"/api/v1/campaigns/{created['id']}/schedule", headers=h)
    campaign = await r.json()
    assert campaign["state"] == "running"
    assert campaign["next_send_at"] == ["2099-01-13T09:00:00.000Z"]  # the day before, 10:00 in Paris
    assert campaign["timing_report"]["skipped"] == {"past": 1}
    assert campaign["timing_report"]["lines"] == [{"number": "+33612345602", "date": "02/01/2000 10h00",
                                                   "reason": "past"}]
