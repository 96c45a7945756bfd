"""Config models for alert channels, one per type, selected by `type` (defaulting to the name)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tradepulse_backend.config.base import Host, Port, Secret, _Section


def _check_http_url(value: str) -> str:
    """Accept only absolute http(s) URLs, so a typo fails at load instead of at the first alert."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest.split("/", 1)[0]:
        raise PydanticCustomError("http_url", "must be an http:// or https:// URL")
    return value


def _http_url(value: str) -> str:
    """A URL shown in plain text (config dumps, logs), so it may not carry a password."""
    _check_http_url(value)
    if "@" in value.partition("://")[2].split("/", 1)[0]:
        raise PydanticCustomError(
            "url_credentials", "must not hold credentials; use basic_auth or headers instead")
    return value


def _http_url_secret(value: Any) -> Any:
    """The same check for a URL held as a secret; the message never repeats the value."""
    _check_http_url(value.get_secret_value())
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
SecretHttpUrl = Annotated[Secret, AfterValidator(_http_url_secret)]
Timeout = Annotated[
    float, Field(gt=0, le=300, description="Seconds one delivery attempt may take.")
]


class _ChannelBase(_Section):
    """Settings every channel has."""

    send_resolved: bool = Field(True, description="Also notify when an alert resolves.")

    @model_validator(mode="before")
    @classmethod
    def _name_unknown_keys(cls, data: Any) -> Any:
        """Name the unknown key and the closest allowed one, at the channel's path."""
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                key = str(unknown[0])
                close = difflib.get_close_matches(key, list(cls.model_fields), n=1)
                hint = (f"did you mean '{close[0]}'?" if close
                        else f"expected one of: {', '.join(cls.model_fields)}")
                raise PydanticCustomError(
                    "unknown_channel_key", "unknown key '{key}'; {hint}", {"key": key, "hint": hint}
                )
        return data


class EmailChannelConfig(_ChannelBase):
    """SMTP delivery, with the seed's key names."""

    type: Literal["email"] = "email"
    smtp_server: Host
    smtp_port: Port = 587
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls",
        description="starttls (default), ssl (default on port 465) or none (local relays only).",
    )
    sender_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    sender_password: Secret | None = Field(None, description="SMTP password; none skips login.")
    username: str | None = Field(None, description="SMTP login; defaults to sender_email.")
    recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    ca_file: str | None = Field(
        None, description="PEM file of CAs to trust instead of the system's (a private relay)."
    )
    timeout: Timeout = 10.0

    @model_validator(mode="before")
    @classmethod
    def _default_security(cls, data: Any) -> Any:
        """ssl on port 465 (implicit TLS), starttls everywhere else unless set."""
        if isinstance(data, Mapping) and data.get("security") is None:
            implicit_tls = str(data.get("smtp_port")) == "465"
            data = {**data, "security": "ssl" if implicit_tls else "starttls"}
        return data

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> EmailChannelConfig:
        if self.security == "none" and self.sender_password is not None:
            raise PydanticCustomError(
                "password_in_clear",
                "sender_password would be sent unencrypted; use security starttls or ssl",
            )
        return self


class SlackChannelConfig(_ChannelBase):
    """Slack by incoming webhook, or by bot token and channel (chat.postMessage)."""

    type: Literal["slack"] = "slack"
    webhook_url: SecretHttpUrl | None = None
    bot_token: Secret | None = None
    channel: str | None = Field(None, min_length=1, description="Channel for bot_token posts.")
    api_url: HttpUrl = Field("https://slack.com/api", description="Base URL of the Web API.")
    username: str | None = None
    timeout: Timeout = 10.0

    @model_validator(mode="after")
    def _one_way_to_post(self) -> SlackChannelConfig:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise PydanticCustomError(
                "slack_target", "set either webhook_url, or bot_token together with channel"
            )
        if self.bot_token is not None and self.channel is None:
            raise PydanticCustomError("slack_channel", "bot_token needs a channel to post to")
        return self


class DiscordChannelConfig(_ChannelBase):
    """A Discord webhook (one per server channel)."""

    type: Literal["discord"] = "discord"
    webhook_url: SecretHttpUrl
    username: str = Field("tradepulse", min_length=1, max_length=80)
    timeout: Timeout = 10.0


class BasicAuth(_Section):
    """HTTP basic authentication, sent as an Authorization header."""

    username: str = Field(min_length=1)
    password: Secret


class _HttpAuth(_ChannelBase):
    """Credentials for an HTTP endpoint: extra headers, or basic auth."""

    headers: dict[str, Secret] = Field(
        default_factory=dict, description="Extra request headers; values are treated as secrets."
    )
    basic_auth: BasicAuth | None = None

    @model_validator(mode="after")
    def _one_authorization(self) -> _HttpAuth:
        if self.basic_auth is not None and any(
                name.lower() == "authorization" for name in self.headers):
            raise PydanticCustomError(
                "two_authorizations", "set basic_auth or an Authorization header, not both")
        return self


