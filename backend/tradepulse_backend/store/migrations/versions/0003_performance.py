"""Performance snapshots, the monitor's persisted state, and closed trades.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "performance_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service_name", sa.String, nullable=False),
        sa.Column("portfolio", sa.String, nullable=False),
        sa.Column("time_ns", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_performance_snapshots_key", "performance_snapshots",
                    ["service_name", "portfolio", "time_ns"])
    op.create_table(
        "performance_state",
        sa.Column("service_name", sa.String, primary_key=True),
        sa.Column("saved_ns", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service_name", sa.String, nullable=False),
        sa.Column("portfolio", sa.String, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("pnl", sa.Float, nullable=False),
        sa.Column("trade_return", sa.Float, nullable=True),
        sa.Column("quantity", sa.Float, nullable=True),
        sa.Column("entry_ns", sa.Integer, nullable=False),
        sa.Column("exit_ns", sa.Integer, nullable=False),
        sa.Column("span_key", sa.LargeBinary, nullable=False, unique=True),
    )
    op.create_index("ix_trades_service_exit", "trades", ["service_name", "exit_ns"])


def downgrade() -> None:
    op.drop_table("trades")
    op.drop_table("performance_state")
    op.drop_table("performance_snapshots")
