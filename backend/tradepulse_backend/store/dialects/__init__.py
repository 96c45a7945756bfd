"""Everything that differs between databases, one object per database, chosen from the URL."""

from __future__ import annotations

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from tradepulse_backend.store.dialects.base import Dialect
from tradepulse_backend.store.dialects.postgresql import PostgreSQLDialect, driver_url
from tradepulse_backend.store.dialects.sqlite import SQLiteDialect

_DIALECTS: dict[str, type[Dialect]] = {"sqlite": SQLiteDialect, "postgresql": PostgreSQLDialect}


def dialect_for(url: str | URL) -> Dialect:
    """The dialect of a database URL (`sqlite:///...`, `postgresql://...`); ValueError names
    an unsupported one."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        backend = make_url(driver_url(text)).get_backend_name()
    except ArgumentError as error:
        raise ValueError(f"storage url: not a database URL ({error})") from None
    if backend not in _DIALECTS:
        raise ValueError(f"storage url: unsupported database {backend!r}; "
                         f"use sqlite:/// or postgresql://")
    return _DIALECTS[backend]()


__all__ = ["Dialect", "dialect_for"]
