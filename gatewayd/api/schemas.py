"""JSON Schemas of the API's answers for the OpenAPI document: contacts, groups, imports, templates and
campaigns; and the shapes built from plain dicts (gatewayd/inbound/shapes.py, timeline.py…), one schema
per shape, so a shape and its schema are reviewed together. Those are closed (`additionalProperties:
false`) where the shape is fixed, so a field added to a shape without its schema fails
tests/outbound/test_openapi_answers.py."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_INT = {"type": "integer"}

CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "mobile": {"type": "string", "description": "E.164"},
        "last_name": _STR,
        "first_name": _STR,
        "email": _STR,
        "language": {"enum": ["fr", "en", None]},
        "fields": {"type": "object", "additionalProperties": _STR, "description": "custom fields (at most 20)"},
        "optin": {"type": "object", "properties": {"source": _NSTR, "at": _TIME, "statement": _NSTR, "by": _NSTR}},
        "groups": {"type": "array", "items": _INT},
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
FIELDS_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"fields": {"type": "array", "items": _STR}}}
GROUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "name": _STR,
        "description": _STR,
        "members": _INT,
        "kind": {"enum": ["static", "rule"]},
        "rule": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "field": _STR,
                    "op": {"enum": ["eq", "ne", "contains", "prefix", "empty", "not_empty"]},
                    "value": _STR,
                },
            },
        },
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
IMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "purpose": {"enum": ["contacts", "campaign"]},
        "filename": _STR,
        "size": _INT,
        "format": {"enum": ["csv", "txt", "xlsx", "xls"]},
        "state": {"enum": ["uploaded", "analysed", "committed", "failed"]},
        "analysis": {"type": ["object", "null"]},
        "report": {"type": ["object", "null"]},
        "created_by": _NSTR,
        "created_at": _TIME,
        "committed_at": _TIME,
    },
}
TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "title": _STR,
        "line": _NSTR,
        "text": _STR,
        "variables": {"type": "array", "items": _STR},
        "defaults": {"type": "object", "additionalProperties": _STR},
        "unknown_variables": {"type": "array", "items": _STR},
        "encoding": {"enum": ["GSM-7", "UCS-2"]},
        "segments": _INT,
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
CAMPAIGN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "name": _STR,
        "tag": _STR,
        "category": {"enum": ["marketing", "transactional"]},
        "state": {"enum": ["draft", "scheduled", "running", "paused", "completed", "canceled"]},
        "line": _NSTR,
        "templates": {"type": "object", "additionalProperties": _INT},
        "audience": {"type": "object"},
        "stop_mention": _NSTR,
        "scheduled_at": _TIME,
        "started_at": _TIME,
        "paused_at": _TIME,
        "pause_reason": _NSTR,
        "transliterate": {"type": ["boolean", "null"], "description": "the campaign's GSM-7 look-alikes switch"
                          " (null: each template's, else the site default)"},
        "pause_code": {"type": ["object", "null"], "description": "why it paused by itself, as a stable code and"
                       " its params ({\"code\": \"campaign.auto_paused\", \"params\": {...}}); null when a person"
                       " paused it (pause_reason holds their words)",
                       "properties": {"code": _STR, "params": {"type": "object"}}},
        "finished_at": _TIME,
        "created_by": _NSTR,
        "created_at": _TIME,
        "updated_at": _TIME,
        "timing": {"type": ["object", "null"]},
        "timing_report": {"type": ["object", "null"]},
        "parent_id": {"type": ["integer", "null"]},
        "next_send_at": {"type": "array", "items": {"type": "string"}},
    },
}
STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "recipients": {"type": "object", "additionalProperties": _INT},
        **{
            k: _INT
            for k in ("queued", "sent", "delivered", "failed", "blocked", "expired", "unknown", "canceled", "opt_outs")
        },
        "replies": {"type": ["integer", "null"]},
        "progress": {"type": "number"},
        "failure_rate": {"type": "number"},
    },
}

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
CURSOR: Schema = {"type": ["string", "null"], "description": "give it as `cursor` for the next page; null at the end"}


def null(schema: Schema) -> Schema:
    """`schema` or null (OpenAPI 3.1: a type list)."""
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif "enum" in out:
        out["enum"] = [*out["enum"], None]
    else:
        return {"anyOf": [schema, {"type": "null"}]}
    return out


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, *,
        description: str | None = None, closed: bool = True) -> Schema:
    """An object schema: every `required` key is always present, `optional` ones sometimes."""
    out: Schema = {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}
    if closed:
        out["additionalProperties"] = False
    if description:
        out["description"] = description
    return out


def page(key: str, item: Schema, **extra: Schema) -> Schema:
    """A list answer: `{key: [item], next_cursor, **extra}`."""
    return obj({key: {"type": "array", "items": item}, "next_cursor": CURSOR, **extra})


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: Schema, description: str = "OK") -> Schema:
    """A response object with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# -- inbound family (shapes.py) ---------------------------------------------------------------------

INBOUND_MESSAGE = obj(
    {"id": INTEGER, "from": STRING, "text": STRING, "received_at": TIME, "modem": STRING,
     "thread_id": null(INTEGER), "smsc_time": null(TIME), "parts": INTEGER},
    {"missing_parts": {"type": "array", "items": INTEGER, "description": "part numbers never received"},
     "undecodable": STRING, "intent": {"type": "string", "description": "stop / start when it opted out or in"},
     "raw_parts": {"type": "array", "items": obj({"sequence": null(INTEGER), "pdu": STRING,
                                                   "undecodable": null(STRING), "received_at": TIME})}},
    description="A received SMS (long ones joined); `raw_parts` only on GET /api/v1/inbound/{id}")

