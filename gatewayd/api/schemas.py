"""JSON Schemas of the API's answers about contacts, groups, imports, templates and campaigns (OpenAPI)."""

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
