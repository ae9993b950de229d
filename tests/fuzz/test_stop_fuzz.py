"""Fuzzing the STOP/START matcher (gatewayd/inbound/stop_words.py).

Properties: any text (every plane, control characters, huge) is answered without raising; a
stop word decorated the way people type it (any case, accents, punctuation, emoji, whitespace,
repeats, courtesy words around it) is a STOP; a sentence that contains a stop word *and* a word
of its own ("Don't stop, I'll be late") is not an opt-out, whichever stop word and wherever it
stands. Budgets: tests/fuzz/profiles.py.
"""

from __future__ import annotations

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from gatewayd.inbound.stop_words import (
    DEFAULT_IGNORE_WORDS,
    DEFAULT_START_WORDS,
    DEFAULT_STOP_WORDS,
    Intent,
    KeywordMatcher,
    fold,
)

from .profiles import budget

MATCHER = KeywordMatcher.build()
KEYWORDS = DEFAULT_STOP_WORDS + DEFAULT_START_WORDS
SQUASHED_KEYWORDS = {"".join(fold(k).split()) for k in KEYWORDS}
COURTESY = list(DEFAULT_IGNORE_WORDS)
ORDINARY = ["don't", "I'll", "be", "late", "the", "bus", "demain", "je", "pars", "à", "la", "gare", "arrête",
            "de", "m'appeler", "when", "does", "it", "ça", "va", "stopper", "stoppe", "arrêter", "fin", "d'ici",
            "2", "mardi", "rdv", "ok", "non", "pas", "bien", "reçu", "😀", "!!", "?"]


def _foreign(word: str) -> bool:
    """A word that cannot be part of any keyword: its folded letters appear in none of them."""
    tokens = fold(word).split()
    return bool(tokens) and all(not any(t in k for k in SQUASHED_KEYWORDS) for t in tokens) \
        and all(fold(word) != fold(c) for c in COURTESY)


# Characters that fold to nothing: punctuation, symbols, emoji, spaces (never letters or digits).
separators = st.characters(categories=["P", "S", "Z", "Cc"]).filter(
    lambda ch: not any(c.isalnum() for c in unicodedata.normalize("NFKD", ch)))
combining = st.characters(categories=["Mn"]).filter(lambda ch: unicodedata.combining(ch) > 0)


@st.composite
def decorated(draw: st.DrawFn, word: str) -> str:
    """`word` typed by a person: random case, accents, punctuation inside and around it."""
    out = []
    for ch in word:
        ch = ch.upper() if draw(st.booleans()) else ch.lower()
        out.append(ch + draw(st.text(alphabet=combining, max_size=1)))
        if draw(st.integers(0, 6)) == 0:
            out.append(draw(st.text(alphabet=separators, min_size=1, max_size=2)))
    return "".join(out)


@budget()
@given(st.text(max_size=300))
@example("\u0130STOP")  # 'İ' casefolds to two characters
@example("S\u0308T\u0327OP")
@example("ﬆop")  # a ligature that NFKD turns into letters
def test_any_text_is_answered(text: str) -> None:
    assert MATCHER.match(text) in (None, Intent.STOP, Intent.START)
    for keyword in ("STOP", "info", "ARRÊT"):
        assert MATCHER.is_keyword(text, keyword) in (True, False)


@budget()
@given(st.sampled_from(DEFAULT_STOP_WORDS), st.data())
@example("STOP", None)
def test_a_decorated_stop_word_is_a_stop(word: str, data: st.DataObject | None) -> None:
    if data is None:
        assert MATCHER.match("  Stop!!! 🙏 merci  ") is Intent.STOP
        return
    core = data.draw(decorated(word))
    repeats = data.draw(st.integers(1, 3))
    joiner = data.draw(st.text(alphabet=separators, min_size=1, max_size=3))
    before = data.draw(st.lists(st.sampled_from(COURTESY), max_size=2))
    after = data.draw(st.lists(st.sampled_from(COURTESY), max_size=2))
    pad = data.draw(st.text(alphabet=separators, max_size=3))
    text = pad + " ".join(before + [joiner.join([core] * repeats)] + after) + pad
    # Past 120 folded characters a text is never a bare keyword (the matcher's documented bound).
    assert MATCHER.match(text) is (Intent.STOP if len(fold(text)) <= 120 else None), text


def test_stop_words_with_repeats_and_courtesy_found_by_the_fuzzer() -> None:
    # Both were no opt-out: the trailing courtesy word 'sms' was stripped from the last repeat of
    # 'STOP SMS STOP SMS'; a shorter courtesy word ('merci') was stripped out of a longer one
    # ('merci beaucoup'), leaving 'beaucoup stop'.
    for text in ("STOP SMS STOP SMS", "merci, stop sms stop sms svp", "Opt out opt out",
                 "Merci beaucoup, merci beaucoup. STOP", "stop thank you thank you"):
        assert MATCHER.match(text) is Intent.STOP, text
    assert MATCHER.match("stop sms stop bus") is None


@budget()
@given(st.sampled_from(DEFAULT_STOP_WORDS), st.lists(st.one_of(st.sampled_from(ORDINARY), st.text(
    alphabet=st.characters(categories=["L"]), min_size=1, max_size=8)), min_size=1, max_size=6),
    st.integers(0, 6), st.data())
@example("STOP", ["don't", "I'll", "be", "late"], 1, None)
@example("ARRÊT", ["pas", "d'ici", "mardi"], 0, None)
@example("END", ["the", "of", "month"], 1, None)
def test_a_sentence_containing_a_stop_word_is_not_a_stop(
        word: str, words: list[str], at: int, data: st.DataObject | None) -> None:
    own = [w for w in words if _foreign(w)]
    if not own:
        words = [*words, "bus"]  # at least one word of its own, whatever was drawn
    cased = word if data is None else data.draw(decorated(word))
    sentence = words[:at] + [cased] + words[at:]
    text = " ".join(sentence)
    assert MATCHER.match(text) is None, text
    assert not MATCHER.is_keyword(text, word)
