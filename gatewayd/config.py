"""Settings: one TOML file plus GATEWAYD_<SECTION>__<KEY> environment overrides, validated once.

Every part of the daemon receives its own typed section; nothing else reads files or the
environment for configuration. Every setting is documented in config/gatewayd.example.toml.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gatewayd.inbound import stop_words as keywords

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


class ModemSettings(Section):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    port: str
    baudrate: int = Field(115200, ge=1200, le=4_000_000)
    pin: str | None = Field(None, pattern=r"^[0-9]{4,8}$")
    dialect: Literal["auto", "generic", "sim800", "sim7600", "ec25", "e3372", "sierra", "telit"] = "auto"
    auto_hangup: bool = False

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
            raise ValueError("STOP must stay a stop word: marketing messages tell people to answer STOP")
        return self


class InboundSettings(Section):
    # A long SMS still missing parts after this many minutes is kept as it is, marked incomplete.
    reassembly_timeout_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    # Automatic SMS (auto-replies, confirmations, missed-call texts) to one number: at most this many...
    autoreply_max: int = Field(3, ge=1, le=1000)
    # ...per this many minutes, so two machines can never answer each other forever.
    autoreply_window_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
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


class CampaignSettings(Section):
    # Appended to every marketing text (French readers); "{number}" is replaced by stop_number.
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

    def mention(self, language: str = "fr") -> str:
        """The opt-out mention appended to marketing texts for a reader of `language` (fr/en)."""
        text = self.stop_mention_en if language == "en" else self.stop_mention
        return text.replace("{number}", self.stop_number).strip()


class ConsoleSettings(Section):
    # A console session ends this many hours after sign-in, whatever happens.
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    # ...or after this many minutes without a request.
    idle_minutes: int = Field(60, ge=1, le=24 * 60)
    # Send cookies with the Secure flag (set true when the console is reached over HTTPS).
    secure_cookies: bool = False
    # Failed sign-ins counted over this window...
    login_window_minutes: int = Field(15, ge=1, le=24 * 60)
    # ...at most this many per user name (then wait)...
    login_max_per_user: int = Field(5, ge=1, le=1000)
    # ...and this many per client address.
    login_max_per_address: int = Field(20, ge=1, le=10_000)
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
            raise ValueError("choose at least one day, or turn the window off")
        if self.send_until <= self.send_from:
            raise ValueError("send_until must be later than send_from (same day)")
        if self.holidays:
            # Loads only this country's module (country_holidays() imports all ~280: ~9 MB resident).
            from gatewayd.outbound.quiet_hours import holiday_calendar

            try:
                holiday_calendar(self.country, self.subdivision)
            except NotImplementedError:
                raise ValueError(f"no public holiday calendar for {self.country!r}/{self.subdivision!r}") from None
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
    inbound: InboundSettings = InboundSettings()
    imports: ImportSettings = ImportSettings()
    campaigns: CampaignSettings = CampaignSettings()
    console: ConsoleSettings = ConsoleSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    modem: ModemTimingSettings = ModemTimingSettings()
    retention: RetentionSettings = RetentionSettings()
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
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


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
        if "input" in first and first["type"] not in ("value_error",) and not isinstance(first["input"], dict):
            problem += f" (got {first['input']!r})"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"config error: {key}: {problem}{more}"
