"""The table of component status transitions (system health), on the shared schema metadata."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from tradepulse_backend.store.schema import BigInt, metadata

health_transitions = Table(
    "health_transitions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("component", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("at_ns", BigInt, nullable=False),
    Column("from_status", String, nullable=False),
    Column("to_status", String, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_health_transitions_component_at", "component", "at_ns"),
)
