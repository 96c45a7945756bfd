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

# Sealed number points: one row per series, tier and window. Tier 0 holds a window's raw points
# (times, values, and start times only where they vary) compressed by `chunk_codec`; tiers 60
# and 3600 hold 1-minute and 1-hour rollup entries. Min/max time and first/last/min/max value
# let queries prune without decoding.
series_chunks = Table(
    "series_chunks",
    metadata,
    Column("series_id", Integer, primary_key=True),
    Column("tier", Integer, primary_key=True),
    Column("start_ns", BigInt, primary_key=True),
    Column("min_time_ns", BigInt, nullable=False),
    Column("max_time_ns", BigInt, nullable=False),
    Column("count", BigInt, nullable=False),
    Column("first_value", Float, nullable=True),
    Column("last_value", Float, nullable=True),
    Column("min_value", Float, nullable=True),
    Column("max_value", Float, nullable=True),
    Column("start_time_ns", BigInt, nullable=True),
    Column("flags", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# The newest point of every series, updated in the write transaction (one row per series), and
# how far the series is sealed into chunks.
latest_values = Table(
    "latest_values",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("time_ns", BigInt, nullable=False),
    Column("start_ns", BigInt, nullable=False),
    Column("value", Float, nullable=True),
    Column("count", BigInt, nullable=True),
    Column("sum", Float, nullable=True),
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("sealed_until_ns", BigInt, nullable=False),
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
    "latest_values": (
        "series_id", "time_ns", "start_ns", "value", "count", "sum", "min", "max",
        "sealed_until_ns",
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

SNAPSHOT_FIELDS = (
    "annualized_return", "best_day", "best_trade", "calmar_ratio", "cash", "current_drawdown",
    "current_drawdown_days", "cvar_95", "daily_return", "days", "fill_rate", "gross_exposure",
    "herfindahl_index", "largest_position_share", "latency_p50_ms", "latency_p95_ms",
    "latency_p99_ms", "longest_drawdown_days", "max_drawdown", "monthly_return", "net_exposure",
    "order_success_rate", "orders", "pnl_today", "portfolio_value", "position_limit_breaches",
    "profit_factor", "realized_pnl", "rejection_rate", "reported_var", "sharpe_ratio",
    "slippage_mean_bps", "slippage_p95_bps", "sortino_ratio", "total_pnl", "total_return",
    "trades", "unrealized_pnl", "var_95", "var_limit", "var_limit_usage", "volatility",
    "weekly_return", "win_rate", "worst_day", "worst_trade", "ytd_return",
)
"""Snapshot figures stored as columns, so a history of one field reads one column."""

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
    *(Column(name, Float, nullable=True) for name in SNAPSHOT_FIELDS),
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
