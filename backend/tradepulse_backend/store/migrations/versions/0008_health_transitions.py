"""Component health transitions (system health).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "health_transitions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("component", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("at_ns", BigInt, nullable=False),
        sa.Column("from_status", sa.String, nullable=False),
        sa.Column("to_status", sa.String, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_health_transitions_component_at", "health_transitions",
                    ["component", "at_ns"])


def downgrade() -> None:
    op.drop_table("health_transitions")
