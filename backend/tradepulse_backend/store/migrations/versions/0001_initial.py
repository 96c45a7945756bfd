"""Initial schema: resources, scopes, metric series and points, spans, logs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("service_name", sa.String, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("first_seen_ns", sa.Integer, nullable=False),
        sa.Column("last_seen_ns", sa.Integer, nullable=False),
    )
    op.create_table(
        "scopes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("version", sa.String, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("service_name", sa.String, nullable=False),
        sa.Column("resource_id", sa.Integer, sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("scope_id", sa.Integer, sa.ForeignKey("scopes.id"), nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("temporality", sa.Integer, nullable=False),
        sa.Column("monotonic", sa.Integer, nullable=False),
        sa.Column("unit", sa.String, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
    )
    op.create_index("ix_series_name_service", "series", ["name", "service_name"])
    op.create_table(
        "points",
        sa.Column("series_id", sa.Integer, primary_key=True),
        sa.Column("time_ns", sa.Integer, primary_key=True),
        sa.Column("start_ns", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "distribution_points",
        sa.Column("series_id", sa.Integer, primary_key=True),
        sa.Column("time_ns", sa.Integer, primary_key=True),
        sa.Column("start_ns", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("sum", sa.Float, nullable=True),
        sa.Column("min", sa.Float, nullable=True),
        sa.Column("max", sa.Float, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "spans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trace_key", sa.Integer, nullable=False),
        sa.Column("trace_id", sa.LargeBinary, nullable=False),
        sa.Column("span_id", sa.LargeBinary, nullable=False),
        sa.Column("parent_span_id", sa.LargeBinary, nullable=False),
        sa.Column("resource_id", sa.Integer, sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("scope_id", sa.Integer, sa.ForeignKey("scopes.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("kind", sa.Integer, nullable=False),
        sa.Column("start_ns", sa.Integer, nullable=False),
        sa.Column("end_ns", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_spans_trace_key", "spans", ["trace_key"])
    op.create_table(
        "logs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("time_ns", sa.Integer, nullable=False),
        sa.Column("resource_id", sa.Integer, sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("scope_id", sa.Integer, sa.ForeignKey("scopes.id"), nullable=False),
        sa.Column("severity_number", sa.Integer, nullable=False),
        sa.Column("severity_text", sa.String, nullable=False),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("trace_id", sa.LargeBinary, nullable=False),
        sa.Column("span_id", sa.LargeBinary, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("logs", "spans", "distribution_points", "points", "series", "scopes"):
        op.drop_table(table)
    op.drop_table("resources")
