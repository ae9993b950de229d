"""Log lines carry journald priorities when, and only when, stderr is the journal (JOURNAL_STREAM)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewayd.logging_setup import setup_logging


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _log_through(path: Path, journal_stream: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream)
    with path.open("w") as stream:
        setup_logging("INFO", stream=stream)
        log = logging.getLogger("gatewayd.test")
        log.info("line1 ready, texting +33612345678")
        log.warning("signal weak")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("modem failed")
        log.debug("not shown at INFO")
        stream.flush()
    return path.read_text().splitlines()


def _identity(path: Path) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


def test_the_journal_gets_a_priority_on_every_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   restore_root_logger: None) -> None:
    path = tmp_path / "journal"
    path.touch()
    lines = _log_through(path, _identity(path), monkeypatch)
    assert lines[0] == "<6>INFO gatewayd.test: line1 ready, texting +336•••••678"
    assert lines[1] == "<4>WARNING gatewayd.test: signal weak"
    assert lines[2] == "<3>ERROR gatewayd.test: modem failed"
    # The traceback's lines are separate journal entries: each one keeps the error priority.
    assert len(lines) > 4 and all(line.startswith("<3>") for line in lines[2:])
    assert any("RuntimeError: boom" in line for line in lines)


def test_stderr_redirected_elsewhere_under_systemd_gets_no_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  restore_root_logger: None) -> None:
    other = tmp_path / "other"
    other.touch()
    lines = _log_through(tmp_path / "file.log", _identity(other), monkeypatch)
    assert lines[0] == "INFO gatewayd.test: line1 ready, texting +336•••••678"
    assert not any(line.startswith("<") for line in lines)
