"""Batch writes: every decoded request of a group lands in one transaction, or none does."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, select

from tradepulse_backend.store.dialects import dialect_for
from tradepulse_backend.store.schema import resources, scopes, series
from tradepulse_backend.telemetry.otlp import attributes, service_name
from tradepulse_backend.telemetry.records import DecodedBatch, MetricGroup, Origin, SeriesIds


class BatchWriter:
    """Writes decoded batches; caches the ids of resources, scopes and series it has seen.

    Only the writer thread calls it. New ids join the caches only after their transaction
    commits, so a failed write never leaves a cached id pointing at a rolled-back row.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._resource_ids: dict[bytes, int] = {}
        self._scope_ids: dict[bytes, int] = {}
        self.series_ids: SeriesIds = {}
        dialect = dialect_for(engine.url)
        self._sql = {
            "points_staging": dialect.insert_sql("points_staging"),
            "distribution_points": dialect.insert_sql("distribution_points",
                                                      ignore_duplicates=True),
            "spans": dialect.insert_sql("spans"),
            "logs": dialect.insert_sql("logs"),
            "touch_resources": dialect.touch_resources_sql(),
        }

    def write(self, batches: Iterable[DecodedBatch]) -> None:
        """Store every record of the batches in one transaction."""
        pending = _Pending()
        with self._engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            try:
                self._write_all(conn, cursor, batches, pending)
            finally:
                cursor.close()
        self._resource_ids.update(pending.resources)
        self._scope_ids.update(pending.scopes)
        for metric_key, ids in pending.series.items():
            self.series_ids[metric_key] = {**self.series_ids.get(metric_key, {}), **ids}

    def _write_all(self, conn: Connection, cursor, batches, pending: _Pending) -> None:
        points: list[tuple] = []
        distributions: list[tuple] = []
        span_rows: list[tuple] = []
        log_rows: list[tuple] = []
        seen: dict[int, int] = {}
        for batch in batches:
            for group in batch.spans:
                ids = self._origin_ids(conn, group.origin, pending, seen)
                span_rows.extend([row + ids for row in group.rows])
            for group in batch.logs:
                ids = self._origin_ids(conn, group.origin, pending, seen)
                log_rows.extend([row + ids for row in group.rows])
            for group in batch.metrics:
                ids = self._origin_ids(conn, group.origin, pending, seen)
                target = distributions if group.is_distribution else points
                target.extend(group.rows)
                for index, attributes_key, row in group.new_series:
                    sid = self._series_id(conn, group, index, attributes_key, ids, pending)
                    target.append((sid, *row[1:]))
        for table, rows in (("points_staging", points), ("distribution_points", distributions),
                            ("spans", span_rows), ("logs", log_rows)):
            if rows:
                cursor.executemany(self._sql[table], rows)
        if seen:
            cursor.executemany(
                self._sql["touch_resources"], [(ns, rid) for rid, ns in seen.items()]
            )

    def _origin_ids(self, conn, origin: Origin, pending: _Pending, seen: dict) -> tuple[int, int]:
        rid = self._resource_ids.get(origin.resource_key) or pending.resources.get(
            origin.resource_key)
        if rid is None:
            rid = pending.resources[origin.resource_key] = _resource_id(conn, origin.resource)
        seen[rid] = time.time_ns()
        scid = self._scope_ids.get(origin.scope_key) or pending.scopes.get(origin.scope_key)
        if scid is None:
            scid = pending.scopes[origin.scope_key] = _scope_id(conn, origin.scope)
        return (rid, scid)

    def _series_id(self, conn, group: MetricGroup, index: int, attributes_key: bytes,
                   origin_ids: tuple[int, int], pending: _Pending) -> int:
        known = pending.series.setdefault(group.key, {})
        sid = self.series_ids.get(group.key, {}).get(attributes_key) or known.get(attributes_key)
        if sid is None:
            rid, scid = origin_ids
            attrs = attributes(group.points[index].attributes)
            sid = known[attributes_key] = _series_row_id(conn, group, attrs, rid, scid)
        return sid


class _Pending:
    """Ids created inside the open transaction."""

    __slots__ = ("resources", "scopes", "series")

    def __init__(self) -> None:
        self.resources: dict[bytes, int] = {}
        self.scopes: dict[bytes, int] = {}
        self.series: SeriesIds = {}


def fingerprint(*parts: object) -> bytes:
    """A stable identity for attribute sets whatever order their keys arrived in."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()


def _resource_id(conn: Connection, resource) -> int:
    attrs = attributes(resource.attributes)
    key = fingerprint(attrs)
    found = conn.execute(select(resources.c.id).where(resources.c.fingerprint == key)).scalar()
    if found is not None:
        return found
    now = time.time_ns()
    return conn.execute(resources.insert().values(
        fingerprint=key, service_name=service_name(resource.attributes),
        attributes=json.dumps(attrs, sort_keys=True), first_seen_ns=now, last_seen_ns=now,
    )).inserted_primary_key[0]


def _scope_id(conn: Connection, scope) -> int:
    attrs = attributes(scope.attributes)
    key = fingerprint(scope.name, scope.version, attrs)
    found = conn.execute(select(scopes.c.id).where(scopes.c.fingerprint == key)).scalar()
    if found is not None:
        return found
    return conn.execute(scopes.insert().values(
        fingerprint=key, name=scope.name, version=scope.version,
        attributes=json.dumps(attrs, sort_keys=True),
    )).inserted_primary_key[0]


def _series_row_id(conn: Connection, group: MetricGroup, attrs: dict, rid: int, scid: int
                   ) -> int:
    key = fingerprint(rid, scid, group.name, group.kind, group.temporality, group.monotonic,
                      group.unit, attrs)
    found = conn.execute(select(series.c.id).where(series.c.fingerprint == key)).scalar()
    if found is not None:
        return found
    service = conn.execute(
        select(resources.c.service_name).where(resources.c.id == rid)).scalar_one()
    return conn.execute(series.insert().values(
        fingerprint=key, name=group.name, service_name=service, resource_id=rid, scope_id=scid,
        kind=group.kind, temporality=group.temporality, monotonic=int(group.monotonic),
        unit=group.unit, description=group.description,
        attributes=json.dumps(attrs, sort_keys=True),
    )).inserted_primary_key[0]
