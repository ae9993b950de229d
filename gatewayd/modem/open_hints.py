"""What to tell an administrator when a modem's port cannot be opened (the three usual causes)."""

from __future__ import annotations

import errno
from collections.abc import Sequence


def open_failure_hint(port: str, cause: BaseException | None, holders: Sequence[str] = ()) -> str:
    """One sentence after "cannot open PORT: …" saying what to check, from the OS error behind it.

    `holders` are the processes that have the port open ('pid name'), when known."""
    code = getattr(cause, "errno", None)
    text = str(cause or "").lower()
    if code in (errno.EACCES, errno.EPERM) or "permission denied" in text:
        return ("the daemon's user may not open it: it must be in the port's group (usually dialout: "
                "`id gatewayd`, `ls -l " + port + "`)")
    if code in (errno.EBUSY, errno.EAGAIN) or "lock" in text or "busy" in text:
        who = f" ({', '.join(holders)})" if holders else ""
        return (f"another program holds it{who}: ModemManager grabs modems unless the udev rules tell it "
                "not to (`systemctl stop ModemManager`, or `fuser -v " + port + "`)")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "no such file" in text:
        return "no such device: is the modem plugged in and powered? (`ls -l /dev/serial/by-id/ /dev/gatewayd/`)"
    return "check the cable and `gatewayd modem probe " + port + "`"
