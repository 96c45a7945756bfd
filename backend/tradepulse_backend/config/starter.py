"""`tradepulse init`: a commented starter config file, written from the config models.

Every key appears with its default and its description as a comment, so the file documents
itself and always matches the models (a new setting shows up without editing this module).
Keys whose default depends on the machine (`storage.data_dir`) or that hold secrets are written
commented out, so the file stays portable and keeps no secret.
"""

from __future__ import annotations

import textwrap
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr

from tradepulse_backend.config import templates
from tradepulse_backend.config.models import ROOT_KEY, MonitoringConfig

HEADER = """\
# tradepulse configuration (written by `tradepulse init`).
# Every setting is shown with its default; delete what you do not change. Values may use
# ${ENV_VAR} or ${ENV_VAR:-default}; keep secrets (API keys, passwords) in the environment.
# Check it with: tradepulse check-config FILE    Run with: tradepulse serve --config FILE
"""
COMMENTED_OUT = {("storage", "data_dir"): "~/.local/share/tradepulse"}
"""Keys written commented out, with the value shown: their default is resolved on the machine
that runs tradepulse ($XDG_DATA_HOME/tradepulse when that is set)."""
WIDTH = 96
EXAMPLE_NOTE = ("Example (the seed's rules; they name email and slack, so configure those "
                "under alerting_system.channels first; MonitoringConfig.get_alert_rule_templates()"
                " has more):")


def starter_config() -> str:
    """The whole default config as commented YAML under the ``monitoring:`` key."""
    defaults = MonitoringConfig().model_dump(mode="json", by_alias=True)
    lines = [HEADER.rstrip("\n"), f"{ROOT_KEY}:"]
    _section(MonitoringConfig, defaults, lines, path=(), depth=1)
    return "\n".join(lines) + "\n"


def _section(model: type[BaseModel], values: dict[str, Any], lines: list[str],
             path: tuple[str, ...], depth: int) -> None:
    indent = "  " * depth
    for name, info in model.model_fields.items():
        key = info.alias or name
        where = (*path, key)
        description = info.description or _first_line(_model_of(info.annotation))
        if not description and (item := _item_model(info.annotation)) is not None:
            description = f"A list; each entry: {_first_line(item)} (see README)"
        if description:
            lines.append("")
            lines.extend(f"{indent}# {line}" for line in
                         textwrap.wrap(description, WIDTH - len(indent) - 2))
        nested = _model_of(info.annotation)
        value = values.get(key)
        if nested is not None and isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            _section(nested, value, lines, where, depth + 1)
            continue
        rendered = _scalar(key, COMMENTED_OUT.get(where, value))
        if where in COMMENTED_OUT or _holds_secret(info.annotation):
            lines.extend(f"{indent}# {line}" for line in rendered)
        else:
            lines.extend(f"{indent}{line}" for line in rendered)
        if where == ("alerting_system", "rules") and not value:
            lines.extend(_rule_examples(indent))


def _rule_examples(indent: str) -> list[str]:
    """The seed's two rules as a commented `rules:` block to uncomment."""
    seed = {name: rule for name, rule in templates.performance_alert_templates().items()
            if name in ("daily_loss_5_percent", "max_drawdown_alert")}
    block = yaml.safe_dump({"rules": seed}, default_flow_style=None, sort_keys=False,
                           width=WIDTH - len(indent) - 2)
    lines = [f"{indent}# {line}" for line in textwrap.wrap(EXAMPLE_NOTE, WIDTH - len(indent) - 2)]
    return lines + [f"{indent}# {line}" for line in block.rstrip("\n").splitlines()]


def _scalar(key: str, value: Any) -> list[str]:
    """`key: value` in flow style when it fits one line, else as a nested block."""
    flow = yaml.safe_dump({key: value}, default_flow_style=True, width=10_000, sort_keys=False)
    flow = flow.strip().removeprefix("{").removesuffix("}")
    if len(flow) <= WIDTH - 8:
        return [flow]
    block = yaml.safe_dump({key: value}, default_flow_style=False, sort_keys=False)
    return block.rstrip("\n").splitlines()


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation is (or is optionally), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None and get_origin(annotation) not in (dict, list):
        found = [a for a in get_args(annotation)
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(found) == 1 and type(None) in get_args(annotation):
            return found[0]
    return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a list's items (through Annotated), for a list field's comment."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is list:
        return _model_of(get_args(annotation)[0])
    return None


def _holds_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_holds_secret(arg) for arg in get_args(annotation))


def _first_line(model: type[BaseModel] | None) -> str:
    if model is None or not model.__doc__:
        return ""
    return model.__doc__.strip().splitlines()[0]
