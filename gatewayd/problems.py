"""Stable problem codes and their English wording (pure).

A service refuses something by raising `ProblemError(code="optout.blocked", number=...)` (see
gatewayd.errors): the code and its parameters are the contract. The API renders the English text
below from them (and names the field); the console renders its own catalogue entry
`problem.<code>` with the same parameters, in French or English. Nothing translates English
sentences back into codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

# code -> English text (str.format with the problem's parameters). The console's catalogues hold
# `problem.<code>` for each of these, with the same placeholders (a test checks both).
ENGLISH: dict[str, str] = {
    "text.required": "must not be empty",
    "text.surrogate": "holds a lone UTF-16 surrogate (not a character)",
    "text.too_long": "needs {segments} segments ({encoding}, {units} units); at most {max} are allowed",
    "template.not_found": "template {id} does not exist",
    "template.unclosed": "'{{' at position {position} is never closed (write {{{{ for a brace)",
    "template.unopened": "'}}' at position {position} has no opening brace (write }}}} for a brace)",
    "template.bad_name": "{{{name}}} at position {position} is not a variable name (letters, digits, _)",
    "template.title_required": "a template needs a title",
    "template.in_use": "template {id} is used by a campaign",
    "template.default_unused": "a default for {{{name}}}, but the text has no such variable (its variables: {variables})",
    "template.default_invalid": "the default for {{{name}}} must be one line of at most {max} characters",
    "variable.unresolved": "variable {{{variable}}} has no value for {number}",
    "line.unknown": "no line named {line!r} (known: {known})",
    "recipients.none": "at least one recipient is needed",
    "recipients.too_many": "{count} recipients; at most {max} per request",
    "optout.blocked": "recipient opted out (checked when queued)",
    "optout.blocked_stop": "recipient opted out (STOP)",
    "optout.blocked_send": "recipient opted out (checked before sending)",
    "send_at.too_far": "more than a year ahead",
    # Why a message stopped or waits (messages.error_key): `error` in the API is this English.
    "send.expired": "time to live passed before it could be sent",
    "send.unknown": "{reason}",
    "send.failed": "{reason}",
    "send.gave_up": "gave up after {attempts} attempts: {reason}",
    "send.retry": "will retry: {reason}",
    "report.failed": "delivery report: {meaning} (TP-ST {status})",
    "report.part_failed": "delivery report: a part was not delivered",
    # Messages, threads, opt-outs, auto-replies and campaigns (the console's wording came from the
    # same sentences, so its translations carried over).
    "message.not_found": "no message {id}",
    "message.cannot_cancel": "message {id} is {state}; only queued or scheduled messages can be canceled",
    "message.cannot_resend": "message {id} is {state}; only unknown or failed messages can be resent",
    "message.already_resent": "message {id} was already resent as message {new}",
    "thread.not_found": "no thread {id}",
    "thread.not_dialable": "{number} is a sender name or short code: it cannot be answered by SMS",
    "autoreply.not_found": "no auto-reply rule {id}",
    "optout.not_opted_out": "{number} is not opted out",
    "optout.remove_admin_only": "only an administrator may opt a number back in",
    "optout.note_required": "say why this number is opted back in (kept in the history)",
    "campaign.not_found": "campaign {id} does not exist",
    "campaign.name_required": "a campaign needs a name",
    "campaign.default_template_required": "a default template is required (used for any language)",
    "campaign.languages": "languages are default, fr and en",
    "campaign.refresh_not_launched": "campaign {id} is {state}: only a launched campaign is refreshed",
    "category.choice": "marketing or transactional",
    "campaign.cannot_canceled": "campaign {id} is {state} and cannot be canceled",
    "campaign.cannot_changed": "campaign {id} is {state} and cannot be changed (only a draft can be)",
    "campaign.cannot_launched": "campaign {id} is {state} and cannot be launched",
    "campaign.cannot_paused": "campaign {id} is {state} and cannot be paused",
    "campaign.cannot_resumed": "campaign {id} is {state} and cannot be resumed",
    "campaign.cannot_scheduled": "campaign {id} is {state} and cannot be scheduled",
    "campaign.cannot_deleted": "campaign {id} is {state} and cannot be deleted (only drafts can be; cancel it instead)",
    "category.unknown": "unknown category {category!r}",
    "flash.unsupported": "no line of this gateway can send flash (class 0) SMS; send it as a normal SMS",
    "group.not_found": "no group named {name!r}",
    "group.empty": "group {name!r} has no members",
    "contact.not_found": "no contact named {name!r}",
    "contact.ambiguous": "{count} contacts are named {name!r}; name one by its number",
    "message.unsupported": "{kind} messages are not supported: this gateway sends text SMS only",
    "ttl.conflict": "give ttl or validUntil, not both",
    "valid_until.past": "validUntil {at} is already past",
    "webhook.local_target": "{host} is on this gateway or link-local; such endpoints are refused"
                            " unless [webhooks] allow_local_targets = true",
    "sim.unknown": "no SIM {sim}: this gateway has {count} line(s)",
    "campaign.text_problems": "{count} recipients have a text problem ({empty} with an empty variable: {variables};"
                              " {ucs2} switching to UCS-2; {too_long} over {max} segments; first: {first}): give the"
                              " variables a default"
                              " value or exclude them (POST /api/v1/campaigns/{id}/text-checks) before launching",
    # Contacts, groups, imports (files, numbers, mapping), users, API keys, auto-replies, campaigns,
    # backups: the console words these from its catalogue, never from this English.
    "phone.invalid": "{number!r} is not a valid phone number: {reason}",
    "phone.empty": "empty number",
    "phone.not_a_number": "not a phone number",
    "phone.unknown_country": "unknown country code",
    "phone.too_short_after_prefix": "too short after the international prefix",
    "phone.too_short": "too short",
    "phone.too_long": "too long",
    "phone.wrong_length": "wrong number of digits for its country",
    "phone.not_valid_for_country": "not a valid number for its country",
    "phone.not_valid": "not a valid number",
    "phone.ambiguous": "ambiguous: could be {first} or {second}",
    "phone.scientific_lost_digits": "{value} is in scientific notation and has lost digits",
    "repair.scientific": "scientific notation",
    "repair.decimal": "decimal '.0' removed",
    "repair.leading_zero": "leading 0 restored",
    "repair.plus_added": "'+' added before the country code",
    "apikey.bad_name": "1 to 64 characters",
    "apikey.no_scope": "at least one scope is needed",
    "apikey.unknown_scope": "unknown scope {scope!r} (use {scopes})",
    "audience.empty": "choose at least one group, contact, number or file",
    "audience.over_cap": "the audience has {size} recipients, more than the {cap} a campaign may have "
                         "(campaigns.max_recipients): split it into several campaigns",
    "audience.too_many_numbers": "at most {max} typed numbers; upload a file instead",
    "autoreply.duplicate": "a rule for {keyword!r} already exists on {line}",
    "autoreply.duplicate_everywhere": "a rule for {keyword!r} already exists on every modem",
    "autoreply.keyword_courtesy": "needs at least one letter or digit besides courtesy words",
    "autoreply.keyword_length": "between 1 and {max} characters",
    "autoreply.keyword_optout": "{keyword!r} is a {word} word: opt-out handling answers it, not a rule",
    "backup.cannot_write": "cannot write {path}: {reason}",
    "backup.failed": "backup of {path} failed: {error}",
    "backup.integrity": "the copy failed its integrity check: {detail}",
    "campaign.bad_default": "a variable name (1-64 characters) and a value of at most 500 characters",
    "campaign.no_sample": "campaign {id} has nobody to take a sample text from",
    "campaign.no_source": "no column or contact field named {source!r}",
    "campaign.no_variable": "the templates have no variable {{{variable}}}",
    "campaign.unknown_outcome": "unknown outcome {word!r}: one of {outcomes} or not_reached",
    "campaign.variables_frozen": "campaign {id} is {state}: its variables can no longer change",
    "contact.bad_email": "not an e-mail address",
    "contact.bad_language": "fr or en",
    "contact.not_found_id": "contact {id} does not exist",
    "contact.number_taken": "contact {id} already has the number {number}",
    "date.invalid": "{raw!r} is not a date (YYYY-MM-DD)",
    "date.out_of_range": "{day} is outside the years 2000-2999",
    "field.bad_name": "letters, digits and _ (not starting with a digit), not a built-in name",
    "field.exists": "the field {name!r} exists already",
    "field.not_found": "no custom field named {name!r}",
    "field.too_many": "at most {max} custom fields; delete one first",
    "field.undeclared": "unknown custom field {name!r}; declare it first (POST /api/v1/contact-fields)",
    "file.binary": "the file holds binary data (NUL bytes): not a text export",
    "file.cell_too_long": "line {line}: a cell holds more than {limit} characters (a quote opened and never closed?)",
    "file.csv_error": "line {line}: {error}",
    "file.damaged_after_row": "the workbook is damaged after row {row}: open it in Excel or LibreOffice, save it "
                              "again as .xlsx and upload that copy",
    "file.damaged_xlsx": "the workbook is damaged or is not a real Excel file: open it in Excel or LibreOffice, "
                         "save it again as .xlsx and upload that copy",
    "file.damaged_xls": "the .xls workbook is damaged or is not a real Excel 97-2003 file: open it in Excel or "
                        "LibreOffice, save it again as .xlsx and upload that copy",
    "file.empty": "the file is empty",
    "file.no_sheet": "no sheet named {sheet!r} (sheets: {sheets})",
    "file.not_spreadsheet": "this is not a spreadsheet or text file (CSV, TXT, XLS or XLSX expected)",
    "file.office_not_xls": "the file is an Office 97-2003 document but not an Excel workbook (.xls)",
    "file.password": "the workbook is protected by a password: remove the password in Excel (File > Info > "
                     "Protect Workbook) and upload it again",
    "file.undecodable": "line {line}: bytes not valid {encoding} ({reason})",
    "file.xls_too_many_cells": "the sheet holds {cells} cells, more than {limit}: keep only the columns to import, or "
                               "save it as .xlsx or CSV",
    "file.xlsx_too_many_cells": "{sheet} holds more than {limit} cells, the most allowed (imports.xlsx_max_cells): "
                                "split the file",
    "file.xlsx_too_many_columns": "{sheet}, row {row}: a cell in column {column}; at most {limit} columns are read "
                                  "(imports.xlsx_max_columns): delete the columns on the right",
    "file.xlsx_too_many_strings": "the workbook holds more than {limit} distinct texts (shared strings), the most "
                                  "allowed (imports.xlsx_max_shared_strings): save it as CSV, or split it",
    "file.xlsx_unzipped_too_big": "the workbook unpacks to {size} MB, more than the {limit} MB allowed "
                                  "(imports.xlsx_max_unzipped_bytes): save it as CSV, or split it",
    "file.xml_tag_too_long": "the workbook holds an XML tag longer than 1 MB",
    "file.zip_damaged": "the file looks like a ZIP/XLSX archive but is damaged",
    "file.zip_not_xlsx": "the file is a ZIP archive but not an Excel workbook (.xlsx)",
    "group.exists": "a group named {name!r} exists already",
    "group.name_required": "a group needs a name",
    "group.not_found_id": "group {id} does not exist",
    "group.rule_based": "group {name!r} is rule-based: its members follow the rule",
    "group.rule_empty": "a rule needs at least one condition (or send null for a static group)",
    "group.rule_field": "unknown field {name!r}",
    "group.rule_op": "one of {ops}",
    "import.committed": "import {id} was committed already",
    "import.duplicate_of": "duplicate of line {line}",
    "import.file_gone": "the file of import {id} is no longer on disk; upload it again",
    "import.header_line_empty": "line {line} is empty",
    "import.header_line_far": "line {line} is not among the first {count} rows of the file",
    "import.in_use": "import {id} is the recipient file of a campaign still to send; cancel or finish the "
                     "campaign first",
    "import.many_sheets": "the workbook has {count} sheets ({sheets}); keep only one or say which to read",
    "import.no_rejects": "import {id} has no analysis listing its rejected lines; analyse it first",
    "import.no_rows": "the file has no rows",
    "import.not_analysed": "import {id} has not been analysed (or its file is gone); analyse it first",
    "import.not_found": "import {id} does not exist",
    "import.quota_full": "{held} MB of uploads not yet imported are waiting already, the most one user may keep "
                         "(imports.per_user_bytes = {quota} MB): import or delete some first",
    "import.quota_left": "the file is larger than the {left} MB left of what one user may keep waiting "
                         "(imports.per_user_bytes): import or delete earlier uploads first",
    "import.recipient_file": "import {id} is a campaign recipient file; use it in a campaign",
    "import.statement_required": "the opt-in certification statement is required",
    "import.too_big": "the file is larger than the import limit of {limit} bytes (imports.max_bytes)",
    "import.too_many_fields": "{known} custom fields exist and the mapping adds {added}; at most {max} are allowed",
    "import.upload_empty": "the uploaded file is empty",
    "mapping.bad_field_name": "{name!r} is not a usable field name (letters, digits, _; not a built-in)",
    "mapping.duplicate_target": "{target!r} is chosen for more than one column",
    "mapping.entries": "the mapping has {entries} entries for {columns} columns",
    "mapping.one_mobile": "exactly one column must be mapped to 'mobile'",
    "mapping.unknown_target": "unknown target {target!r}",
    "number.not_integer": "{raw!r} is not a number",
    "optout.list_empty": "paste numbers or choose a file",
    "optout.list_note_required": "say where this list comes from (it stays in the history)",
    "password.weak": "needs {missing}",
    "password.min_length": "at least {count} characters",
    "password.upper": "an upper-case letter",
    "password.lower": "a lower-case letter",
    "password.digit": "a digit",
    "password.special": "a special character",
    "password.common": "a less common password (not a well-known word with digits or symbols around it, such "
                       "as Passw0rd! or Azerty123!)",
    "period.reversed": "the period ends before it starts",
    "reply.no_queue": "the outbound queue is not running: replies cannot be sent",
    "send_at.past": "this time is in the past: choose a time to come, or send now",
    "text.max_length": "at most {max} characters",
    "timing.bad_time": "{raw!r} is not a time of day (HH:MM)",
    "timing.column_required": "say which column holds each recipient's date",
    "timing.day_names": "days among {days}",
    "timing.day_of_month": "a day between 1 and 28 (every month has it)",
    "timing.days_or_minutes": "give either days_before with at, or minutes_before",
    "timing.days_range": "days between 0 and 90",
    "timing.kind": "reminder or recurring",
    "timing.minutes_range": "minutes between 0 and 43200 (30 days)",
    "timing.week_or_month": "give either days_of_week or day_of_month",
    "upload.no_file": "choose a file to upload",
    "user.bad_name": "1 to 64 printable characters, no leading or trailing space",
    "user.bad_role": "must be one of {roles}",
    "user.exists": "a user named {name!r} exists already",
    "user.first_admin_exists": "the first administrator exists already",
    "user.look_alike": "letters of the Latin alphabet only (accents allowed): no look-alike letters",
    "user.not_found": "no such user",
    "webhook.not_found": "no such webhook",
    "period.too_long": "at most {days} days per export",
    "form.field_too_long": "longer than {limit} characters: split it in several parts",
    "optout.stop_must_stay": "STOP must stay a stop word: marketing messages tell people to answer STOP",
    "optout.word_both": "{word!r} is both a stop word and a start word",
    "optout.stop_word_empty": "stop word {word!r} has no letters or digits",
    "optout.start_word_empty": "start word {word!r} has no letters or digits",
    "quiet_hours.no_day": "choose at least one day, or turn the window off",
    "quiet_hours.order": "send_until must be later than send_from (same day)",
    "quiet_hours.no_calendar": "no public holiday calendar for {country!r}/{subdivision!r}",
    "setting.section_not_editable": "[{section}] cannot be changed in the console",
    "setting.not_editable": "[{section}] {key} cannot be changed in the console",
    "setting.string_too_long": "at most {limit} characters",
    "setting.string_too_short": "at least {limit} characters",
    "setting.greater_than_equal": "at least {limit}",
    "setting.less_than_equal": "at most {limit}",
    "setting.literal_error": "one of {limit}",
    "setting.time": "{value!r} is not a time of day (HH:MM)",
    "setting.invalid": "{message}",
    "ussd.bad_code": "{code_given!r} is not a USSD code: it starts with * or # and holds only digits, "
                     "* and # (for example *100# or #123#)",
    "ussd.refused": "the modem refused the USSD request ({reason})",
    "ussd.no_answer": "no answer from the network within {seconds} s",
    "ussd.failed": "line {line}: {reason}",
    "ussd.line_unavailable": "line {line} cannot ask the network now: {why}",
    "report.none": "no delivery report within {span}: delivery not confirmed (the report may have "
                   "been lost, e.g. while the daemon was stopped on a line that gets reports only "
                   "directly)",
    "line.waiting": "waiting for line {line}: it is {line_state}",
    "line.waiting_detail": "waiting for line {line}: it is {line_state} ({detail})",
    "line.waiting_unconfigured": "waiting for line {line}: it is not configured",
    "campaign.auto_paused": "auto-paused: {rate} of {finished} finished messages failed (threshold {threshold})",
    "campaign.auto_paused_because": "auto-paused: {reason}",
    "email.bad_address": "{address!r} is not an e-mail address",
    "email.test_failed": "the test e-mail was not sent: {error}",
    "message.cannot_complete": "message {id} is {state}; only an unknown long message can be completed",
    "message.no_part_sent": "message {id} has no part on record as sent: resend it whole instead",
    "message.all_parts_sent": "every part of message {id} is on record as sent: nothing to complete",
    "message.already_resent_whole": "message {id} was already resent whole",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a stable code, the field it concerns, and its parameters.

    A parameter may itself hold a problem as data (`{"code": ..., "params": ...}`, see as_data) or a
    list of them: a phone number's reason, a password's missing parts. They are worded the same way,
    in English here and from the catalogue in the console, so nothing is ever worded twice."""

    code: str
    field: str = ""
    params: Mapping[str, Any] = _field(default_factory=dict)

    def english(self) -> str:
        return english(self.code, self.params)

    def at(self, field: str) -> Problem:
        """The same problem, about `field`."""
        return Problem(self.code, field, self.params)

    def as_data(self) -> dict[str, Any]:
        """JSON-ready form, to store (an import's rejected lines) or nest in another problem's params."""
        return {"code": self.code, "params": dict(self.params)}


