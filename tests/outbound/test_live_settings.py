"""Settings changed in the console while the daemon runs: validated like the file, stored with who
and when, applied at once (the dispatcher's quiet hours, inbound's STOP words), kept across a
restart, reset to the file's values."""

from __future__ import annotations

import logging
from datetime import datetime, time, timezone
from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.errors import InvalidInput
from gatewayd.live_settings import LiveSettings
from gatewayd.modem.events import IncomingSms
from gatewayd.store import optouts
from gatewayd.store.db import Database

from .conftest import gateway, make_settings
from .test_rules import QUIET, SUNDAY, settle


def live(db: Database, settings: Settings) -> LiveSettings:
    return LiveSettings(db, settings, FakeClock(SUNDAY))


async def test_a_change_is_validated_stored_and_kept_across_a_restart(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = live(db, settings)
    seen: list[Settings] = []
    first.subscribe(seen.append)
    await first.change("quiet_hours", {"days": ["mon", "sun"], "send_from": "09:30"}, by="alice")
    assert first.settings.quiet_hours.days == ["mon", "sun"] and first.settings.quiet_hours.send_from == time(9, 30)
    assert seen == [first.settings]
    assert first.settings.optout == settings.optout and first.file is settings  # the rest is the file's
    change = first.changed("quiet_hours")
    assert change is not None and change.changed_by == "alice" and change.changed_at == SUNDAY
    assert dict(change.values) == {"days": ["mon", "sun"], "send_from": "09:30:00"}  # only what differs

    again = live(db, settings)  # the next start
    await again.load()
    assert again.settings.quiet_hours == first.settings.quiet_hours
    assert again.changed("quiet_hours") == change and again.changed("optout") is None


async def test_a_refused_change_names_the_key_and_changes_nothing(db: Database, tmp_path: Path) -> None:
    service = live(db, make_settings(tmp_path))
    await service.change("optout", {"confirm_text": "Vous êtes désinscrit."}, by="alice")
    before = service.settings
    cases = [
        ("quiet_hours", {"send_from": "20:00", "send_until": "08:00"}, "quiet_hours", "send_until must be later"),
        ("quiet_hours", {"days": ["lun"]}, "days", "one of 'mon'"),
        ("quiet_hours", {"country": "XX"}, "quiet_hours", "no public holiday calendar"),
        ("optout", {"stop_words": ["stop", "start"], "start_words": ["start"]}, "optout", "start"),
        ("optout", {"confirm_text": "x" * 481}, "confirm_text", "at most 480"),
        ("optout", {"scope": "all"}, "scope", "cannot be changed in the console"),
        ("optout", {"stop_words": ["ARRET", "stop sms"]}, "optout", "STOP must stay a stop word"),
        ("quiet_hours", {"days": []}, "quiet_hours", "choose at least one day"),
        ("storage", {"database": "/tmp/other.db"}, "section", "cannot be changed in the console"),
    ]
    for section, values, field, words in cases:
        with pytest.raises(InvalidInput) as caught:
            await service.change(section, values, by="mallory")
        assert caught.value.errors[0].field == field and words in caught.value.detail, (values, caught.value.detail)
    assert service.settings == before
    again = live(db, before)
    await again.load()
    assert again.changed("optout").changed_by == "alice"  # type: ignore[union-attr]
    assert again.changed("quiet_hours") is None


async def test_reset_returns_to_the_file_and_forgets_the_override(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, quiet_hours={"send_until": "19:00"})
    service = live(db, settings)
    await service.change("quiet_hours", {"send_until": "21:00", "holidays": False}, by="alice")
    await service.change("quiet_hours", {"send_until": "19:00"}, by="bob")  # the file's value again
    assert dict(service.changed("quiet_hours").values) == {"holidays": False}  # type: ignore[union-attr]
    await service.reset("quiet_hours", by="bob")
    assert service.settings.quiet_hours == settings.quiet_hours and service.changed("quiet_hours") is None
    again = live(db, settings)
    await again.load()
    assert again.settings.quiet_hours == settings.quiet_hours


async def test_an_override_a_newer_release_refuses_is_ignored_at_start(db: Database, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    async with db.write() as conn:
        await conn.execute("INSERT INTO setting_overrides VALUES ('quiet_hours', 'days', '[\"someday\"]', "
                           "'2026-01-01T00:00:00Z', 'alice')")
    settings = make_settings(tmp_path)
    service = live(db, settings)
    with caplog.at_level(logging.ERROR, logger="gatewayd.live_settings"):
        await service.load()
    assert service.settings.quiet_hours == settings.quiet_hours
    assert "[quiet_hours] ignored" in caplog.text and "days" in caplog.text


async def test_opening_the_window_in_the_console_lets_waiting_marketing_out(tmp_path: Path) -> None:
    clock = FakeClock(SUNDAY)
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, promo = await gw.post({"to": "+33612345678", "text": "soldes", "category": "marketing"})
        promo_id = promo["messages"][0]["id"]
        await settle(gw)
        assert (await gw.message(promo_id))["state"] == "queued"  # no marketing on Sundays (the file)
        days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        await gw.app[keys.LIVE_SETTINGS].change("quiet_hours", {"days": days}, by="alice")
        await gw.wait_state(promo_id, "delivered")  # no kick needed: the change wakes the dispatcher


async def test_a_stop_word_added_in_the_console_opts_out_from_the_next_sms(tmp_path: Path) -> None:
    async with gateway(tmp_path, clock=FakeClock(datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc))) as gw:
        service, live_settings = gw.app[keys.INBOUND], gw.app[keys.LIVE_SETTINGS]
        words = [*live_settings.settings.optout.stop_words, "basta"]
        await live_settings.change("optout", {"stop_words": words}, by="alice")
        now = gw.app[keys.CLOCK].now()
        await service.handle_sms(IncomingSms("line1", "+33611112222", "Basta !", now, None, "raw-basta"))
        async with gw.app[keys.DB].read() as conn:
            assert await optouts.opted_out_among(conn, ["+33611112222"]) == {"+33611112222"}


async def test_the_diagnostics_bundle_shows_the_effective_settings_and_who_changed_them(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        await gw.app[keys.LIVE_SETTINGS].change("quiet_hours", {"days": ["sat", "sun"]}, by="console alice")
        status, bundle = await gw.get("/api/v1/diagnostics")
        assert status == 200, bundle
        assert bundle["config"]["quiet_hours"]["days"] == ["sat", "sun"]
        change = bundle["config_changed_while_running"]["quiet_hours"]
        assert change["keys"] == ["days"] and change["changed_by"] == "console alice"
        assert "optout" not in bundle["config_changed_while_running"]


async def test_the_settings_api_reads_changes_and_resets_a_section(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections=QUIET) as gw:
        status, body = await gw.get("/api/v1/settings/quiet_hours")
        assert status == 200 and body["changed"] is None and body["values"] == body["file_values"]
        assert set(body["values"]) == {"enabled", "days", "send_from", "send_until", "holidays", "country",
                                       "subdivision"}
        resp = await gw.client.patch("/api/v1/settings/quiet_hours", json={"send_until": "21:00"}, headers=gw.auth)
        body = await resp.json()
        assert resp.status == 200, body
        assert body["values"]["send_until"] == "21:00:00" and body["file_values"]["send_until"] == "20:00:00"
        assert body["changed"]["keys"] == ["send_until"] and body["changed"]["changed_by"] == "api test"
        assert gw.app[keys.LIVE_SETTINGS].settings.quiet_hours.send_until == time(21)

        resp = await gw.client.patch("/api/v1/settings/optout", json={"scope": "all"}, headers=gw.auth)
        problem = await resp.json()
        assert resp.status == 422 and problem["errors"][0]["field"] == "scope", problem
        resp = await gw.client.patch("/api/v1/settings/optout", json={"stop_words": ["halte"]}, headers=gw.auth)
        assert resp.status == 422 and "STOP must stay a stop word" in (await resp.json())["detail"]
        resp = await gw.client.patch("/api/v1/settings/storage", json={"database": "/x"}, headers=gw.auth)
        assert resp.status == 404
        resp = await gw.client.patch("/api/v1/settings/quiet_hours", data=b"[1]", headers=gw.auth)
        assert resp.status == 422

        resp = await gw.client.delete("/api/v1/settings/quiet_hours", headers=gw.auth)
        body = await resp.json()
        assert resp.status == 200 and body["changed"] is None and body["values"] == body["file_values"]


async def test_the_settings_api_needs_the_admin_scope(tmp_path: Path) -> None:
    async with gateway(tmp_path, scopes=("send", "read")) as gw:
        resp = await gw.client.patch("/api/v1/settings/quiet_hours", json={"enabled": False}, headers=gw.auth)
        assert resp.status == 403
        assert gw.app[keys.LIVE_SETTINGS].changed("quiet_hours") is None
