"""Campaign lifecycle on a real database: schedule with an injected clock, runner windows, refresh,
pause/resume across a restart, auto-pause, opt-outs, nobody added or sent twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.service import NewCampaign
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.service import ContactInput, ContactService, GroupService
from gatewayd.errors import Conflict, InvalidInput
from gatewayd.store import campaigns as store
from gatewayd.store import optouts
from gatewayd.store import templates as template_store

from .conftest import World, close_world, open_world


async def _setup(world: World, count: int, *, english: int = 0) -> tuple[int, int, int]:
    """`count` contacts in a static group; a default (fr) and an English template. (group, fr, en)"""
    contacts = ContactService(world.db, world.settings, world.clock)
    groups = GroupService(world.db, world.clock)
    group = await groups.create("Clients", "", None)
    for i in range(count):
        await contacts.create(ContactInput(f"06{10000000 + i:08d}", first_name=f"P{i}",
                                           language="en" if i < english else "fr", groups=(group.id,)), "t")
    now = world.clock.now()
    fr = await template_store.insert(world.db, title="fr", line=None, text="Bonjour {first_name}", now=now)
    en = await template_store.insert(world.db, title="en", line=None, text="Hello {first_name}", now=now)
    return group.id, fr, en


async def _campaign(world: World, group_id: int, fr: int, en: int, **kw: object) -> int:
    campaign, unknown = await world.service.create(NewCampaign(
        name="Soldes", templates={"default": fr, "en": en}, audience=AudienceSpec(group_ids=(group_id,)),
        tag="soldes", **kw))  # type: ignore[arg-type]
    assert unknown == {}
    return campaign.id


async def _drain(world: World, campaign_id: int, rounds: int = 20) -> None:
    """Runner and 'dispatcher' take turns until the campaign has nothing left to send."""
    for _ in range(rounds):
        await world.runner.tick()
        await world.outbound.finish(100)
        if (await world.service.get(campaign_id)).state != "running":
            return


async def test_scheduled_campaign_runs_when_the_injected_clock_reaches_it(world: World) -> None:
    group_id, fr, en = await _setup(world, 5, english=2)
    cid = await _campaign(world, group_id, fr, en)
    at = world.clock.now() + timedelta(hours=1)
    scheduled = await world.service.schedule(cid, at)
    assert scheduled.state == "scheduled" and scheduled.scheduled_at == at
    assert f"campaign:{cid}" in world.scheduler.jobs()
    await world.runner.tick()  # the runner never launches by date: that is the scheduler's
    assert await world.scheduler.run_due() == []
    assert (await world.service.get(cid)).state == "scheduled" and await world.outbound.all() == []
    world.clock.advance(3600)
    await world.runner.tick()
    assert (await world.service.get(cid)).state == "scheduled"
    assert await world.scheduler.run_due() == [f"campaign:{cid}"]
    assert (await world.service.get(cid)).state == "running"
    await world.runner.tick()
    sent = await world.outbound.all()
    assert len(sent) == 3  # window = 3 outstanding messages
    await _drain(world, cid)
    messages = await world.outbound.all()
    assert (await world.service.get(cid)).state == "completed"
    assert Counter(m["to_number"] for m in messages) == Counter({f"+336{10000000 + i:08d}": 1 for i in range(5)})
    texts = {m["to_number"]: m["text"] for m in messages}
    assert texts["+33610000000"] == "Hello P0\nSTOP to 06 00 00 00 00"      # English template and mention
    assert texts["+33610000004"] == "Bonjour P4\nSTOP au 06 00 00 00 00"    # default, with the mention
    assert all(m["category"] == "marketing" for m in messages)


async def test_refresh_adds_new_group_members_once(world: World) -> None:
    group_id, fr, en = await _setup(world, 2)
    cid = await _campaign(world, group_id, fr, en)
    await world.service.schedule(cid)
    await _drain(world, cid)
    assert (await world.service.get(cid)).state == "completed"
    contacts = ContactService(world.db, world.settings, world.clock)
    await contacts.create(ContactInput("0620000000", first_name="New", groups=(group_id,)), "t")
    result = await world.service.refresh(cid)
    assert result["added"] == 1 and result["campaign"].state == "running"
    again = await world.service.refresh(cid)
    assert again["added"] == 0
    async with world.db.read() as conn:
        counts = await store.recipient_counts(conn, cid)
    assert counts["pending"] == 1 and counts["submitted"] == 2
    await _drain(world, cid)
    numbers = [m["to_number"] for m in await world.outbound.all()]
    assert sorted(numbers) == ["+33610000000", "+33610000001", "+33620000000"]
    with pytest.raises(Conflict):
        draft = await _campaign(world, group_id, fr, en)
        await world.service.refresh(draft)


async def _claimable(world: World) -> int | None:
    """The id the dispatcher's next claim would pick on any line, if any."""
    from gatewayd.store import messages

    async with world.db.read() as conn:
        m = await messages.best_queued(conn, line="line1", now=world.clock.now(), marketing=True, room=255)
    return m.id if m else None


