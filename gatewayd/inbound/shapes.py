"""JSON shapes of inbound objects, shared by the API and webhook payloads so they never drift."""

from __future__ import annotations

from typing import Any

from gatewayd.clock import utc_iso
from gatewayd.store.autoreplies import AutoSend, Rule
from gatewayd.store.calls import Call
from gatewayd.store.inbound import InboundMessage
from gatewayd.store.optouts import OptOut, OptOutEvent
from gatewayd.store.threads import Thread


def message_json(m: InboundMessage) -> dict[str, Any]:
    """An inbound message as the API returns it (id, from, text, received_at, modem) plus thread and
    completeness."""
    out: dict[str, Any] = {
        "id": m.id, "from": m.sender, "text": m.text, "received_at": utc_iso(m.received_at), "modem": m.line,
        "thread_id": m.thread_id, "smsc_time": utc_iso(m.smsc_time), "parts": m.parts_total,
    }
    if m.parts_missing:
        out["missing_parts"] = list(m.parts_missing)
    if m.undecodable:
        out["undecodable"] = m.undecodable
    if m.intent:
        out["intent"] = m.intent
    return out


def thread_json(t: Thread) -> dict[str, Any]:
    return {
        "id": t.id, "number": t.number, "modem": t.line, "unread": t.unread,
        "last_message": {"text": t.last_text, "at": utc_iso(t.last_at), "direction": t.last_direction},
        "created_at": utc_iso(t.created_at),
    }


def call_json(c: Call) -> dict[str, Any]:
    """A call as the API returns it (id, from, modem, started_at, rings) plus end time and who hung up."""
    return {
        "id": c.id, "from": c.number, "modem": c.line, "started_at": utc_iso(c.started_at),
        "ended_at": utc_iso(c.ended_at), "rings": c.rings, "hung_up_by": c.hung_up_by,
        "reply_message_id": c.reply_message_id,
    }


def optout_json(o: OptOut) -> dict[str, Any]:
    return {"number": o.number, "created_at": utc_iso(o.created_at), "source": o.source, "modem": o.line,
            "inbound_id": o.inbound_id}


def optout_event_json(e: OptOutEvent) -> dict[str, Any]:
    return {"id": e.id, "number": e.number, "action": e.action, "source": e.source, "modem": e.line,
            "inbound_id": e.inbound_id, "actor": e.actor, "note": e.note, "created_at": utc_iso(e.created_at)}


def rule_json(r: Rule) -> dict[str, Any]:
    return {"id": r.id, "keyword": r.keyword, "reply": r.reply, "modem": r.line, "enabled": r.enabled,
            "hits": r.hits, "created_at": utc_iso(r.created_at), "updated_at": utc_iso(r.updated_at)}


def auto_send_json(s: AutoSend) -> dict[str, Any]:
    return {"id": s.id, "number": s.number, "kind": s.kind, "modem": s.line, "message_id": s.message_id,
            "inbound_id": s.inbound_id, "call_id": s.call_id, "rule_id": s.rule_id, "held_back": s.held_back,
            "created_at": utc_iso(s.created_at)}