def coded(code: str, **params: Any) -> dict[str, Any]:
    """A problem as data (see Problem.as_data), for a parameter or a stored reason."""
    return {"code": code, "params": params}


def is_coded(value: object) -> bool:
    """Whether `value` is a problem as data (a mapping with a string "code")."""
    return isinstance(value, Mapping) and isinstance(value.get("code"), str)


class CodedValueError(ValueError):
    """A pure helper's refusal (a phone number, a file) as a stable code with parameters; str() is
    its English, so callers that only log it need nothing more."""

    def __init__(self, code: str, **params: Any) -> None:
        self.problem = Problem(code, "", params)
        super().__init__(english(code, params))


Wording = Callable[[str, Mapping[str, Any]], str]


def worded(value: object, word: Wording) -> str:
    """A stored reason as text: a problem as data worded by `word`, anything older (English text
    stored before reasons had codes) as it is."""
    if is_coded(value):
        assert isinstance(value, Mapping)
        return word(value["code"], value.get("params") or {})
    return "" if value is None else str(value)


def render_params(params: Mapping[str, Any], word: Wording,
                  join: str = ", ") -> dict[str, Any]:
    """`params` with every nested problem (or list of them) worded by `word(code, params)`."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if is_coded(value):
            out[name] = word(value["code"], value.get("params") or {})
        elif isinstance(value, (list, tuple)) and value and all(is_coded(v) for v in value):
            out[name] = join.join(word(v["code"], v.get("params") or {}) for v in value)
        else:
            out[name] = value
    return out


def english(code: str, params: Mapping[str, Any]) -> str:
    """The English text of `code` with `params`; the bare code (and params) when it has no wording."""
    template = ENGLISH.get(code)
    if template is None:
        return code + (" " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
    try:
        return template.format_map(render_params(params, english))
    except (KeyError, IndexError, ValueError):
        return code
