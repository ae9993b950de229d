"""Settings: one TOML file plus GATEWAYD_<SECTION>__<KEY> environment overrides, validated once.

Every part of the daemon receives its own typed section; nothing else reads files or the
environment for configuration. Every setting is documented in config/gatewayd.example.toml.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from gatewayd.inbound import stop_words as keywords
from gatewayd.problems import CodedValueError

DEFAULT_CONFIG_PATH = Path("/etc/gatewayd/gatewayd.toml")


class ConfigError(Exception):
    """A configuration problem, worded as one line naming the key and the problem."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(Section):
    database: Path = Path("/var/lib/gatewayd/gatewayd.db")
    busy_timeout_ms: int = Field(5000, ge=0)


class HttpSettings(Section):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)
    # Largest request body accepted (JSON and uploads); imports have their own limit below it.
    max_body_bytes: int = Field(12 * 1024 * 1024, ge=1024)
    # Open connections at most (also held under half the process's open-file limit, raised at start to
    # its hard limit), and per client address, so no single host can use up the descriptors.
    max_connections: int = Field(1000, ge=8, le=100_000)
    max_connections_per_address: int = Field(64, ge=1, le=100_000)
    # A connection must send complete request headers within this many seconds of opening...
    header_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # ...and is closed after this many seconds without a request between two requests (keep-alive).
    idle_timeout_seconds: float = Field(30.0, gt=0, le=3600)


class SiteSettings(Section):
    timezone: str = "Europe/Paris"
    language: Literal["fr", "en"] = "fr"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SendingSettings(Section):
    default_region: str = Field("FR", min_length=2, max_length=2)
    max_segments: int = Field(10, ge=1, le=255)
    # Site default of the per-send option: GSM-7 look-alikes for characters outside GSM-7.
    transliterate: bool = False

    @field_validator("default_region")
    @classmethod
    def _upper(cls, value: str) -> str:
        import phonenumbers

        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (ISO 3166 code such as FR, BE, GB)")
        return value


def read_secret_path(name: str) -> Path | None:
    """Where a `*_file` secret lives: an absolute path as it is; a bare name is a systemd credential
    (`LoadCredential=NAME:/etc/gatewayd/NAME`) in $CREDENTIALS_DIRECTORY, None outside the service."""
    if name.startswith("/"):
        return Path(name)
    if "/" in name or name in (".", ".."):
        raise ValueError(f"{name!r} is neither an absolute path nor a credential name")
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    return Path(directory) / name if directory else None


class ModemSettings(Section):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    port: str
    baudrate: int = Field(115200, ge=1200, le=4_000_000)
    pin: str | None = Field(None, pattern=r"^[0-9]{4,8}$")
    # The PIN kept out of this file: an absolute path, or the name of a systemd credential
    # (LoadCredential=) read from $CREDENTIALS_DIRECTORY.
    pin_file: str | None = None
    dialect: Literal["auto", "generic", "sim800", "sim7600", "ec25", "e3372", "sierra", "telit"] = "auto"
    auto_hangup: bool = False

    @model_validator(mode="before")
    @classmethod
    def _pin_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("pin_file"):
            return data
        if data.get("pin"):
            raise ValueError("give pin or pin_file, not both")
        path = read_secret_path(str(data["pin_file"]))
        if path is None:
            # A credential exists only inside the service; admin commands run outside it need no PIN.
            return data
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"pin_file: cannot read {path}: {exc.strerror}") from None
        return {**data, "pin": secret}

    @field_validator("port")
    @classmethod
    def _device_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value) or value.endswith("/"):
            raise ValueError(f"{value!r} is not an absolute device path such as /dev/ttyUSB2")
        return value


