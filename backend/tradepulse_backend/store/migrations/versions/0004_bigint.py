"""64-bit nanosecond times, trace keys, distribution counts and big-table ids.

On SQLite every INTEGER already holds 64 bits (and an INTEGER PRIMARY KEY must stay spelled so to
remain the rowid), so this revision changes nothing there; on PostgreSQL it widens the columns and
the id sequences behind them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WIDENED = {
    "resources": ("first_seen_ns", "last_seen_ns"),
    "points": ("time_ns", "start_ns"),
    "points_staging": ("id", "time_ns", "start_ns"),
    "distribution_points": ("time_ns", "start_ns", "count"),
    "spans": ("id", "trace_key", "start_ns", "end_ns"),
    "logs": ("id", "time_ns"),
    "performance_snapshots": ("time_ns",),
    "performance_state": ("saved_ns",),
    "trades": ("entry_ns", "exit_ns"),
}


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger(), "BIGINT")


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer(), "INTEGER")


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine, sequence_type: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in WIDENED.items():
        for column in columns:
            op.alter_column(table, column, type_=new, existing_type=old, existing_nullable=False)
            if column == "id":
                op.execute(f"ALTER SEQUENCE {table}_id_seq AS {sequence_type}")
