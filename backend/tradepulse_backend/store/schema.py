"""Table definitions: the one description of the database that migrations and queries share."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Nanosecond times, trace keys and the ids of the big append-only tables exceed 2**31. On SQLite
# every INTEGER is already 64-bit, and only a column spelled INTEGER is a rowid alias that
# numbers itself, so there the type stays INTEGER (migration 0004).
BigInt = BigInteger().with_variant(Integer(), "sqlite")

resources = Table(
    "resources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", LargeBinary, nullable=False, unique=True),
    Column("service_name", String, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("first_seen_ns", BigInt, nullable=False),
    Column("last_seen_ns", BigInt, nullable=False),
)

scopes = Table(
    "scopes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", LargeBinary, nullable=False, unique=True),
    Column("name", String, nullable=False),
    Column("version", String, nullable=False),
    Column("attributes", Text, nullable=False),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", LargeBinary, nullable=False, unique=True),
    Column("name", String, nullable=False),
    Column("service_name", String, nullable=False),
    Column("resource_id", Integer, ForeignKey("resources.id"), nullable=False),
    Column("scope_id", Integer, ForeignKey("scopes.id"), nullable=False),
    Column("kind", String, nullable=False),
    Column("temporality", Integer, nullable=False),
    Column("monotonic", Integer, nullable=False),
    Column("unit", String, nullable=False),
    Column("description", Text, nullable=False),
    Column("attributes", Text, nullable=False),
    Index("ix_series_name_service", "name", "service_name"),
)

points = Table(
    "points",
    metadata,
    Column("series_id", Integer, primary_key=True),
    Column("time_ns", BigInt, primary_key=True),
    Column("start_ns", BigInt, nullable=False),
    Column("value", Float, nullable=True),
    sqlite_with_rowid=False,
)

# Number points land here first, in arrival order (cheap appends that touch few pages), and a
# background compaction moves them into `points` sorted by series, so each series' leaf page is
# written once per compaction rather than once per export.
points_staging = Table(
    "points_staging",
    metadata,
    Column("id", BigInt, primary_key=True),
    Column("series_id", Integer, nullable=False),
    Column("time_ns", BigInt, nullable=False),
    Column("start_ns", BigInt, nullable=False),
    Column("value", Float, nullable=True),
)

distribution_points = Table(
    "distribution_points",
    metadata,
    Column("series_id", Integer, primary_key=True),
    Column("time_ns", BigInt, primary_key=True),
    Column("start_ns", BigInt, nullable=False),
    Column("count", BigInt, nullable=False),
    Column("sum", Float, nullable=True),
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("body", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

spans = Table(
    "spans",
    metadata,
    Column("id", BigInt, primary_key=True),
    Column("trace_key", BigInt, nullable=False),
    Column("trace_id", LargeBinary, nullable=False),
    Column("span_id", LargeBinary, nullable=False),
    Column("parent_span_id", LargeBinary, nullable=False),
    Column("resource_id", Integer, ForeignKey("resources.id"), nullable=False),
    Column("scope_id", Integer, ForeignKey("scopes.id"), nullable=False),
    Column("name", String, nullable=False),
    Column("kind", Integer, nullable=False),
    Column("start_ns", BigInt, nullable=False),
    Column("end_ns", BigInt, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Index("ix_spans_trace_key", "trace_key"),
)

logs = Table(
    "logs",
    metadata,
    Column("id", BigInt, primary_key=True),
    Column("time_ns", BigInt, nullable=False),
    Column("resource_id", Integer, ForeignKey("resources.id"), nullable=False),
    Column("scope_id", Integer, ForeignKey("scopes.id"), nullable=False),
    Column("severity_number", Integer, nullable=False),
    Column("severity_text", String, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("trace_id", LargeBinary, nullable=False),
    Column("span_id", LargeBinary, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

# Column order of the batch inserts: decoded rows first, then the ids the writer resolves.
INSERT_COLUMNS = {
    "points": ("series_id", "time_ns", "start_ns", "value"),
    "points_staging": ("series_id", "time_ns", "start_ns", "value"),
    "distribution_points": (
        "series_id", "time_ns", "start_ns", "count", "sum", "min", "max", "body",
    ),
    "spans": (
        "trace_key", "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns",
        "end_ns", "status_code", "body", "resource_id", "scope_id",
    ),
    "logs": (
        "time_ns", "severity_number", "severity_text", "body_text", "trace_id", "span_id",
        "body", "resource_id", "scope_id",
    ),
}

# Derived performance: a snapshot per (service, portfolio) every update interval, the live
# monitor's state per service (so a restart continues where it stopped), and closed trades.
performance_snapshots = Table(
    "performance_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service_name", String, nullable=False),
    Column("portfolio", String, nullable=False),
    Column("time_ns", BigInt, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_performance_snapshots_key", "service_name", "portfolio", "time_ns"),
)

performance_state = Table(
    "performance_state",
    metadata,
    Column("service_name", String, primary_key=True),
    Column("saved_ns", BigInt, nullable=False),
    Column("body", Text, nullable=False),
)

trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service_name", String, nullable=False),
    Column("portfolio", String, nullable=False),
    Column("symbol", String, nullable=False),
    Column("side", String, nullable=False),
    Column("pnl", Float, nullable=False),
    Column("trade_return", Float, nullable=True),
    Column("quantity", Float, nullable=True),
    Column("entry_ns", BigInt, nullable=False),
    Column("exit_ns", BigInt, nullable=False),
    Column("span_key", LargeBinary, nullable=False, unique=True),
    Index("ix_trades_service_exit", "service_name", "exit_ns"),
)
