"""Staging table for number points: appended by the writer, compacted into `points`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "points_staging",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("series_id", sa.Integer, nullable=False),
        sa.Column("time_ns", sa.Integer, nullable=False),
        sa.Column("start_ns", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("points_staging")
