"""Pure rules for received SMS parts: sender normalisation, duplicate keys, reassembly text."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gatewayd.clock import utc_iso
from gatewayd.phone import InvalidNumber, normalise


@dataclass(frozen=True)
class PartText:
    """What reassembly needs of one received part."""

    text: str
    undecodable: str | None = None


def normalise_sender(raw: str, region: str) -> str:
    """E.164 for a phone number (so opt-outs match outbound's recipients); anything else as given.

    Short codes ("36180") and alphanumeric senders ("Orange") are not dialable numbers: they keep
    their own spelling so the thread still shows who wrote."""
    text = raw.strip()
    digits = text.removeprefix("+")
    if not digits or not digits.isdigit():
        return text
    try:
        return normalise(text, region)
    except InvalidNumber:
        return text


def is_dialable(number: str) -> bool:
    """Whether an SMS can be sent back to `number` (E.164 as produced by normalise_sender)."""
    return number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16


def dedup_key(*, line: str, sender: str, smsc_time: datetime | None, concat: tuple[int, int, int] | None,
              text: str, pdu: str, slot: str | None = None) -> str:
    """Identity of one received part: the same stored part read twice gets the same key.

    A part read from modem storage is identified by its slot and its exact bytes: only a re-read of
    that very slot (committed, then the daemon stopped before deleting it) is a duplicate. Two SMS
    alike to the byte (an alarm panel sending twice in one second) sit in two slots, or in one slot
    one after the other once the first was deleted (store.inbound.release_key), so both are kept.
    A part delivered directly (no slot) falls back to its content: sender + SMSC timestamp +
    concatenation ref/total/part + text, or the raw PDU when it has no timestamp (undecodable)."""
    if slot is not None:
        basis: list[object] = ["slot", line, slot, pdu.strip().upper()]
    elif smsc_time is None:
        basis = ["raw", line, pdu.strip().upper()]
    else:
        basis = ["v1", line, sender, utc_iso(smsc_time), *(concat or (None, None, None)), text]
    return hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode()).hexdigest()


def missing_marker(seq: int, total: int) -> str:
    return f"[part {seq}/{total} missing]"


def undecodable_marker(seq: int, total: int) -> str:
    return f"[part {seq}/{total} undecodable]"


def assemble(parts: Mapping[int, PartText], total: int) -> tuple[str, tuple[int, ...]]:
    """The text of a long message from its parts by number, with a visible marker where a part
    is missing (or could not be decoded); also the numbers of the missing parts."""
    pieces: list[str] = []
    missing: list[int] = []
    for seq in range(1, total + 1):
        part = parts.get(seq)
        if part is None:
            pieces.append(missing_marker(seq, total))
            missing.append(seq)
        elif part.undecodable and not part.text:
            pieces.append(undecodable_marker(seq, total))
        else:
            pieces.append(part.text)
    return "".join(pieces), tuple(missing)


def number_prefixes(query: str, region: str) -> tuple[str, ...]:
    """What a typed number fragment looks like at the start of stored numbers.

    "06 12" → "+33612" (national trunk 0 in `region`), "0033 6" → "+336", "+4477" as is, "3618"
    → "+3618" or the short code "3618"; a sender name ("MaBanque") is its own prefix."""
    import phonenumbers

    text = query.strip()
    compact = "".join(ch for ch in text if ch not in " .-()/")
    if not compact:
        return ()
    if not compact.lstrip("+").isdigit():
        return (text,)
    if len(compact) >= 8:
        # A whole number in any national or international form ("+33 (0)6 12…", "0033 6…") is
        # read by the phone module, so every way of writing it finds the same stored number.
        try:
            return (normalise(text, region),)
        except InvalidNumber:
            pass
    if compact.startswith("+"):
        return (compact,)
    if compact.startswith("00"):
        return ("+" + compact[2:],)
    if compact.startswith("0"):
        return (f"+{phonenumbers.country_code_for_region(region)}{compact[1:]}",)
    return ("+" + compact, compact)