class WebhookChannelConfig(_HttpAuth):
    """Any HTTP endpoint, given Alertmanager's webhook payload (version 4)."""

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    hmac_secret: Secret | None = Field(
        None, description="Signs the body: X-Tradepulse-Signature: sha256=<hex>."
    )
    timeout: Timeout = 10.0


class AlertmanagerChannelConfig(_HttpAuth):
    """Forwarding to a Prometheus Alertmanager through its v2 API."""

    type: Literal["alertmanager"] = "alertmanager"
    url: HttpUrl = Field(description="Alertmanager base URL, e.g. http://127.0.0.1:9093.")
    resend_interval: float = Field(
        60.0, gt=0, description="Seconds between re-sends of a firing alert."
    )
    timeout: Timeout = 10.0


class AppriseChannelConfig(_ChannelBase):
    """Any service Apprise supports (Telegram, Pushover, Teams, ntfy, ...) by URL."""

    type: Literal["apprise"] = "apprise"
    urls: list[Secret] = Field(min_length=1, description="Apprise URLs; they hold tokens.")
    timeout: Timeout = 10.0


class ConsoleChannelConfig(_ChannelBase):
    """One log line per notification, at the severity's level."""

    type: Literal["console"] = "console"
    logger: str = Field("tradepulse.alerts", min_length=1)


CHANNEL_CONFIG_TYPES: dict[str, type[_ChannelBase]] = {
    "email": EmailChannelConfig,
    "slack": SlackChannelConfig,
    "discord": DiscordChannelConfig,
    "webhook": WebhookChannelConfig,
    "alertmanager": AlertmanagerChannelConfig,
    "apprise": AppriseChannelConfig,
    "console": ConsoleChannelConfig,
}

AnyChannelConfig = (
    EmailChannelConfig | SlackChannelConfig | DiscordChannelConfig | WebhookChannelConfig
    | AlertmanagerChannelConfig | AppriseChannelConfig | ConsoleChannelConfig
)


def _by_type(value: Any) -> Any:
    """Validate one entry with the model its `type` names (errors keep the entry's key path)."""
    if isinstance(value, _ChannelBase):
        return value
    if not isinstance(value, Mapping):
        raise PydanticCustomError("channel_mapping", "must be a mapping of channel settings")
    kind = value.get("type")
    model = CHANNEL_CONFIG_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise PydanticCustomError(
            "unknown_channel_type",
            "unknown channel type '{kind}'; set type to one of: {types}",
            {"kind": str(kind), "types": ", ".join(CHANNEL_CONFIG_TYPES)},
        )
    return model.model_validate(value)


def _dump(value: _ChannelBase, info: SerializationInfo) -> dict[str, Any]:
    """Serialize by the entry's own model (secrets masked in JSON mode by their type)."""
    return value.model_dump(mode=info.mode, exclude_none=info.exclude_none)


ChannelConfig = Annotated[
    AnyChannelConfig,
    PlainValidator(_by_type, json_schema_input_type=dict[str, Any]),
    PlainSerializer(_dump),
]
"""One channel's settings; `type` picks the model (a discriminated union on `type`)."""


def _type_from_name(value: Any) -> Any:
    """Lay the entries over the default channels (null removes one) and give each entry
    without a `type` its name as type, so `email: {...}` needs none."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        return value
    merged = {**{name: {} for name in default_channels()}, **value}
    return {
        name: ({**entry, "type": str(name)} if isinstance(entry, Mapping)
               and entry.get("type") is None else entry)
        for name, entry in merged.items() if entry is not None
    }


def default_channels() -> dict[str, AnyChannelConfig]:
    """Channels present without any config: the console, so `channels: [console]` just works."""
    return {"console": ConsoleChannelConfig()}


ChannelsConfig = Annotated[dict[str, ChannelConfig], BeforeValidator(_type_from_name)]
"""The `alerting_system.channels` mapping: channel name to settings, always with `console`
unless set to null. Use as `channels: ChannelsConfig = Field(default_factory=default_channels)`."""


class ChannelConfigError(ValueError):
    """Invalid channel settings; `errors` holds one `path: message` per fault, never a value."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_channels(
    raw: Mapping[str, Any] | None, *, prefix: str = "channels"
) -> dict[str, AnyChannelConfig]:
    """Validate a whole `channels` mapping; errors name the key path under `prefix`."""
    try:
        return _CHANNELS.validate_python(raw)
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            path = prefix + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
            )
            errors.append(f"{path}: {error['msg']}")
        raise ChannelConfigError(errors) from None


_CHANNELS: TypeAdapter[dict[str, AnyChannelConfig]] = TypeAdapter(ChannelsConfig)
