"""Reading the config file: YAML with ``${ENV}`` interpolation, validated by the models, with
errors that name the dotted key path and never echo input values (they may be secrets).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from tradepulse_backend.config.models import ROOT_KEY, MonitoringConfig, default_data_dir

logger = logging.getLogger(__name__)
_ENV_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


class ConfigError(Exception):
    """The configuration could not be loaded; ``errors`` holds one ``path: message`` per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> MonitoringConfig:
    """Read, interpolate and validate a config file; ``None`` gives the defaults.

    ``overrides`` (relative to ``monitoring``) are merged in last. Raises ``ConfigError`` listing
    every problem found.
    """
    env = os.environ if environ is None else environ
    section: dict[str, Any] = {}
    errors: list[str] = []
    skipped_paths: list[str] = []
    if path is not None:
        document = _read_yaml(Path(path))
        section, errors = _monitoring_section(document, Path(path))
        if errors:
            raise ConfigError(errors)
        section, env_errors = _interpolate(section, env, ROOT_KEY)
        errors = [message for _, message in env_errors]
        skipped_paths = [key_path for key_path, _ in env_errors]
    section = _deep_merge(section, overrides or {})
    storage = section.get("storage")
    if storage is None or (isinstance(storage, Mapping) and "data_dir" not in storage):
        section["storage"] = {**(storage or {}), "data_dir": default_data_dir(env)}
    try:
        config = MonitoringConfig.model_validate(section)
    except ValidationError as exc:
        errors.extend(_validation_messages(exc, skipped_paths))
    if errors:
        raise ConfigError(errors)
    logger.debug("configuration loaded from %s", path or "defaults")
    return config


def check_config_file(path: str | Path) -> list[str]:
    """Every problem in a config file as ``path: message`` lines; empty when it is valid."""
    try:
        load_config(path)
    except ConfigError as exc:
        return exc.errors
    return []


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, which YAML would otherwise resolve silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    """Parse the file; syntax errors report line and column but never the offending text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigError([f"{path}: cannot read file: {reason}"]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        problem = exc.problem or "invalid YAML"
        raise ConfigError([f"{path}: {where}{problem}{context}"]) from None
    except yaml.YAMLError:
        raise ConfigError([f"{path}: not valid YAML"]) from None


def _monitoring_section(document: Any, path: Path) -> tuple[dict[str, Any], list[str]]:
    """Unwrap the ``monitoring:`` key, reporting a missing root or stray top-level keys."""
    if document is None:
        return {}, []
    if not isinstance(document, Mapping):
        return {}, [f"{path}: expected a mapping with the top-level key '{ROOT_KEY}'"]
    errors = [
        f"{key}: unknown top-level key; settings go under '{ROOT_KEY}:'"
        for key in document
        if key != ROOT_KEY
    ]
    if ROOT_KEY not in document:
        errors.insert(0, f"{ROOT_KEY}: missing top-level key '{ROOT_KEY}:'")
    section = document.get(ROOT_KEY)
    if section is None:
        return {}, errors
    if not isinstance(section, Mapping):
        errors.append(f"{ROOT_KEY}: expected a mapping of sections")
        return {}, errors
    return {name: value for name, value in section.items() if value is not None}, errors


def _interpolate(
    value: Any, env: Mapping[str, str], key_path: str
) -> tuple[Any, list[tuple[str, str]]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in strings; ``$${`` stays a literal ``${``.

    Returns the new value and ``(key path, message)`` errors; messages name variables, not values.
    """
    errors: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            result[key], item_errors = _interpolate(item, env, f"{key_path}.{key}")
            errors.extend(item_errors)
        return result, errors
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            new_item, item_errors = _interpolate(item, env, f"{key_path}[{index}]")
            items.append(new_item)
            errors.extend(item_errors)
        return items, errors
    if not isinstance(value, str):
        return value, errors

    def substitute(match: re.Match[str]) -> str:
        token, name, default = match.group(0), match.group(1), match.group(2)
        if token == "$${":
            return "${"
        if name is None:
            errors.append((key_path, f"{key_path}: malformed ${{...}} reference"))
            return ""
        found = env.get(name)
        if default is not None and not found:
            return default
        if found is None:
            errors.append((key_path, f"{key_path}: environment variable {name} is not set"))
            return ""
        return found

    return _ENV_REFERENCE.sub(substitute, value), errors


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge nested mappings; values in ``update`` that are not mappings replace."""
    merged = dict(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _format_loc(loc: tuple[int | str, ...]) -> str:
    """``monitoring.a.b[0]`` from a pydantic location under the ``monitoring`` root."""
    parts = [ROOT_KEY]
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc``, for listing its allowed keys."""
    current: Any = MonitoringConfig
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unknown_key_message(loc: tuple[int | str, ...]) -> str:
    """Replace pydantic's "Extra inputs" text with the likely intended key or the allowed ones."""
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of: {', '.join(allowed)}"


_ERROR_LOCATIONS: dict[str, tuple[str, ...]] = {
    "port_clash": ("ingest", "port"),
    "grpc_port_clash": ("ingest", "grpc_port"),
}
"""Model-level errors reported at the key they are about rather than at the model's root."""


def _validation_messages(exc: ValidationError, skipped_paths: list[str]) -> list[str]:
    """``path: message`` per pydantic error, without input values; paths with env errors skipped."""
    messages = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        key_path = _format_loc(_ERROR_LOCATIONS.get(error["type"], error["loc"]))
        if any(key_path == p or key_path.startswith((f"{p}.", f"{p}[")) for p in skipped_paths):
            continue
        if error["type"] == "extra_forbidden":
            message = _unknown_key_message(error["loc"])
        else:
            message = error["msg"]
        messages.append(f"{key_path}: {message}")
    return messages
