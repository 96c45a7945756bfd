"""Tables of the alerting engine: stored rules, alert state and history, silences, acks,
notification groups and the durable outbox (migration 0007)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from tradepulse_backend.store.schema import BigInt, metadata

alert_rules = Table(
    "alert_rules", metadata,
    Column("name", String, primary_key=True),
    Column("spec", Text, nullable=False),
    Column("updated_ns", BigInt, nullable=False),
)

alert_states = Table(
    "alert_states", metadata,
    Column("fingerprint", String, primary_key=True),
    Column("rule", String, nullable=False),
    Column("state", String, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_ns", BigInt, nullable=False),
)

alert_history = Table(
    "alert_history", metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String, nullable=False),
    Column("rule", String, nullable=False),
    Column("service", String, nullable=False),
    Column("severity", String, nullable=False),
    Column("state", String, nullable=False),
    Column("time_ns", BigInt, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_alert_history_time", "time_ns"),
)

alert_silences = Table(
    "alert_silences", metadata,
    Column("id", String, primary_key=True),
    Column("body", Text, nullable=False),
    Column("ends_ns", BigInt, nullable=False),
)

alert_acks = Table(
    "alert_acks", metadata,
    Column("fingerprint", String, primary_key=True),
    Column("acknowledged_by", String, nullable=False),
    Column("comment", Text, nullable=False),
    Column("time_ns", BigInt, nullable=False),
)

alert_groups = Table(
    "alert_groups", metadata,
    Column("key", String, primary_key=True),
    Column("body", Text, nullable=False),
    Column("updated_ns", BigInt, nullable=False),
)

alert_outbox = Table(
    "alert_outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String, nullable=False, unique=True),
    Column("channel", String, nullable=False),
    Column("group_key", String, nullable=False),
    Column("status", String, nullable=False),
    Column("severity", String, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ns", BigInt, nullable=False),
    Column("created_ns", BigInt, nullable=False),
    Column("updated_ns", BigInt, nullable=False),
    Column("last_error", Text, nullable=True),
    Index("ix_alert_outbox_due", "channel", "status", "next_attempt_ns"),
    Index("ix_alert_outbox_created", "created_ns"),
)
