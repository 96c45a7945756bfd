"""Alerting: stored rules, alert state and history, silences, acks, groups and the outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("updated_ns", BigInt, nullable=False),
    )
    op.create_table(
        "alert_states",
        sa.Column("fingerprint", sa.String, primary_key=True),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_ns", BigInt, nullable=False),
    )
    op.create_table(
        "alert_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("service", sa.String, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("time_ns", BigInt, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_alert_history_time", "alert_history", ["time_ns"])
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("ends_ns", BigInt, nullable=False),
    )
    op.create_table(
        "alert_acks",
        sa.Column("fingerprint", sa.String, primary_key=True),
        sa.Column("acknowledged_by", sa.String, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("time_ns", BigInt, nullable=False),
    )
    op.create_table(
        "alert_groups",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_ns", BigInt, nullable=False),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String, nullable=False, unique=True),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("group_key", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_ns", BigInt, nullable=False),
        sa.Column("created_ns", BigInt, nullable=False),
        sa.Column("updated_ns", BigInt, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_alert_outbox_due", "alert_outbox",
                    ["channel", "status", "next_attempt_ns"])
    op.create_index("ix_alert_outbox_created", "alert_outbox", ["created_ns"])


def downgrade() -> None:
    for table in ("alert_outbox", "alert_groups", "alert_acks", "alert_silences",
                  "alert_history", "alert_states", "alert_rules"):
        op.drop_table(table)