THREAD = obj(
    {"id": INTEGER, "number": STRING, "modem": STRING, "unread": INTEGER,
     "last_message": obj({"text": STRING, "at": TIME, "direction": {"enum": ["in", "out"]}}),
     "created_at": TIME},
    description="A conversation with one number on one line")

TIMELINE_ITEM = obj(
    {"direction": {"enum": ["in", "out"]}, "id": INTEGER, "text": STRING, "at": TIME, "modem": null(STRING)},
    {"from": STRING, "to": STRING, "state": STRING, "source": null(STRING), "sent_at": null(TIME),
     "delivered_at": null(TIME), "error": null(STRING), "missing_parts": {"type": "array", "items": INTEGER},
     "undecodable": STRING, "intent": STRING},
    description="One message of a conversation: received (`from`) or sent (`to`, `state`)")

CALL = obj({"id": INTEGER, "from": null(STRING), "modem": STRING, "started_at": TIME, "ended_at": TIME,
            "rings": INTEGER, "hung_up_by": {"enum": ["us", "caller"]}, "reply_message_id": null(INTEGER)},
           description="An incoming call; `from` is null when the caller withheld the number")

OPT_OUT = obj({"number": STRING, "created_at": TIME, "source": STRING, "modem": null(STRING),
               "inbound_id": null(INTEGER)})

OPT_OUT_EVENT = obj({"id": INTEGER, "number": STRING, "action": {"enum": ["out", "in"]}, "source": STRING,
                     "modem": null(STRING), "inbound_id": null(INTEGER), "actor": null(STRING),
                     "note": null(STRING), "created_at": TIME})

OPT_OUT_ADDED = obj({"number": STRING, "opted_out": {"const": True}, "created": BOOLEAN,
                     "blocked_messages": INTEGER, "source": STRING, "created_at": null(TIME)})

OPT_OUT_BATCH = obj({"added": INTEGER, "already_opted_out": INTEGER, "duplicates": INTEGER})

OPT_OUT_REMOVED = obj({"number": STRING, "opted_out": {"const": False}, "event_id": null(INTEGER)})

AUTO_REPLY = obj({"id": INTEGER, "keyword": STRING, "reply": STRING, "modem": null(STRING), "enabled": BOOLEAN,
                  "hits": INTEGER, "created_at": TIME, "updated_at": TIME})

AUTO_ANSWER = obj({"id": INTEGER, "number": STRING, "kind": STRING, "modem": null(STRING),
                   "message_id": null(INTEGER), "inbound_id": null(INTEGER), "call_id": null(INTEGER),
                   "rule_id": null(INTEGER), "held_back": null(STRING), "created_at": TIME})



# -- answers of other services, typed at their top level -------------------------------------------

OBJECT: Schema = {"type": "object"}
ARRAY_OF_OBJECTS: Schema = {"type": "array", "items": OBJECT}

CAMPAIGN_PREVIEW = obj(
    {"campaign_id": INTEGER, "state": STRING, "category": STRING, "stop_mention": null(STRING),
     "line": null(STRING), "recipients": ARRAY_OF_OBJECTS,
     "totals": obj({"recipients": INTEGER, "segments": INTEGER, "excluded": OBJECT, "by_template": OBJECT,
                    "already_materialised": {"type": ["integer", "boolean"]}}, closed=False),
     "unknown_variables": {"type": "array", "items": STRING}, "max_recipients": INTEGER,
     "over_cap": {}, "missing_variables": OBJECT, "text_checks": OBJECT,
     "recipients_missing_values": ARRAY_OF_OBJECTS, "estimated_duration": OBJECT},
    description="What the campaign would send: sample texts, totals, text checks and an estimated duration",
    closed=False)

IMPORT_ANALYSIS = obj({"import_id": INTEGER, "analysis": OBJECT})
IMPORT_COMMIT = obj({"import_id": INTEGER, "report": OBJECT})

MEMBERS_FROM_FILE = obj({"members": INTEGER, "previous_members": INTEGER, "not_in_base": INTEGER,
                         "invalid": INTEGER, "duplicates": INTEGER,
                         "invalid_lines": {"type": "array", "items": obj({"line": INTEGER, "value": STRING,
                                                                          "reason": STRING})}})

WEBHOOK_DELIVERY = obj(
    {"id": INTEGER, "event_id": INTEGER, "webhook_id": STRING, "event": STRING,
     "state": {"type": "string", "description": "pending, delivered or failed"}, "attempts": INTEGER,
     "next_at": null(TIME), "last_status": null(INTEGER), "last_error": null(STRING), "created_at": TIME,
     "finished_at": null(TIME),
     "log": {"type": "array", "items": obj({"attempt": INTEGER, "at": TIME, "status": null(INTEGER),
                                            "error": null(STRING), "duration_ms": null(INTEGER)})}},
    description="One event's delivery to an endpoint with every attempt")

# Named in the document's components (referenced above with ref(name)).
COMPONENTS: dict[str, Schema] = {
    "InboundMessage": INBOUND_MESSAGE, "Thread": THREAD, "TimelineItem": TIMELINE_ITEM, "Call": CALL,
    "OptOut": OPT_OUT, "OptOutEvent": OPT_OUT_EVENT, "OptOutAdded": OPT_OUT_ADDED, "OptOutBatch": OPT_OUT_BATCH,
    "OptOutRemoved": OPT_OUT_REMOVED, "AutoReply": AUTO_REPLY, "AutoAnswer": AUTO_ANSWER,
    "WebhookDelivery": WEBHOOK_DELIVERY,
}
