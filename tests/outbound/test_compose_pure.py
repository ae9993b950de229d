"""The pure parts of the composition: GSM-7 look-alikes, template defaults, the finished text, and
that every problem code has its console wording in both languages."""

from __future__ import annotations

import string

from gatewayd.campaigns.templates import compile_template, render
from console import i18n
from gatewayd.modem.segments import count_segments
from gatewayd.modem.transliterate import transliterate
from gatewayd.outbound.compose import finish
from gatewayd.problems import ENGLISH

BLACK_FRIDAY = ("BLACK FRIDAY ! Jusqu’à -50 % sur toute la boutique : pulls, bottes, écharpes… "
                "Offre réservée à nos clients fidèles, valable du jeudi au dimanche inclus. "
                "Présentez ce SMS en caisse ou utilisez le code « BF2026 » sur notre site.")


def test_lookalikes_replace_only_what_gsm7_lacks_and_say_what_changed() -> None:
    done = transliterate("Noël à l’hôtel – œuvre « top »\u00a0! Ça ç")
    assert done.text == "Noel à l'hotel - oeuvre \" top \" ! Ça c"
    assert ("ë", "e", 1) in done.replaced and ("œ", "oe", 1) in done.replaced and ("ç", "c", 1) in done.replaced
    assert transliterate("Déjà vu, señor").text == "Déjà vu, señor" and not transliterate("Déjà vu").changed


def test_a_text_with_an_emoji_is_left_as_typed() -> None:
    done = transliterate("Bravo 🎉 à l’équipe")
    assert done.text == "Bravo 🎉 à l’équipe" and done.kept == ("🎉",) and not done.changed


def test_lookalikes_save_sms_on_a_french_promotion() -> None:
    before = count_segments(BLACK_FRIDAY)
    done = finish(BLACK_FRIDAY, marketing=False, mention="", transliterate=True)
    assert before.encoding == "UCS-2" and done.encoding == "GSM-7"
    assert done.segments_saved == before.segments - done.segments >= 1 and done.segments < before.segments


def test_the_mention_is_counted_and_never_doubled() -> None:
    text = "x" * 150
    done = finish(text, marketing=True, mention="STOP au 36111", transliterate=False)
    assert done.text == text + "\nSTOP au 36111" and done.segments == 2
    assert finish(done.text, marketing=True, mention="STOP au 36111", transliterate=False).text == done.text


def test_defaults_stand_in_for_missing_or_empty_values() -> None:
    t = compile_template("Bonjour {first_name|Madame, Monsieur}{sep|} {last_name}")
    assert render(t, {"last_name": "Durand"}).text == "Bonjour Madame, Monsieur Durand"
    assert render(t, {"first_name": "", "last_name": "D"}).missing == ()
    assert render(t, {"first_name": "Léa"}).missing == ("last_name",)


def test_every_problem_code_has_its_console_wording_with_the_same_values() -> None:
    for lang in ("fr", "en"):
        catalog = i18n.catalog(lang)
        for code, english in ENGLISH.items():
            key = f"problem.{code}"
            assert key in catalog, (lang, key)
            wanted = {name for _, name, _, _ in string.Formatter().parse(english) if name}
            got = {name for _, name, _, _ in string.Formatter().parse(catalog[key]) if name}
            assert got <= {n.split("!")[0] for n in wanted} | wanted, (lang, code, got, wanted)
