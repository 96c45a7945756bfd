"""Compressed series chunks with rollup tiers, a latest-values table, and snapshot figures as
columns.

Existing points stay in `points` and are sealed into chunks and rollups by the store's
compaction worker in the background (a bounded number of windows per run), so the upgrade
itself is quick and loses nothing. The latest values and the snapshot columns are filled here.
The field list is frozen: a migration keeps its meaning whatever the application becomes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHUNK = 2000
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
_DISTRIBUTIONS = ("histogram", "exponential_histogram", "summary")


def upgrade() -> None:
    op.create_table(
        "series_chunks",
        sa.Column("series_id", sa.Integer, primary_key=True),
        sa.Column("tier", sa.Integer, primary_key=True),
        sa.Column("start_ns", BigInt, primary_key=True),
        sa.Column("min_time_ns", BigInt, nullable=False),
        sa.Column("max_time_ns", BigInt, nullable=False),
        sa.Column("count", BigInt, nullable=False),
        sa.Column("first_value", sa.Float, nullable=True),
        sa.Column("last_value", sa.Float, nullable=True),
        sa.Column("min_value", sa.Float, nullable=True),
        sa.Column("max_value", sa.Float, nullable=True),
        sa.Column("start_time_ns", BigInt, nullable=True),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "latest_values",
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time_ns", BigInt, nullable=False),
        sa.Column("start_ns", BigInt, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("count", BigInt, nullable=True),
        sa.Column("sum", sa.Float, nullable=True),
        sa.Column("min", sa.Float, nullable=True),
        sa.Column("max", sa.Float, nullable=True),
        sa.Column("sealed_until_ns", BigInt, nullable=False),
    )
    with op.batch_alter_table("performance_snapshots") as batch:
        for name in SNAPSHOT_FIELDS:
            batch.add_column(sa.Column(name, sa.Float, nullable=True))
    conn = op.get_bind()
    _fill_latest_values(conn)
    _fill_snapshot_columns(conn)


def downgrade() -> None:
    with op.batch_alter_table("performance_snapshots") as batch:
        for name in SNAPSHOT_FIELDS:
            batch.drop_column(name)
    op.drop_table("latest_values")
    op.drop_table("series_chunks")


def _fill_latest_values(conn: sa.Connection) -> None:
    """The newest point of each series, from the points tables (chunks are empty yet)."""
    rows = []
    for sid, kind in conn.execute(sa.text("SELECT id, kind FROM series ORDER BY id")).all():
        if kind in _DISTRIBUTIONS:
            found = conn.execute(sa.text(
                "SELECT time_ns, start_ns, count, sum, min, max FROM distribution_points "
                "WHERE series_id = :sid ORDER BY time_ns DESC LIMIT 1"), {"sid": sid}).first()
            if found is not None:
                rows.append({"series_id": sid, "time_ns": found[0], "start_ns": found[1],
                             "value": None, "count": found[2], "sum": found[3],
                             "min": found[4], "max": found[5], "sealed_until_ns": 0})
            continue
        newest = None
        for table in ("points", "points_staging"):
            found = conn.execute(sa.text(
                f"SELECT time_ns, start_ns, value FROM {table} WHERE series_id = :sid "
                "ORDER BY time_ns DESC LIMIT 1"), {"sid": sid}).first()
            if found is not None and (newest is None or found[0] > newest[0]):
                newest = found
        if newest is not None:
            rows.append({"series_id": sid, "time_ns": newest[0], "start_ns": newest[1],
                         "value": newest[2], "count": None, "sum": None, "min": None,
                         "max": None, "sealed_until_ns": 0})
    if rows:
        conn.execute(sa.text(
            "INSERT INTO latest_values (series_id, time_ns, start_ns, value, count, sum, min, "
            "max, sealed_until_ns) VALUES (:series_id, :time_ns, :start_ns, :value, :count, "
            ":sum, :min, :max, :sealed_until_ns)"), rows)


def _fill_snapshot_columns(conn: sa.Connection) -> None:
    """Each stored snapshot's figures copied from its JSON body into the new columns."""
    sets = ", ".join(f"{name} = :{name}" for name in SNAPSHOT_FIELDS)
    update = sa.text(f"UPDATE performance_snapshots SET {sets} WHERE id = :id")
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, body FROM performance_snapshots WHERE id > :last ORDER BY id LIMIT "
            f"{CHUNK}"), {"last": last}).all()
        if not rows:
            return
        conn.execute(update, [{"id": row_id, **figures(body)} for row_id, body in rows])
        last = rows[-1][0]


def figures(body: str) -> dict[str, float | None]:
    """The snapshot fields of a JSON body as column values (numbers only, else None)."""
    found = json.loads(body)
    return {name: _number(found.get(name)) for name in SNAPSHOT_FIELDS}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
