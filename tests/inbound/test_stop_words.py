"""The STOP/START matcher on a large table of variants and ordinary sentences."""

from __future__ import annotations

import pytest

from gatewayd.inbound.stop_words import (
    DEFAULT_START_WORDS,
    DEFAULT_STOP_WORDS,
    Intent,
    KeywordMatcher,
    fold,
)

MATCHER = KeywordMatcher.build()

STOPS = [
    "STOP", "stop", "Stop", "Stop.", "STOP!!!", " stop ", "\tSTOP\n", "stop sms", "STOP SMS", "Stop SMS.",
    "sms stop", "stop svp", "Stop, merci", "STOP merci beaucoup", "stop please", "Stop pls", "stop thanks",
    "Stop thank you", "Bonjour, stop", "bonjour STOP merci", "STOP STOP", "stop stop stop", "STOP!!! STOP!!!",
    "stop s'il vous plaît", "Stop s’il vous plait", "stop stp", "STOP ALL", "stop all", "STOPALL", "stopall",
    "Stop-all", "ARRET", "arret", "ARRÊT", "arrêt", "Arrêt.", "arret svp", "ARRÊT SVP !", "arrêt merci",
    "DESABONNER", "désabonner", "Désabonner svp", "DÉSABONNEMENT", "desabonnement", "Désabonnement merci",
    "DESINSCRIPTION", "désinscription", "Désinscription.", "UNSUBSCRIBE", "unsubscribe", "Unsubscribe me",
    "unsubscribe please", "END", "end", "End.", "QUIT", "quit", "CANCEL", "cancel", "Cancel!", "OPT OUT",
    "opt out", "opt-out", "Opt-Out", "optout", "OPTOUT", "REVOKE", "revoke", "stop 🙏", "🛑 STOP 🛑",
    "«STOP»", "\"stop\"", "(stop)", "stop…", "S T O P", "ＳＴＯＰ", "stop\u00a0", "\u200bstop",
    "stop msg", "STOP message", "Stop moi", "stop!!!!!!!!!!!!!!!!!", "-- STOP --", "stop ?",
]

STARTS = [
    "START", "start", "Start.", " start ", "START!!!", "start svp", "start please", "UNSTOP", "unstop",
    "un-stop", "YES", "yes", "Yes!", "yes please", "OUI", "oui", "Oui.", "oui merci", "ABONNER", "abonner",
    "Abonner svp", "START START",
]

ORDINARY = [
    "", "   ", "!!!", "🛑", "merci", "svp", "Merci beaucoup", "sms", "Don't stop, I'll be late",
    "Can you stop by tomorrow?", "stop by later", "Please stop calling me at work", "Non-stop",
    "nonstop", "stopper", "Stoppez", "stops", "bus stop", "I will stop", "Arrête de m'écrire",
    "je veux arrêter", "L'arrêt de bus", "arrêt de bus", "arret maladie", "Merci de ne plus m'envoyer",
    "The end", "end of the meeting", "In the end yes", "quit smoking", "cancel my appointment",
    "Cancel the order please", "I want to cancel", "revoke access", "opt", "out", "stopa", "sto p p",
    "starter", "restart", "yes i will come", "Oui je viendrai", "oui mais non", "Yes and no",
    "abonnement", "STOP en majuscules dans une phrase", "stop 36180", "12345", "ok", "no", "non",
    "STOP" + " x" * 70, "stop " * 40 + "now",
]


@pytest.mark.parametrize("text", STOPS)
def test_stop_variants(text: str) -> None:
    assert MATCHER.match(text) is Intent.STOP, text


@pytest.mark.parametrize("text", STARTS)
def test_start_variants(text: str) -> None:
    assert MATCHER.match(text) is Intent.START, text


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_are_not_keywords(text: str) -> None:
    assert MATCHER.match(text) is None, text


@pytest.mark.parametrize("word", DEFAULT_STOP_WORDS)
def test_every_default_stop_word_matches_itself_in_any_case(word: str) -> None:
    assert MATCHER.match(word) is Intent.STOP
    assert MATCHER.match(word.lower() + " !") is Intent.STOP
    assert MATCHER.match(f"Bonjour, je dis {word}") is None


@pytest.mark.parametrize("word", DEFAULT_START_WORDS)
def test_every_default_start_word_matches_itself(word: str) -> None:
    assert MATCHER.match(word.title() + ".") is Intent.START


def test_fold_removes_case_accents_and_punctuation() -> None:
    assert fold("  ARRÊT, S'il Vous Plaît !! ") == "arret s il vous plait"
    assert fold("Désabonnement") == "desabonnement"
    assert fold("...") == ""


def test_configured_lists_replace_the_defaults() -> None:
    custom = KeywordMatcher.build(stop_words=["HALT", "Ne plus recevoir"], start_words=["GO"], ignore_words=["bitte"])
    assert custom.match("halt bitte") is Intent.STOP
    assert custom.match("ne plus recevoir!") is Intent.STOP
    assert custom.match("go") is Intent.START
    assert custom.match("STOP") is None
    assert custom.match("halt svp") is None  # "svp" is no longer a courtesy word


def test_a_word_in_both_lists_is_refused() -> None:
    # Ambiguous: the configuration (file or console) is refused, naming the word, rather than guessed.
    with pytest.raises(ValueError, match="'end' is both a stop word and a start word"):
        KeywordMatcher.build(stop_words=["END"], start_words=["End", "GO"])
    with pytest.raises(ValueError, match="'optout'"):
        KeywordMatcher.build(stop_words=["opt-out"], start_words=["OPT OUT"])


def test_empty_keyword_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="'!!'"):
        KeywordMatcher.build(stop_words=["STOP", "!!"])


@pytest.mark.parametrize(("text", "keyword", "expected"), [
    ("INFO", "info", True), ("info svp", "INFO", True), ("Horaires ?", "HORAIRES", True),
    ("horaires d'ouverture", "HORAIRES", False), ("information", "INFO", False), ("", "INFO", False),
])
def test_is_keyword_for_auto_replies(text: str, keyword: str, expected: bool) -> None:
    assert MATCHER.is_keyword(text, keyword) is expected


def test_example_config_documents_the_default_lists_and_settings_validate_them() -> None:
    import tomllib
    from pathlib import Path

    from gatewayd.config import Settings
    from gatewayd.inbound.stop_words import DEFAULT_IGNORE_WORDS

    example = tomllib.loads((Path(__file__).parents[2] / "config" / "gatewayd.example.toml").read_text("utf-8"))
    assert tuple(example["optout"]["stop_words"]) == DEFAULT_STOP_WORDS
    assert tuple(example["optout"]["start_words"]) == DEFAULT_START_WORDS
    assert tuple(example["optout"]["ignore_words"]) == DEFAULT_IGNORE_WORDS
    with pytest.raises(ValueError, match="stop word '...' has no letters"):
        Settings(optout={"stop_words": ["STOP", "..."]})
