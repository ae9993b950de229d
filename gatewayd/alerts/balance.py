"""The prepaid balance in an operator's USSD answer (pure).

French operators word it in many ways ("Votre solde est de 12,34 EUR", "Crédit : 5.00€",
"il vous reste 7,50 euros", the old Orange "12E34", "Solde principal 4.99EUR valable
jusqu'au 01/02/2027"). The amount we want is the money one next to a balance word; dates,
phone numbers, data allowances and minutes are not money and are skipped.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

# An amount with its currency: "12,34 EUR", "5.00€", "7,50 euros", "€ 3.20", or Orange's "12E34".
_AMOUNT = re.compile(
    r"(?P<before>€\s*)?(?P<int>\d{1,6})(?:[.,](?P<frac>\d{1,2}))?(?(before)|\s*(?P<cur>€|eur(?:os?)?\b))"
    r"|(?<![\w.,])(?P<oint>\d{1,5})E(?P<ofrac>\d{2})\b",
    re.IGNORECASE)
_BALANCE_WORDS = ("solde", "credit", "reste", "balance", "montant", "compte")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()


def parse_balance(answer: str | None) -> Decimal | None:
    """The balance in euros found in `answer`, or None when it says no amount."""
    if not answer:
        return None
    folded = _fold(answer)
    found: list[tuple[int, Decimal]] = []
    for m in _AMOUNT.finditer(answer):
        if m.group("oint") is not None:
            value = Decimal(f"{m.group('oint')}.{m.group('ofrac')}")
        else:
            frac = (m.group("frac") or "0").ljust(2, "0")
            value = Decimal(f"{m.group('int')}.{frac}")
        found.append((m.start(), value))
    if not found:
        return None
    # The first amount after a balance word; else the first amount (a bonus or price comes later).
    word_at = min((i for w in _BALANCE_WORDS if (i := folded.find(w)) >= 0), default=None)
    if word_at is not None:
        for start, value in found:
            if start >= word_at:
                return value
    return found[0][1]
