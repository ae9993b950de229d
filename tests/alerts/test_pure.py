"""Pure parts of the alerts: the balance parser on French operators' answers, the incident rules
(debounce, storage-full reports), the office-hours calendar, the wording, the e-mails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from gatewayd.alerts.balance import parse_balance
from gatewayd.alerts.forwarding import forward_email
from gatewayd.alerts.readiness import line_reasons
from gatewayd.alerts.rules import Snapshot, Tracker
from gatewayd.alerts.texts import KINDS, describe
from gatewayd.config import EmailSettings, OutOfHoursSettings, QuietHoursSettings
from gatewayd.email.sender import compose
from gatewayd.inbound.out_of_hours import OfficeHours
from gatewayd.modem.events import LineState, LineStatus
from gatewayd.store.alerts import ReceivedSms

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("answer", "amount"), [
    ("Votre solde est de 12,34 EUR.", "12.34"),                                   # SFR style
    ("Crédit : 5.00€ valable jusqu'au 01/02/2027", "5.00"),                        # date is no money
    ("Il vous reste 7,50 euros de crédit", "7.50"),
    ("Votre credit est de 12E34", "12.34"),                                       # Orange's old form
    ("Bonus 2,00 EUR. Solde principal 4.99EUR jusqu'au 31/12", "4.99"),           # the balance, not the bonus
    ("Solde: 0 EUR", "0.00"),
    ("Compte principal : € 3.2", "3.20"),
    ("Votre forfait: 100 Mo restants. Solde 1,5 €", "1.50"),                        # data is no money
])
def test_balance_read_from_french_operator_answers(answer: str, amount: str) -> None:
    assert parse_balance(answer) == Decimal(amount)


@pytest.mark.parametrize("answer", [None, "", "Tapez 1 pour 20 SMS", "Appelez le 0612345678",
                                    "Service indisponible", "Forfait 2 Go jusqu'au 05/03"])
def test_no_amount_is_made_up(answer: str | None) -> None:
    assert parse_balance(answer) is None


def _line(state: LineState = LineState.READY, *, registered: bool = True, used: int | None = 3,
          total: int | None = 30, reports: int = 0) -> LineStatus:
    extra = {"storage_full_reports": str(reports)} if reports else {}
    return LineStatus("line1", "/dev/x", state, registered=registered, storage_used=used, storage_total=total,
                      extra=extra)


def test_a_line_is_down_only_after_the_delay_and_a_blink_raises_nothing() -> None:
    tracker = Tracker(down_after=60, disk_low_bytes=0)
    assert tracker.evaluate(Snapshot(T0, (_line(LineState.DISCONNECTED),))) == []
    assert tracker.evaluate(Snapshot(T0 + timedelta(seconds=59), (_line(LineState.OPENING),))) == []
    # Back for a moment: the count starts again.
    assert tracker.evaluate(Snapshot(T0 + timedelta(seconds=59.5), (_line(),))) == []
    assert tracker.evaluate(Snapshot(T0 + timedelta(seconds=100), (_line(LineState.DISCONNECTED),))) == []
    (down,) = tracker.evaluate(Snapshot(T0 + timedelta(seconds=160), (_line(LineState.DISCONNECTED),)))
    assert (down.kind, down.subject, down.params["seconds"], down.params["reason"]) == (
        "line_down", "line1", 60, "disconnected")


def test_off_the_network_is_registration_lost_not_down() -> None:
    tracker = Tracker(down_after=0, disk_low_bytes=0)
    (cond,) = tracker.evaluate(Snapshot(T0, (_line(LineState.DEGRADED, registered=False),)))
    assert cond.kind == "registration_lost"


def test_storage_full_report_counts_once_then_room_resolves() -> None:
    tracker = Tracker(down_after=60, disk_low_bytes=0)
    assert tracker.evaluate(Snapshot(T0, (_line(),))) == []
    # The modem reported it and the sweep already made room: still one storage_full condition...
    assert [c.kind for c in tracker.evaluate(Snapshot(T0, (_line(reports=1),)))] == ["storage_full"]
    # ...then none (resolved), and the same report seen again is not a new one.
    assert tracker.evaluate(Snapshot(T0, (_line(reports=1),))) == []
    assert [c.kind for c in tracker.evaluate(Snapshot(T0, (_line(used=30, reports=1),)))] == ["storage_full"]
    assert [c.kind for c in tracker.evaluate(Snapshot(T0, (_line(reports=2),)))] == ["storage_full"]


def test_disk_low_and_database_unwritable() -> None:
    tracker = Tracker(down_after=60, disk_low_bytes=200_000_000)
    conds = tracker.evaluate(Snapshot(T0, (), free_bytes=150_000_000, write_error="disk I/O error"))
    assert {c.kind: c.params for c in conds} == {
        "database_unwritable": {"reason": "disk I/O error"}, "disk_low": {"free_mb": 150, "threshold_mb": 200}}
    assert tracker.evaluate(Snapshot(T0, (), free_bytes=250_000_000)) == []


def test_readiness_reasons_name_each_line() -> None:
    assert line_reasons([]) == ["no line is configured"]
    assert line_reasons([_line()]) == []
    assert line_reasons([_line(LineState.DISCONNECTED), _line(LineState.DEGRADED, registered=False)]) == [
        "no line can send (line1: disconnected, line1: degraded, not registered)"]


def test_every_alert_is_worded_in_both_languages_without_leftover_placeholders() -> None:
    params = {"line": "line1", "seconds": 60, "reason": "disconnected", "used": 30, "total": 30, "name": "Soldes",
              "free_mb": 10, "threshold_mb": 200, "amount": "1.20", "threshold": "5.00", "campaign_id": 1}
    for kind in KINDS:
        for lang in ("fr", "en"):
            for phase in ("opened", "reminder", "resolved"):
                words = describe(kind, params, lang, phase)
                assert "{" not in words.text and words.subject.startswith("[gatewayd] "), (kind, lang, words)
    assert describe("line_down", params, "fr").subject.startswith("[gatewayd] ALERTE: La ligne line1")
    assert "débranché" in describe("line_down", params, "fr").text
    # A campaign name with braces is shown as it is, never interpreted.
    assert describe("campaign_completed", {"name": "{line} x"}, "en").text == 'Campaign "{line} x" is finished.'


def _office(**kw: object) -> OfficeHours:
    ooh = OutOfHoursSettings(enabled=True, text="Fermé", **kw)  # type: ignore[arg-type]
    return OfficeHours.from_settings(ooh, QuietHoursSettings(), "Europe/Paris")


def _paris(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo("Europe/Paris"))


def test_office_hours_closed_periods_start_at_the_last_closing_time() -> None:
    office = _office()
    assert office.closed_since(_paris(2026, 3, 4, 10)) is None                           # Wednesday 10:00
    # Wednesday 19:00 → closed since Wednesday 18:00; Thursday 07:00 → the same period.
    assert office.closed_since(_paris(2026, 3, 4, 19)) == _paris(2026, 3, 4, 18)
    assert office.closed_since(_paris(2026, 3, 5, 7)) == _paris(2026, 3, 4, 18)
    # Weekend: one period from Friday 18:00 to Monday 09:00.
    assert office.closed_since(_paris(2026, 3, 8, 12)) == _paris(2026, 3, 6, 18)
    # 1 May 2026 (Friday) is a public holiday in France: closed all day, since Thursday 18:00.
    assert office.closed_since(_paris(2026, 5, 1, 11)) == _paris(2026, 4, 30, 18)
    assert _office(holidays=False).closed_since(_paris(2026, 5, 1, 11)) is None


def test_forwarded_sms_email_names_sender_contact_line_and_local_time() -> None:
    sms = ReceivedSms(7, "line2", "+33611122233", "Léa Martin", "Bonjour", datetime(2026, 7, 14, 8, 5, tzinfo=UTC))
    subject, body = forward_email(sms, "fr", ZoneInfo("Europe/Paris"))
    assert subject == "SMS de Léa Martin (+33611122233) sur line2"
    assert body == ("De: Léa Martin (+33611122233)\nLigne: line2\nReçu le: 14/07/2026 à 10:05:00 (Europe/Paris)"
                    "\n\nBonjour\n")
    subject, body = forward_email(ReceivedSms(8, "line1", "SHOP", None, "", sms.received_at), "en", ZoneInfo("UTC"))
    assert subject == "SMS from SHOP on line1" and "(empty or unreadable message)" in body


def test_email_subject_cannot_inject_headers() -> None:
    msg = compose(EmailSettings(host="x"), ["a@example.test"], "SMS de +336\r\nBcc: victim@example.test",
                  "body", T0)
    raw = msg.as_string()
    assert "\nBcc:" not in raw and msg["Subject"] == "SMS de +336 Bcc: victim@example.test"
    assert msg["Auto-Submitted"] == "auto-generated"


def test_email_password_comes_from_its_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "smtp.pass"
    secret.write_text("s3cr3t\n")
    settings = EmailSettings(host="smtp.example.test", username="box", password_file=str(secret))
    assert settings.password == "s3cr3t" and "s3cr3t" not in repr(settings.model_dump())
    with pytest.raises(ValueError, match="password_file"):
        EmailSettings(host="x", username="box", password_file=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="give the password in password_file"):
        EmailSettings(host="x", username="box")



def test_a_line_not_answering_or_on_another_sim_is_down_with_its_reason() -> None:
    tracker = Tracker(down_after=0, disk_low_bytes=0)
    hung = LineStatus("line1", "/dev/x", LineState.DEGRADED, registered=True, last_error="not answering: AT timeout")
    (cond,) = tracker.evaluate(Snapshot(T0, (hung,)))
    assert (cond.kind, cond.params["reason"]) == ("line_down", "not answering: AT timeout")
    swapped = LineStatus("line2", "/dev/y", LineState.READY, registered=True, sim_mismatch="SIM changed")
    (cond,) = tracker.evaluate(Snapshot(T0, (swapped,)))
    assert (cond.kind, cond.params["reason"]) == ("line_down", "SIM changed")
    assert describe("line_down", {"line": "line1", "seconds": 60, "reason": "not answering: AT timeout"},
                    "en").text == "Line line1 has not been able to send for 60 s (not answering: AT timeout)."
