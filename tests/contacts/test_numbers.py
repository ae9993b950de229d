"""Number repair (pure): what spreadsheets do to phone numbers, and the fast path's agreement with libphonenumber."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.contacts.analysis import looks_like_header, propose_mapping
from gatewayd.contacts.numbers import check_number
from gatewayd.phone import InvalidNumber, normalise


@pytest.mark.parametrize(("raw", "e164", "repair"), [
    ("06 12 34 56 78", "+33612345678", None),
    ("06.12.34.56.78", "+33612345678", None),
    ("+33 (0)6 12 34 56 78", "+33612345678", None),  # the (0) of business cards
    ("612345678", "+33612345678", "leading 0 restored"),
    ("612345678.0", "+33612345678", "decimal '.0' removed, leading 0 restored"),
    ("6.12345678E8", "+33612345678", "scientific notation, leading 0 restored"),
    ("6,12345678E+08", "+33612345678", "scientific notation, leading 0 restored"),
    ("33612345678", "+33612345678", "'+' added before the country code"),
    ("0033612345678", "+33612345678", None),
    ("447911123456", "+447911123456", "'+' added before the country code"),
    ("'+33612345678", "+33612345678", None),          # our own neutralised CSV export, re-imported
])
def test_repairs(raw: str, e164: str | None, repair: str | None) -> None:
    check = check_number(raw, "FR")
    assert check.e164 == e164
    if e164 is not None:
        assert check.repair == repair
    else:
        assert check.reason


@pytest.mark.parametrize(("raw", "reason"), [
    ("6.0101E8", "lost digits"),
    ("", "empty"),
    ("abc", "not a phone number"),
    ("12345", ""),
])
def test_refusals_say_why(raw: str, reason: str) -> None:
    check = check_number(raw, "FR")
    assert check.e164 is None and reason in (check.reason or "")


mobile_like = st.builds(lambda p, d: p + d, st.sampled_from(["0", "06", "07", "+336", "+337", "+33", "6", "7", "336"]),
                        st.text(alphabet="0123456789", min_size=6, max_size=11))


@settings(max_examples=400, deadline=None)
@given(mobile_like, st.sampled_from(["FR", "BE", "DE", "GB", "CH"]))
def test_fast_path_agrees_with_libphonenumber(raw: str, region: str) -> None:
    """Whatever check_number accepts without a repair, libphonenumber accepts as the same number."""
    check = check_number(raw, region)
    if check.e164 is not None and check.repair is None:
        assert normalise(raw, region) == check.e164
    if check.e164 is None and (raw.startswith(("0", "+"))):
        with pytest.raises(InvalidNumber):
            normalise(raw, region)


def test_header_detection_and_mapping() -> None:
    assert looks_like_header(["Nom", "Prénom", "Tél."], "FR")
    assert not looks_like_header(["Dupont", "Jean", "0612345678"], "FR")
    proposal = propose_mapping(["Téléphone", "Portable", "E-mail", "Name", "Langue", *[f"F{i}" for i in range(25)]],
                               existing_fields=["f0"])
    assert proposal.mapping[:5] == ("field:telephone", "mobile", "email", "last_name", "language")
    assert proposal.mapping[5] == "field:f0"                       # an existing field, reused
    assert len([m for m in proposal.mapping if m.startswith("field:")]) == 20
    assert proposal.beyond_limit == tuple(f"F{i}" for i in range(19, 25))