async def test_pause_resume_across_a_restart_never_sends_twice(world: World) -> None:
    group_id, fr, en = await _setup(world, 8)
    cid = await _campaign(world, group_id, fr, en)
    await world.service.schedule(cid)
    await world.runner.tick()
    await world.outbound.finish(2)                 # two left, one still queued
    paused = await world.service.pause(cid)
    assert paused.state == "paused"
    messages = await world.outbound.all()
    # The queued message is held where it is: not canceled, not re-created on resume.
    assert [m["state"] for m in messages] == ["delivered", "delivered", "queued"]
    assert await _claimable(world) is None
    await world.runner.tick()                      # paused: nothing new is handed over
    assert len(await world.outbound.all()) == 3

    # Restart: a new database connection, services, scheduler and runner over the same file.
    settings, clock = world.settings, world.clock
    await close_world(world)
    world2 = await open_world(settings, clock)
    try:
        assert (await world2.service.get(cid)).state == "paused"
        assert await _claimable(world2) is None    # still held after a restart
        await world2.service.resume(cid)
        assert await _claimable(world2) == messages[2]["id"]   # released: the same message goes first
        await _drain(world2, cid)
        assert (await world2.service.get(cid)).state == "completed"
        every = await world2.outbound.all()
        assert len(every) == 8 and {m["state"] for m in every} == {"delivered"}   # no extra rows, none canceled
        assert sorted(m["to_number"] for m in every) == sorted(f"+336{10000000 + i:08d}" for i in range(8))
    finally:
        await close_world(world2)


async def test_running_campaign_resumes_after_restart(world: World) -> None:
    group_id, fr, en = await _setup(world, 6)
    cid = await _campaign(world, group_id, fr, en)
    await world.service.schedule(cid)
    await world.runner.tick()
    settings, clock = world.settings, world.clock
    await close_world(world)                       # stopped while running, 3 queued
    world2 = await open_world(settings, clock)
    try:
        await _drain(world2, cid)
        numbers = [m["to_number"] for m in await world2.outbound.all()]
        assert len(numbers) == 6 and len(set(numbers)) == 6
    finally:
        await close_world(world2)


async def test_auto_pause_on_failure_rate_and_fresh_count_after_resume(world: World) -> None:
    group_id, fr, en = await _setup(world, 14)
    cid = await _campaign(world, group_id, fr, en)
    await world.service.schedule(cid)
    for _ in range(2):
        await world.runner.tick()
        await world.outbound.finish(3, "failed")
    await world.runner.tick()          # 6 finished, all failed (at least 4 finished, threshold 50%): paused
    campaign = await world.service.get(cid)
    assert campaign.state == "paused" and campaign.pause_reason is not None
    assert "auto-paused" in campaign.pause_reason and "100%" in campaign.pause_reason
    # After a resume only what ends from then on counts: the earlier failures do not re-pause it.
    world.clock.advance(60)
    await world.service.resume(cid)
    await world.runner.tick()
    assert (await world.service.get(cid)).state == "running"
    await world.outbound.finish(3, "delivered")
    await world.runner.tick()
    await world.outbound.finish(3, "delivered")
    await world.runner.tick()
    assert (await world.service.get(cid)).state == "running"


async def test_deleted_contacts_are_not_sent_what_was_pending(world: World) -> None:
    group_id, fr, en = await _setup(world, 5)
    cid = await _campaign(world, group_id, fr, en)
    await world.service.schedule(cid)
    contacts = ContactService(world.db, world.settings, world.clock)
    page = await contacts.search(q=None, group_id=None, language=None, after_id=0, limit=10)
    await contacts.delete_many([page[-1].id])
    await _drain(world, cid)
    numbers = {m["to_number"] for m in await world.outbound.all()}
    assert page[-1].mobile not in numbers and len(numbers) == 4
    async with world.db.read() as conn:
        assert (await store.recipient_counts(conn, cid))["excluded_deleted"] == 1


async def test_a_text_outbound_refuses_pauses_the_campaign(world: World) -> None:
    group_id, fr, en = await _setup(world, 2)
    huge = await template_store.insert(world.db, title="huge", line=None, text="x" * 160 * 300,
                                       now=world.clock.now())
    campaign, _ = await world.service.create(NewCampaign(
        name="Huge", templates={"default": huge}, audience=AudienceSpec(group_ids=(group_id,))))
    # The whole-audience check refuses the launch before anything is queued, naming the problem.
    with pytest.raises(Conflict) as refused:
        await world.service.schedule(campaign.id)
    assert refused.value.code == "campaign.text_problems"
    assert refused.value.problems[0].params["too_long"] == 2 and refused.value.problems[0].params["count"] == 2
    assert (await world.service.get(campaign.id)).state == "draft"
    # Should the audience change after a launch, outbound still refuses the text and the runner pauses.
    async with world.db.write() as conn:
        await store.transition(conn, campaign.id, ("draft",), "scheduled", world.clock.now(),
                               scheduled_at=world.clock.now())
    await world.service.launch(campaign.id)
    await world.runner.tick()
    paused = await world.service.get(campaign.id)
    assert paused.state == "paused" and "segments" in (paused.pause_reason or "")
    assert await world.outbound.all() == []


