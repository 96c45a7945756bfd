"""Safe message templates: `str.format` fields over plain names only, checked when a rule is
created (config.alerting.check_template) and rendered so a missing or unformattable field
becomes `n/a` instead of breaking the notification."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

MISSING = "n/a"
_FORMATTER = string.Formatter()


def render(template: str, context: Mapping[str, Any]) -> str:
    """The template with each `{name:spec}` filled from `context`; missing, None or
    unformattable values render as `n/a`. Templates were checked at rule creation; anything
    else found here renders literally."""
    out: list[str] = []
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError:
        return template
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if conversion is not None or not name.isidentifier():
            out.append(MISSING)
            continue
        value = context.get(name)
        if value is None:
            out.append(MISSING)
            continue
        try:
            out.append(format(value, spec or ""))
        except (ValueError, TypeError):
            out.append(MISSING)
    return "".join(out)


def format_value(value: Any) -> str:
    """A figure for a notification field: up to 6 significant digits, `n/a` for None."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
