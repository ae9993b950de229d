"""Delivery reports (pure): TP-ST meanings and folding per-part reports into one message state."""

from __future__ import annotations

from collections.abc import Sequence

# TS 23.040 §9.2.3.15, the values operators actually send.
_STATUS_TEXT = {
    0x00: "received by the recipient",
    0x01: "forwarded, delivery not confirmed",
    0x02: "replaced by the service centre",
    0x20: "congestion, still trying",
    0x21: "recipient busy, still trying",
    0x22: "no response from the recipient, still trying",
    0x23: "service rejected, still trying",
    0x24: "quality of service not available, still trying",
    0x25: "error in the recipient's phone, still trying",
    0x40: "remote procedure error",
    0x41: "incompatible destination",
    0x42: "connection rejected by the recipient",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "validity period expired",
    0x47: "deleted by the sender",
    0x48: "deleted by the service centre",
    0x49: "message does not exist",
    0x60: "congestion, given up",
    0x61: "recipient busy, given up",
    0x62: "no response from the recipient, given up",
    0x63: "service rejected, given up",
    0x64: "quality of service not available, given up",
    0x65: "error in the recipient's phone, given up",
}


def status_key(status: int) -> str:
    """The stable name of a TP-ST value's meaning: '0x46' for a listed value, else its class
    ('delivered', 'temporary', 'permanent', 'given_up'); the console words `tpst.<key>`."""
    if status in _STATUS_TEXT:
        return f"0x{status:02X}"
    if status <= 0x1F:
        return "delivered"
    if status <= 0x3F:
        return "temporary"
    if status <= 0x5F:
        return "permanent"
    return "given_up"


def describe_status(status: int) -> str:
    """Readable meaning of a TP-ST value."""
    if status in _STATUS_TEXT:
        return _STATUS_TEXT[status]
    if status <= 0x1F:
        return "delivered"
    if status <= 0x3F:
        return "temporary error, still trying"
    if status <= 0x5F:
        return "permanent error"
    return "temporary error, given up"


def is_final(status: int) -> bool:
    """'Still trying' (0x20–0x3F) is not an outcome yet."""
    return not 0x20 <= status <= 0x3F


def is_delivered(status: int) -> bool:
    return 0 <= status <= 0x1F


def fold(segments: int, parts: Sequence[tuple[str, int | None]]) -> str | None:
    """'delivered' when every one of `segments` parts is, 'failed' as soon as one part finally
    failed, None while some part is still on its way (or still being tried)."""
    if any(state == "failed" for state, _ in parts):
        return "failed"
    delivered = sum(1 for state, _ in parts if state == "delivered")
    return "delivered" if delivered >= segments else None
