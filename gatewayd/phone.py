"""Phone numbers: E.164 normalisation (libphonenumber) and masking for logs."""

from __future__ import annotations

import phonenumbers

from gatewayd.problems import CodedValueError, coded


class InvalidNumber(CodedValueError):
    """A phone number that cannot be used as an SMS destination: code `phone.invalid` with the
    number and the reason (a `phone.*` problem); str() is its English."""

    def __init__(self, number: str, reason: str) -> None:
        super().__init__("phone.invalid", number=number, reason=coded(reason))

    @property
    def reason(self) -> str:
        """The reason's code (`phone.too_short`…)."""
        return str(self.problem.params["reason"]["code"])


_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "phone.unknown_country",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "phone.not_a_number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "phone.too_short_after_prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "phone.too_short",
    phonenumbers.NumberParseException.TOO_LONG: "phone.too_long",
}


def normalise(raw: str, region: str = "FR") -> str:
    """Return `raw` as E.164 ('+33612345678'), reading national numbers in `region`."""
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber(text, "phone.empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(raw.strip(), _REASONS.get(exc.error_type, "phone.not_a_number")) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(raw.strip(), "phone.wrong_length")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(raw.strip(), "phone.not_valid_for_country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Number types that never get an automatic SMS: they cost money (premium rate, shared cost), feed
# fraud (satellite and personal numbers are VoIP/personal here), or cannot read it (fixed lines).
NOT_MOBILE = frozenset({
    phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER, phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN, phonenumbers.PhoneNumberType.VOICEMAIL,
    phonenumbers.PhoneNumberType.FIXED_LINE,
})


def could_be_mobile(e164: str) -> bool:
    """False when libphonenumber knows the number is not a mobile line (premium rate, shared cost,
    VoIP, fixed…). A number of a range it does not know (the fiction ranges of a numbering plan, a
    range opened after this release) is not refused for it: the destination rule still applies."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False
    return kind not in NOT_MOBILE


def in_destinations(e164: str, allowed: list[str]) -> bool:
    """Whether an E.164 number is in `allowed` (ISO regions "FR" or calling codes "+33"; empty: any)."""
    if not allowed:
        return True
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    code = parsed.country_code
    if code is None:  # parse() of a '+' number always sets it; without one, no destination can match
        return False
    # A number of a range libphonenumber does not know has no region of its own: its country's.
    region = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(code) or ""
    return region in allowed or f"+{code}" in allowed


def national(e164: str) -> str:
    """National display format ('06 12 34 56 78'), or the input when it cannot be parsed."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def mask(number: str | None) -> str:
    """Partly hidden number for INFO logs: '+336•••••678'."""
    if not number:
        return "?"
    if len(number) <= 6:
        return number[:1] + "•" * (len(number) - 1)
    return number[:4] + "•" * (len(number) - 7) + number[-3:]
