"""Both languages carry every message, with the same placeholders; formats follow the language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from console import i18n

CONSOLE = Path(i18n.__file__).parent
LITERAL_KEY = re.compile(r"""(?:\b_|\bt\(request,)\(?\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']\s*[),]""")
# Keys built at run time from a prefix and a value: every value the code can produce.
DYNAMIC = {
    "state": ("scheduled", "queued", "sending", "sent", "delivered", "failed", "expired", "blocked", "canceled",
              "unknown", "draft", "running", "paused", "completed"),
    "role": ("admin", "operator", "viewer"),
    "lang": ("fr", "en"),
    "line_state": ("disconnected", "opening", "initialising", "ready", "degraded"),
    "category": ("marketing", "transactional"),
    "chart": ("sent", "received"),
    "groups.op": ("eq", "ne", "contains", "prefix", "empty", "not_empty"),
    "import.state": ("uploaded", "analysed", "committed", "failed"),
    "import.step": ("upload", "analysis", "mapping", "groups", "optin", "confirm", "report"),
    "import.target": ("mobile", "last_name", "first_name", "email", "language"),
    "settings.scope": ("send", "read", "admin"),
    "campaigns.source": ("group", "contact", "number", "file"),
    "day": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    "intent": ("stop", "start", "auto-reply"),
    "optout_source": ("sms", "api", "console", "import", "call"),
    "optouts.action": ("out", "in"),
    "source": ("api", "console", "campaign", "reply", "auto-reply", "optout-confirm"),
    "stopwords.scope": ("marketing", "all"),
    "webhooks.state": ("pending", "delivered", "failed"),
}


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*CONSOLE.glob("templates/**/*.html"), *CONSOLE.glob("**/*.py")]:
        keys |= set(LITERAL_KEY.findall(path.read_text("utf-8")))
    for prefix, values in DYNAMIC.items():
        keys |= {f"{prefix}.{v}" for v in values}
    keys |= {f"campaigns.template_{lang}" for lang in ("default", "fr", "en")}
    from console.render import DONE_KEYS, NAV

    keys |= {f"done.{k}" for k in DONE_KEYS} | {key for key, _, _ in NAV}
    return keys


def test_both_languages_have_the_same_keys() -> None:
    fr, en = set(i18n.catalog("fr")), set(i18n.catalog("en"))
    assert fr - en == set(), "only in fr.json"
    assert en - fr == set(), "only in en.json"


def test_placeholders_agree_between_languages() -> None:
    fr, en = i18n.catalog("fr"), i18n.catalog("en")
    wrong = {k: (i18n.placeholders(en[k]), i18n.placeholders(fr[k])) for k in en
             if i18n.placeholders(en[k]) != i18n.placeholders(fr[k])}
    assert wrong == {}


def test_every_key_the_console_uses_exists() -> None:
    keys = used_keys()
    assert len(keys) > 300
    missing = sorted(k for k in keys if k not in i18n.catalog("en"))
    assert missing == []


# Words spelt the same in both languages.
SAME_IN_BOTH = {"Notifications"}


def test_no_text_is_left_untranslated_by_accident() -> None:
    fr, en = i18n.catalog("fr"), i18n.catalog("en")
    same = [k for k in en if fr[k] == en[k] and len(en[k]) > 12 and not en[k].startswith("{")
            and en[k] not in SAME_IN_BOTH]
    assert same == []


@pytest.mark.parametrize(("header", "expected"), [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"), ("en-GB,en;q=0.9", "en"), ("de-DE,de;q=0.9,en;q=0.5", "en"),
    ("de-DE", "fr"), ("", "fr"), ("en;q=0.2,fr;q=0.8", "fr"), ("fr;q=0,en", "en"), ("*", "fr"),
])
def test_language_negotiation(header: str, expected: str) -> None:
    assert i18n.negotiate(header, "fr") == expected


def test_formats_follow_language_zone_and_region() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    fr = i18n.Formats("fr", ZoneInfo("Europe/Paris"), "FR", now)
    en = i18n.Formats("en", ZoneInfo("America/New_York"), "FR", now)
    when = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert fr.datetime(when) == "02/03/2026 00:30"          # Paris is UTC+1 in March
    assert en.datetime(when) == "2026-03-01 18:30"
    assert fr.short(datetime(2026, 3, 10, 8, 5, tzinfo=UTC)) == "09:05"
    assert fr.integer(1234567) == "1\u202f234\u202f567" and en.integer(1234567) == "1,234,567"
    assert fr.phone("+33612345678") == "06 12 34 56 78"
    assert fr.phone("+447911123456") == "+44 7911 123456"     # another country: international form
    assert fr.phone("INFO") == "INFO"


def test_counted_messages_take_the_singular_each_language_uses() -> None:
    # French says "0 numéro ajouté" and "1 numéro ajouté"; English "1 number" but "0 numbers".
    assert i18n.translate_count("fr", "optouts.list_added", 0, n="0") == "0 numéro ajouté à la liste STOP."
    assert i18n.translate_count("fr", "optouts.list_added", 2, n="2") == "2 numéros ajoutés à la liste STOP."
    assert i18n.translate_count("en", "optouts.list_added", 1, n="1") == "1 number added to the STOP list."
    assert i18n.translate_count("en", "optouts.list_added", 0, n="0") == "0 numbers added to the STOP list."
    # A message without a singular form is used as it is.
    assert i18n.translate_count("en", "nav.sent", 1) == i18n.translate("en", "nav.sent")