async def test_opted_out_contacts_are_excluded_and_stats(world: World) -> None:
    group_id, fr, en = await _setup(world, 4)
    async with world.db.write() as conn:
        await optouts.record(conn, number="+33610000001", action="out", source="sms", now=world.clock.now())
    cid = await _campaign(world, group_id, fr, en)
    await world.service.schedule(cid)
    await world.runner.tick()
    # One more opts out by SMS after receiving the campaign.
    world.clock.advance(60)
    async with world.db.write() as conn:
        await optouts.record(conn, number="+33610000000", action="out", source="sms", now=world.clock.now())
    await world.outbound.finish(1, "delivered")
    await world.outbound.finish(1, "failed")
    from gatewayd.campaigns.stats import campaign_stats, tag_stats
    from gatewayd.store import inbound

    async with world.db.write() as conn:
        # Two replies from one recipient count once; a number outside the campaign counts not at all.
        for sender in ("+33610000002", "+33610000002", "+33699999999"):
            await inbound.add_message(conn, thread_id=None, line="l1", sender=sender, text="Merci",
                                      smsc_time=None, received_at=world.clock.now())

    stats = await campaign_stats(world.service, cid)
    assert stats["recipients"]["excluded_opted_out"] == 1 and stats["recipients"]["submitted"] == 3
    assert (stats["delivered"], stats["failed"], stats["queued"], stats["opt_outs"]) == (1, 1, 1, 1)
    assert stats["replies"] == 1
    assert all(m["to_number"] != "+33610000001" for m in await world.outbound.all())
    by_tag = await tag_stats(world.service, "soldes")
    assert by_tag["campaigns"] == 1 and by_tag["delivered"] == 1


async def test_cancel_and_state_conflicts(world: World) -> None:
    group_id, fr, en = await _setup(world, 5)
    cid = await _campaign(world, group_id, fr, en)
    with pytest.raises(Conflict):
        await world.service.pause(cid)                 # a draft is not running
    await world.service.schedule(cid, world.clock.now() + timedelta(days=1))
    canceled = await world.service.cancel(cid)
    assert canceled.state == "canceled" and f"campaign:{cid}" not in world.scheduler.jobs()
    world.clock.advance(2 * 86400)
    await world.runner.tick()
    assert await world.outbound.all() == []
    with pytest.raises(Conflict):
        await world.service.resume(cid)


async def test_scheduled_campaigns_restored_at_start(world: World) -> None:
    group_id, fr, en = await _setup(world, 1)
    future = await _campaign(world, group_id, fr, en)
    past = await _campaign(world, group_id, fr, en)
    await world.service.schedule(future, world.clock.now() + timedelta(hours=2))
    await world.service.schedule(past, world.clock.now() + timedelta(minutes=5))
    settings, clock = world.settings, world.clock
    await close_world(world)
    clock.advance(600)                                  # the daemon was down when `past` was due
    world2 = await open_world(settings, clock)
    try:
        assert await world2.service.restore_schedule() == 2
        assert (await world2.service.get(past)).state == "running"
        assert (await world2.service.get(future)).state == "scheduled"
        assert f"campaign:{future}" in world2.scheduler.jobs()
    finally:
        await close_world(world2)


async def test_campaign_cap_refuses_a_bigger_audience_with_a_clear_message(campaign_settings: Settings) -> None:
    capped = campaign_settings.model_copy(update={
        "campaigns": campaign_settings.campaigns.model_copy(update={"max_recipients": 3})})
    world = await open_world(capped, FakeClock())
    try:
        await _cap_checks(world)
    finally:
        await close_world(world)


async def _cap_checks(world: World) -> None:
    group_id, fr, en = await _setup(world, 3)
    cid = await _campaign(world, group_id, fr, en)  # exactly the cap: accepted
    contacts = ContactService(world.db, world.settings, world.clock)
    await contacts.create(ContactInput("0620000000", groups=(group_id,)), "t")
    # The group grew past the cap after the draft: scheduling says so, and nothing is materialised.
    with pytest.raises(InvalidInput, match=r"4 recipients, more than the 3 a campaign may have") as caught:
        await world.service.schedule(cid)
    assert str(caught.value).startswith("audience: ")
    assert (await world.service.get(cid)).state == "draft"
    with pytest.raises(InvalidInput, match=r"campaigns\.max_recipients"):
        await _campaign(world, group_id, fr, en)
