"""Settings › Quiet hours and Settings › STOP words: an administrator changes them in the console,
they apply at once, the page says who changed them, and "back to the configuration file" undoes it."""

from __future__ import annotations

from datetime import time

from gatewayd import keys
from gatewayd.store import setting_overrides

from .conftest import Console, add_user

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def quiet_form(days: list[str], start: str, end: str, *, holidays: bool = True, country: str = "fr",
               action: str = "save") -> list[tuple[str, str]]:
    form = [("enabled", "on"), *[("days", d) for d in days], ("send_from", start), ("send_until", end),
            ("country", country), ("subdivision", ""), ("action", action)]
    return form + [("holidays", "on")] if holidays else form


async def test_an_administrator_changes_the_quiet_hours_and_resets_them(admin: Console) -> None:
    live = admin.app[keys.LIVE_SETTINGS]
    status, body = await admin.get("/settings/quiet-hours")
    assert status == 200 and "Valeurs du fichier de configuration ([quiet_hours])" in body
    status, body, resp = await admin.post("/settings/quiet-hours", quiet_form(WEEK, "09:00", "21:00", holidays=False))
    assert status == 303, body
    assert resp.headers["Location"].startswith("/settings/quiet-hours")
    q = live.settings.quiet_hours
    assert (q.days, q.send_from, q.send_until, q.holidays, q.country) == (WEEK, time(9), time(21), False, "FR")
    stored = await setting_overrides.load(admin.app[keys.DB])
    assert stored["quiet_hours"].changed_by == "console admin"
    assert set(stored["quiet_hours"].values) == {"days", "send_from", "send_until", "holidays"}

    status, body = await admin.get("/settings/quiet-hours")
    assert "Modifié dans la console par admin" in body and 'value="21:00"' in body
    assert "Revenir au fichier de configuration" in body
    status, body, _ = await admin.post("/settings/quiet-hours", quiet_form(WEEK, "09:00", "21:00", action="reset"))
    assert status == 303
    assert live.settings.quiet_hours == live.file.quiet_hours
    assert await setting_overrides.load(admin.app[keys.DB]) == {}


async def test_a_window_ending_before_it_starts_is_refused_in_french(admin: Console) -> None:
    await admin.get("/settings/quiet-hours")
    before = admin.app[keys.LIVE_SETTINGS].settings
    status, body, _ = await admin.post("/settings/quiet-hours", quiet_form(["mon"], "21:00", "09:00"))
    assert status == 422
    assert "la fin de la fenêtre doit être après son début" in body
    assert 'value="21:00"' in body  # what was typed is shown again, to correct it
    status, body, _ = await admin.post("/settings/quiet-hours", quiet_form(["mon"], "08:00", "20:00", country="ZZ"))
    assert status == 422 and "pas de calendrier des jours fériés pour ZZ/" in body
    assert admin.app[keys.LIVE_SETTINGS].settings == before
    assert await setting_overrides.load(admin.app[keys.DB]) == {}


async def test_stop_words_and_replies_are_changed_and_shown_escaped(admin: Console) -> None:
    live = admin.app[keys.LIVE_SETTINGS]
    status, body = await admin.get("/settings/stop-words")
    assert status == 200 and "Valeurs du fichier de configuration ([optout])" in body
    form = {"stop_words": "STOP\nArrêt, basta", "start_words": "START\nbasta", "ignore_words": "svp",
            "confirm_text": "", "resubscribe_text": "", "action": "save"}
    status, body, _ = await admin.post("/settings/stop-words", form)
    assert status == 422 and "« basta » est à la fois un mot STOP et un mot START" in body
    assert live.changed("optout") is None

    form.update(start_words="START\nreprendre", confirm_text="<script>alert(1)</script> Vous êtes désinscrit.")
    status, body, _ = await admin.post("/settings/stop-words", form)
    assert status == 303, body
    o = live.settings.optout
    assert o.stop_words == ("STOP", "Arrêt", "basta") and o.start_words == ("START", "reprendre")
    assert o.ignore_words == ("svp",) and o.confirm_text.startswith("<script>")
    assert admin.app[keys.INBOUND].matcher.match("BASTA !") is not None  # applied to inbound at once
    status, body = await admin.get("/settings/stop-words")
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Modifié dans la console par admin" in body


async def test_only_administrators_change_settings(console: Console) -> None:
    await add_user(console, "admin", "admin")
    await add_user(console, "olga", "operator")
    await console.login("olga")
    await console.get("/")
    status, _, _ = await console.post("/settings/quiet-hours", quiet_form(WEEK, "00:00", "23:59"))
    assert status == 403
    assert console.app[keys.LIVE_SETTINGS].changed("quiet_hours") is None


async def test_a_change_made_through_the_api_says_so(admin: Console) -> None:
    await admin.app[keys.LIVE_SETTINGS].change("quiet_hours", {"send_until": "19:00"}, by="api erp")
    status, body = await admin.get("/settings/quiet-hours")
    assert status == 200, body
    assert "Modifié par l&#39;API (clé « erp »)" in body, body[body.find("live-origin") - 100:body.find("live-origin") + 300]
    assert 'value="19:00"' in body
