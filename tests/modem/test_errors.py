"""The CMS/CME table and the mapping of AT+CMGS errors to SendError subclasses."""

from __future__ import annotations

import pytest

from gatewayd.modem.errors import (
    CommandError,
    ModemError,
    PermanentSendError,
    SendError,
    TransientSendError,
    lookup_cme,
    lookup_cms,
    send_error_from,
)


@pytest.mark.parametrize("code", [38, 41, 42, 47, 331, 332, 314])
def test_transient_cms(code: int) -> None:
    assert lookup_cms(code).transient


@pytest.mark.parametrize("code", [1, 21, 28, 29, 30, 50, 304, 330])
def test_permanent_cms(code: int) -> None:
    info = lookup_cms(code)
    assert not info.transient and info.max_retries == 0


def test_special_codes() -> None:
    assert lookup_cms(500).transient and lookup_cms(500).max_retries == 2
    assert lookup_cms(322).name == "memory full"
    assert lookup_cme(16).name == "incorrect password" and not lookup_cme(16).transient
    assert lookup_cme(14).transient  # SIM busy
    unknown = lookup_cms(9999)
    assert not unknown.transient and "9999" in unknown.name


def test_send_error_mapping() -> None:
    transient = send_error_from(CommandError("AT+CMGS=20", "CMS", 42))
    assert isinstance(transient, TransientSendError) and transient.code == 42
    assert "congestion" in transient.reason
    permanent = send_error_from(CommandError("AT+CMGS=20", "CMS", 21))
    assert isinstance(permanent, PermanentSendError) and permanent.code == 21
    bare = send_error_from(CommandError("AT+CMGS=20", "ERROR", None))
    assert isinstance(bare, TransientSendError) and bare.max_retries == 2
    assert all(isinstance(e, (SendError, ModemError)) for e in (transient, permanent, bare))


def test_command_error_text() -> None:
    err = CommandError("AT+CPIN?", "CME", None, "SIM busy")
    assert err.info is None and "SIM busy" in str(err)
    assert CommandError("AT+CMGR=1", "CMS", 321).info == lookup_cms(321)