class OptOutSettings(Section):
    # Which messages an opt-out blocks: "marketing" (and campaigns) or "all" (transactional too).
    scope: Literal["marketing", "all"] = "marketing"
    # An inbound SMS that essentially is one of these words (case, accents, punctuation ignored) opts out.
    stop_words: tuple[str, ...] = keywords.DEFAULT_STOP_WORDS
    # ...or opts back in (only when the sender is opted out).
    start_words: tuple[str, ...] = keywords.DEFAULT_START_WORDS
    # Courtesy words tolerated around a keyword ("stop svp", "merci, STOP").
    ignore_words: tuple[str, ...] = keywords.DEFAULT_IGNORE_WORDS
    # Reply sent after a STOP by SMS (empty: none), at most once per number per confirm_every_hours.
    confirm_text: str = Field("", max_length=480)
    # Reply sent after a START by SMS (empty: none), same limit.
    resubscribe_text: str = Field("", max_length=480)
    confirm_every_hours: int = Field(24, ge=1, le=24 * 365)

    @model_validator(mode="after")
    def _usable_words(self) -> OptOutSettings:
        matcher = keywords.KeywordMatcher.build(self.stop_words, self.start_words, self.ignore_words)
        if matcher.match("STOP") is not keywords.Intent.STOP:
            raise CodedValueError("optout.stop_must_stay")
        return self


class InboundSettings(Section):
    # A long SMS still missing parts after this many minutes is kept as it is, marked incomplete.
    reassembly_timeout_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    # Automatic SMS (auto-replies, confirmations, missed-call texts) to one number: at most this many...
    autoreply_max: int = Field(3, ge=1, le=1000)
    # ...per this many minutes, so two machines can never answer each other forever.
    autoreply_window_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    # Automatic SMS to all numbers together per hour, at most (anyone can text or ring the box).
    autoreply_max_per_hour: int = Field(100, ge=1, le=100_000)
    # SMS sent to someone whose call rang unanswered (empty: none)...
    missed_call_text: str = Field("", max_length=480)
    # ...at most once per number per this many hours.
    missed_call_every_hours: int = Field(24, ge=1, le=24 * 365)


class ImportSettings(Section):
    # Largest uploaded contact/recipient file, in bytes.
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # Workbooks with more sheets than this are refused unless the request names the sheet to read.
    max_sheets: int = Field(1, ge=1, le=100)
    # Where uploaded files wait between analysis and commit; empty = "imports" beside the database.
    directory: Path | None = None
    # Uploads neither imported nor read by a live campaign are deleted this many hours after upload.
    expire_hours: float = Field(24.0, gt=0, le=24 * 90)
    # Bytes of uploads one user or API key may keep waiting on disk at once.
    per_user_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    # Workbooks (.xlsx) are read with bounded memory: past any of these the file is refused, naming
    # the limit. Cells read (rows × columns), distinct shared strings, columns of one row, and bytes
    # of the workbook once decompressed.
    xlsx_max_cells: int = Field(5_000_000, ge=1000)
    xlsx_max_shared_strings: int = Field(1_000_000, ge=100)
    xlsx_max_columns: int = Field(1000, ge=10, le=16384)
    xlsx_max_unzipped_bytes: int = Field(200 * 1024 * 1024, ge=1024 * 1024)


class CampaignSettings(Section):
    # Appended to every marketing text (French readers); "{number}" is replaced by the number of the line
    # the SMS is sent through (its SIM's, or the one an admin set on the Lines page), else by stop_number.
    stop_mention: str = Field("Répondez STOP pour vous désabonner", min_length=1, max_length=80)
    # The same for English readers.
    stop_mention_en: str = Field("Reply STOP to unsubscribe", min_length=1, max_length=80)
    # The number people reply STOP to, as shown in the mention (usually the SIM's own number).
    stop_number: str = ""
    # Messages of one campaign handed to the outbound queue and not yet finished, at most.
    window: int = Field(500, ge=1, le=1_000_000)
    # Auto-pause when failed / finished passes this fraction, once min_finished messages ended.
    failure_threshold: float = Field(0.3, gt=0, le=1)
    failure_min_finished: int = Field(20, ge=1)
    # Most recipients one campaign may have (groups, contacts, numbers and file together); a bigger
    # audience is refused with a message saying to split it.
    max_recipients: int = Field(200_000, ge=1, le=10_000_000)
    # Recipients rendered in a preview.
    preview_recipients: int = Field(5, ge=1, le=50)
    # How often running campaigns are topped up and checked, in seconds.
    tick_seconds: float = Field(5.0, gt=0, le=3600)
    # Replies and opt-outs from a recipient within this many hours of the send count for the campaign.
    attribution_hours: int = Field(72, ge=1, le=24 * 90)

    @field_validator("stop_number")
    @classmethod
    def _stop_number(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _number_given(self) -> CampaignSettings:
        for name in ("stop_mention", "stop_mention_en"):
            if "{number}" in getattr(self, name) and not self.stop_number:
                raise ValueError(f"{name} uses {{number}}: set stop_number to the number people reply STOP to")
        return self

    def mention(self, language: str = "fr", number: str | None = None) -> str:
        """The opt-out mention appended to marketing texts for a reader of `language` (fr/en);
        `number`: the sending line's own number, instead of `stop_number`."""
        text = self.stop_mention_en if language == "en" else self.stop_mention
        return text.replace("{number}", number or self.stop_number).strip()


class ConsoleSettings(Section):
    # A console session ends this many hours after sign-in, whatever happens.
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    # ...or after this many minutes without a request.
    idle_minutes: int = Field(60, ge=1, le=24 * 60)
    # Send cookies with the Secure flag (set true when the console is reached over HTTPS).
    secure_cookies: bool = False
    # Failed sign-ins counted over this window...
    login_window_minutes: int = Field(15, ge=1, le=24 * 60)
    # ...at most this many per user name from one address (then that address waits for that user)...
    login_max_per_user: int = Field(5, ge=1, le=1000)
    # ...this many per client address over all user names, and this many per user name over all
    # addresses; neither of these two applies to addresses of trusted_networks.
    login_max_per_address: int = Field(20, ge=1, le=10_000)
    login_max_per_user_untrusted: int = Field(50, ge=1, le=100_000)
    # Networks (CIDR, e.g. "192.168.1.0/24") whose users are never held back by others' failures.
    trusted_networks: list[str] = []
    # Reverse proxies (CIDR) whose X-Forwarded-For header names the real client address.
    trusted_proxies: list[str] = []

    @field_validator("trusted_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        import ipaddress

        for value in values:
            try:
                ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a network such as 192.168.1.0/24 or 10.0.0.5") from None
        return [v.strip() for v in values]
    # How often open pages ask for news (new messages, progress), in seconds.
    poll_seconds: float = Field(3.0, ge=0.2, le=300)


class ModemTimingSettings(Section):
    # Timers of the modem layer (seconds); gatewayd.modem.timings.ModemTimings.from_settings reads them.
    command_timeout: float = Field(5.0, gt=0, le=300)
    prompt_timeout: float = Field(10.0, gt=0, le=120)
    submit_timeout: float = Field(90.0, ge=10, le=300)
    health_interval: float = Field(30.0, ge=1, le=3600)
    sweep_interval: float = Field(300.0, ge=10, le=86400)
    call_quiet: float = Field(8.0, ge=1, le=120)
    reconnect_max_delay: float = Field(60.0, ge=1, le=3600)
    stop_grace: float = Field(5.0, ge=0, le=300)


class OutboundSettings(Section):
    # Segments one line may send per calendar minute / hour / day, box time zone (unset = no cap).
    per_line_per_minute: int | None = Field(None, ge=1, le=100_000)
    per_line_per_hour: int | None = Field(None, ge=1, le=1_000_000)
    per_line_per_day: int | None = Field(None, ge=1, le=10_000_000)
    # Random pause between two sends on one line, drawn between these bounds (seconds).
    spacing_min_seconds: float = Field(0.0, ge=0, le=3600)
    spacing_max_seconds: float = Field(0.0, ge=0, le=3600)
    # A message not sent this many hours after it became due expires (the API may give its own ttl).
    default_ttl_hours: float = Field(48.0, gt=0, le=24 * 30)
    # Transient failures wait retry_base_seconds, doubling up to retry_cap_seconds (with jitter)...
    retry_base_seconds: float = Field(30.0, gt=0, le=86400)
    retry_cap_seconds: float = Field(1800.0, gt=0, le=86400)
    # ...and a message fails after this many attempts.
    max_attempts: int = Field(10, ge=1, le=1000)
    # A line that could not send (not answering, no prompt) gets no new work for this long (seconds).
    line_cooldown_seconds: float = Field(30.0, ge=0, le=3600)
    # Typical seconds per SMS on a real modem (campaign duration estimates only).
    seconds_per_message: float = Field(6.0, gt=0, le=600)
    # A `sent` message with no final delivery report this many hours after it went out stays `sent`
    # with the reason "no delivery report…" (a report that arrives later still settles it).
    report_timeout_hours: float = Field(48.0, gt=0, le=24 * 30)

    @model_validator(mode="after")
    def _ordered(self) -> OutboundSettings:
        if self.spacing_max_seconds < self.spacing_min_seconds:
            raise ValueError("spacing_max_seconds must be at least spacing_min_seconds")
        if self.retry_cap_seconds < self.retry_base_seconds:
            raise ValueError("retry_cap_seconds must be at least retry_base_seconds")
        return self


class QuietHoursSettings(Section):
    # Marketing messages go out only inside this weekly window (box time zone); others any time.
    enabled: bool = True
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri", "sat"]
    send_from: time = time(8, 0)
    send_until: time = time(20, 0)
    # No marketing on the public holidays of this country (ISO code) and optional subdivision.
    holidays: bool = True
    country: str = Field("FR", min_length=2, max_length=3)
    subdivision: str = ""

    @model_validator(mode="after")
    def _window(self) -> QuietHoursSettings:
        if self.enabled and not self.days:
            raise CodedValueError("quiet_hours.no_day")
        if self.send_until <= self.send_from:
            raise CodedValueError("quiet_hours.order")
        if self.holidays:
            # Loads only this country's module (country_holidays() imports all ~280: ~9 MB resident).
            from gatewayd.outbound.quiet_hours import holiday_calendar

            try:
                holiday_calendar(self.country, self.subdivision)
            except NotImplementedError:
                raise CodedValueError("quiet_hours.no_calendar", country=self.country, subdivision=self.subdivision) from None
        return self


class ApiSettings(Section):
    # POST /api/v1/messages requests per minute per API key (0 = no limit); 429 with Retry-After.
    requests_per_minute: int = Field(600, ge=0, le=1_000_000)
    # Recipients per API key per calendar day (box time zone), so a leaked key cannot pump SMS (0 = no cap).
    recipients_per_day: int = Field(5000, ge=0, le=100_000_000)
    # Recipients in one POST, at most.
    max_recipients: int = Field(10_000, ge=1, le=100_000)
    # Destinations allowed through the API: ISO regions ("FR") or calling codes ("+33"); empty = any.
    allowed_destinations: list[str] = []

    @field_validator("allowed_destinations")
    @classmethod
    def _destinations(cls, values: list[str]) -> list[str]:
        import phonenumbers

        out = []
        for value in values:
            v = value.strip().upper()
            if v.startswith("+") and v[1:].isdigit():
                out.append(v)
            elif v in phonenumbers.SUPPORTED_REGIONS:
                out.append(v)
            else:
                raise ValueError(f"{value!r} is neither a region code (FR) nor a calling code (+33)")
        return out


class WebhookSettings(Section):
    # Seconds to wait for an endpoint's answer.
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    # Deliveries in flight at once (all endpoints), and per endpoint.
    concurrency: int = Field(4, ge=1, le=64)
    per_endpoint: int = Field(2, ge=1, le=64)
    # Failed deliveries retry after retry_base_seconds, doubling up to retry_cap_seconds...
    retry_base_seconds: float = Field(10.0, gt=0, le=86400)
    retry_cap_seconds: float = Field(3600.0, gt=0, le=86400)
    # ...until the event is this old; then the delivery is marked failed.
    max_age_hours: float = Field(24.0, gt=0, le=24 * 30)
    # Accept endpoints on loopback, link-local and unspecified addresses (refused by default).
    allow_local_targets: bool = False


class SmsEagleSettings(Section):
    # SMSEagle's JSON-RPC (POST /jsonrpc/sms) and API v2 (/api/v2/messages/sms) for LibreNMS, Apprise, Zabbix...
    enabled: bool = True
    # What their sends are: "transactional", or "marketing" (STOP mention, quiet hours, any opt-out blocks).
    category: Literal["transactional", "marketing"] = "transactional"


class AndroidGatewaySettings(Section):
    # SMS Gateway for Android's third-party API under /3rdparty/v1 (its Python and JavaScript clients).
    enabled: bool = True
    # What its sends are: "transactional", or "marketing" (STOP mention, quiet hours, any opt-out blocks).
    category: Literal["transactional", "marketing"] = "transactional"
    # The deviceId this gateway answers with (that API's clients may show or filter on it).
    device_id: str = Field("gatewayd", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    # Key of the X-Signature HMAC on its webhooks, as the app's Settings > Webhooks > Signing Key (empty:
    # each registration gets a random key; an admin reads it by rotating it: PATCH /api/v1/webhooks/{id}).
    webhook_signing_key: str = Field("", max_length=256)


class SimulatorSettings(Section):
    # Simulated modems started in-process on pseudo-terminals (gatewayd run --simulate N).
    lines: int = Field(0, ge=0, le=16)
    latency_ms: int = Field(300, ge=0, le=120_000)


class RetentionSettings(Section):
    # Texts of finished outbound messages and of inbound SMS are blanked after this many days (0 = keep
    # forever). The rows stay, so counts, states and the opt-out history are kept forever.
    message_body_days: int = Field(365, ge=0, le=36_500)
    # Finished webhook deliveries and their attempt log are deleted after this many days (0 = keep forever).
    webhook_log_days: int = Field(30, ge=0, le=36_500)
    # Rows changed per write transaction, so a purge never holds the writer for long.
    batch_size: int = Field(500, ge=1, le=100_000)
    # How often the purge runs (it also runs once, start_delay_minutes after the daemon starts).
    interval_hours: float = Field(24.0, gt=0, le=24 * 30)
    start_delay_minutes: float = Field(10.0, ge=0, le=24 * 60)


class EmailSettings(Section):
    """Outgoing SMTP (alerts, forwarded SMS). host empty = no e-mail at all."""

    host: str = ""
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str = ""
    # A file holding the password (read once at start), so the main file can stay readable.
    password_file: str = ""
    sender: str = Field("gatewayd@localhost", min_length=3, max_length=254)
    # Seconds to wait for the server at each step.
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    # A message that could not be handed over waits retry_base_seconds, doubling up to retry_cap_seconds...
    retry_base_seconds: float = Field(30.0, gt=0, le=86400)
    retry_cap_seconds: float = Field(1800.0, gt=0, le=86400)
    # ...and is given up when it is this old.
    max_age_hours: float = Field(72.0, gt=0, le=24 * 30)
    _password: str = PrivateAttr("")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value or any(c.isspace() or c in "<>," for c in value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @model_validator(mode="after")
    def _read_password(self) -> EmailSettings:
        if self.password_file:
            try:
                secret = Path(self.password_file).read_text("utf-8").strip("\r\n")
            except OSError as exc:
                raise ValueError(f"password_file {self.password_file}: {exc.strerror}") from None
            object.__setattr__(self, "_password", secret)  # frozen model: set once, here
        if self.username and not self._password:
            raise ValueError("username is set: give the password in password_file")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @property
    def password(self) -> str:
        return self._password


def parse_addresses(values: list[str]) -> list[str]:
    out = []
    for value in values:
        v = value.strip()
        local, _, domain = v.partition("@")
        if not local or not domain or any(c.isspace() or c in "<>,;" for c in v):
            raise ValueError(f"{value!r} is not an e-mail address")
        out.append(v)
    return out


class AlertSettings(Section):
    """Who is told when the box is in trouble, and how often."""

    email: list[str] = []
    # Numbers that get alerts by SMS (through a line that can send).
    sms: list[str] = []
    # A line that cannot send (unplugged, not answering, off the network) for this long is "down".
    line_down_after_seconds: float = Field(60.0, ge=0, le=86400)
    # An incident still open after this many minutes is said again (0: never).
    reminder_minutes: float = Field(240.0, ge=0, le=7 * 24 * 60)
    # Free space under the database below this many megabytes is "disk low".
    disk_low_mb: int = Field(200, ge=0, le=10_000_000)
    # How often the conditions are checked, in seconds (line events also trigger a check).
    check_seconds: float = Field(10.0, gt=0, le=3600)

    @field_validator("email")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        return parse_addresses(values)


class ForwardingSettings(Section):
    """Every inbound SMS (or those of the chosen lines) by e-mail."""

    email: list[str] = []
    # Line names whose SMS are forwarded; empty = every line.
    lines: list[str] = []

    @field_validator("email")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        return parse_addresses(values)


class SimCheckSettings(Section):
    """Prepaid SIM care for one line: balance by USSD on a schedule, optional keep-alive."""

    line: str = Field(min_length=1, max_length=32)
    # USSD code asking the balance (*100# at Orange, #123# at SFR/Free...), empty = no check.
    balance_code: str = Field("", max_length=40, pattern=r"^[0-9*#+]*$")
    # When to check: a crontab line (minute hour day month weekday), box time zone.
    balance_schedule: str = "0 9 * * *"
    # A balance below this many euros raises the low-balance alert (0: never).
    low_balance: float = Field(0.0, ge=0, le=100_000)
    # Keep-alive for SIMs that expire without activity: a USSD code sent on keepalive_schedule.
    keepalive_code: str = Field("", max_length=40, pattern=r"^[0-9*#+]*$")
    keepalive_schedule: str = "0 10 1 * *"

    @field_validator("balance_schedule", "keepalive_schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a crontab schedule (minute hour day month weekday): {exc}") from None
        return value


class OutOfHoursSettings(Section):
    """An automatic answer to SMS received outside office hours and on public holidays (the
    holidays of [quiet_hours] country/subdivision), at most once per sender per closed period."""

    enabled: bool = False
    text: str = Field("", max_length=480)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    open_from: time = time(9, 0)
    open_until: time = time(18, 0)
    holidays: bool = True

    @model_validator(mode="after")
    def _usable(self) -> OutOfHoursSettings:
        if self.enabled and not self.text.strip():
            raise ValueError("text is empty: write the answer, or set enabled = false")
        if self.open_until <= self.open_from:
            raise ValueError("open_until must be later than open_from (same day)")
        return self


class LoggingSettings(Section):
    level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    """The whole configuration of one daemon."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAYD_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    storage: StorageSettings = StorageSettings()
    http: HttpSettings = HttpSettings()
    site: SiteSettings = SiteSettings()
    sending: SendingSettings = SendingSettings()
    modems: list[ModemSettings] = []
    optout: OptOutSettings = OptOutSettings()
    outbound: OutboundSettings = OutboundSettings()
    quiet_hours: QuietHoursSettings = QuietHoursSettings()
    api: ApiSettings = ApiSettings()
    webhooks: WebhookSettings = WebhookSettings()
    smseagle: SmsEagleSettings = SmsEagleSettings()
    android_gateway: AndroidGatewaySettings = AndroidGatewaySettings()
    inbound: InboundSettings = InboundSettings()
    imports: ImportSettings = ImportSettings()
    campaigns: CampaignSettings = CampaignSettings()
    console: ConsoleSettings = ConsoleSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    modem: ModemTimingSettings = ModemTimingSettings()
    retention: RetentionSettings = RetentionSettings()
    email: EmailSettings = EmailSettings()
    alerts: AlertSettings = AlertSettings()
    forwarding: ForwardingSettings = ForwardingSettings()
    sim_checks: list[SimCheckSettings] = []
    out_of_hours: OutOfHoursSettings = OutOfHoursSettings()
    logging: LoggingSettings = LoggingSettings()

    @field_validator("modems")
    @classmethod
    def _unique_modems(cls, modems: list[ModemSettings]) -> list[ModemSettings]:
        seen: set[str] = set()
        for modem in modems:
            if modem.name in seen:
                raise ValueError(f"duplicate modem name {modem.name!r}")
            seen.add(modem.name)
        return modems

    def simulated_line_names(self) -> list[str]:
        """The names `run --simulate N` gives its lines: line1, line2… skipping those [[modems]] use
        (an installed box's configuration names its real line `line1` too)."""
        taken = {modem.name for modem in self.modems}
        names: list[str] = []
        number = 0
        while len(names) < self.simulator.lines:
            number += 1
            if f"line{number}" not in taken:
                names.append(f"line{number}")
        return names

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment overrides them.
        return (env_settings, init_settings)


def gatewayd_home() -> Path:
    """Where the embedded default keeps its data: $GATEWAYD_HOME or ./var."""
    return Path(os.environ.get("GATEWAYD_HOME") or "var").absolute()


def embedded_defaults(simulated_lines: int) -> dict[str, Any]:
    """The no-config demo: local data dir, loopback only, simulated modems."""
    home = gatewayd_home()
    return {
        "storage": {"database": str(home / "gatewayd.db")},
        "http": {"host": "127.0.0.1", "port": 8080},
        "simulator": {"lines": simulated_lines},
    }


def load_settings(path: Path | None = None, *, simulate: int | None = None) -> Settings:
    """Read, merge and validate the configuration; raise ConfigError with one readable line."""
    data: dict[str, Any]
    if path is None and simulate is not None and not DEFAULT_CONFIG_PATH.exists():
        data = embedded_defaults(simulate)
    else:
        data = _read_toml(path or DEFAULT_CONFIG_PATH)
        if simulate is not None:
            data.setdefault("simulator", {})
            if isinstance(data["simulator"], dict):
                data["simulator"]["lines"] = simulate
    check_environment(os.environ)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except SettingsError as exc:
        # A JSON-valued variable (GATEWAYD_MODEMS='[{...}]') that does not parse.
        field = re.search(r'field "([a-z_]+)"', str(exc))
        name = f"GATEWAYD_{field.group(1).upper()}" if field else "a GATEWAYD_ variable"
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"config error: environment variable {name} is not valid JSON{cause}") from None


def check_environment(environ: Mapping[str, str]) -> None:
    """A GATEWAYD_<SECTION>__<KEY> variable whose section does not exist is refused, as an unknown
    key in the file is: a typo such as GATEWAYD_HTPP__PORT would otherwise be silently ignored.
    (Variables without `__`, such as GATEWAYD_HOME, are not settings.)"""
    sections = set(Settings.model_fields)
    for name in sorted(environ):
        if not name.startswith("GATEWAYD_") or "__" not in name:
            continue
        section = name[len("GATEWAYD_"):].split("__", 1)[0].lower()
        if section not in sections:
            raise ConfigError(f"config error: environment variable {name}: there is no section [{section}]"
                              f" (sections: {', '.join(sorted(sections))})")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found (give --config PATH, or --simulate for the demo)") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable (permission denied)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """First error as 'key.path: problem' (+ how many more), for a one-line exit message."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        problem = "unknown key"
    elif first["type"] == "missing":
        problem = "required key is missing"
    else:
        problem = first["msg"].removeprefix("Value error, ")
        secret = bool(first["loc"]) and str(first["loc"][-1]) in ("pin", "password")  # never echoed
        if "input" in first and first["type"] not in ("value_error",) and not isinstance(first["input"], dict) \
                and not secret:
            problem += f" (got {first['input']!r})"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"config error: {key}: {problem}{more}"
