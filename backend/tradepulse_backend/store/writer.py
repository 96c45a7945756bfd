"""Batch writes: every decoded request of a group lands in one transaction, or none does."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, Table, select

from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.store.dialects import Dialect
from tradepulse_backend.store.schema import resources, scopes, series
from tradepulse_backend.telemetry.records import (
    DecodedBatch,
    MetricKind,
    MetricSeries,
    Resource,
    Scope,
    SeriesCatalog,
    attributes_json,
)

SELECT_CHUNK = 500
"""Fingerprints per `IN (...)` lookup: well under SQLite's bound-variable limit."""
_NUMBER_KINDS = frozenset({MetricKind.GAUGE, MetricKind.SUM})
SERIES_COLUMNS = ("fingerprint", "name", "service_name", "resource_id", "scope_id", "kind",
                  "temporality", "monotonic", "unit", "description", "attributes")


class BatchWriter:
    """Writes decoded batches; caches the ids of resources, scopes and series it has seen.

    Only the writer thread calls it. New ids join the caches only after their transaction
    commits, so a failed write never leaves a cached id pointing at a rolled-back row.
    """

    def __init__(self, engine: Engine, dialect: Dialect, *, clock: Clock | None = None,
                 max_new_series_per_request: int = 10_000) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._resource_ids: dict[bytes, int] = {}
        self._scope_ids: dict[bytes, int] = {}
        self._series_ids: dict[bytes, int] = {}
        self.series_ids = SeriesCatalog(max_new_series_per_request)
        self._dialect = dialect
        self._sql = {
            "touch_resources": dialect.touch_resources_sql(),
            "latest": dialect.upsert_latest_sql(),
            "new_series": _compiled_insert(engine, dialect.insert_ignoring_duplicates(series),
                                           SERIES_COLUMNS),
        }

    def write(self, batches: Iterable[DecodedBatch]) -> None:
        """Store every record of the batches in one transaction."""
        pending = _Pending()
        with self._engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            try:
                self._write_all(conn, cursor, list(batches), pending)
            finally:
                cursor.close()
        self._resource_ids.update(pending.resources)
        self._scope_ids.update(pending.scopes)
        self._series_ids.update(pending.series)
        for item, sid in pending.created:
            item.id = sid
        self.series_ids.add([item for item, _ in pending.created])

    def _write_all(self, conn: Connection, cursor, batches: list[DecodedBatch],
                   pending: _Pending) -> None:
        seen: dict[int, int] = {}
        origin = _Origins(self, conn, pending, seen)
        span_rows = [
            (int.from_bytes(s.trace_id[:8], "big", signed=True), s.trace_id, s.span_id,
             s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns, s.status_code, s.body,
             *origin.ids(s.resource, s.scope))
            for batch in batches for s in batch.spans]
        log_rows = [
            (r.time_ns, r.severity_number, r.severity_text, r.body_text, r.trace_id, r.span_id,
             r.body, *origin.ids(r.resource, r.scope))
            for batch in batches for r in batch.logs]
        groups = [group for batch in batches for group in batch.metrics]
        sids = self._series_of(conn, cursor, [group.series for group in groups], origin,
                               pending)
        # One comprehension per table over every group: a request usually carries each series
        # once, so a comprehension per group would cost a call per point.
        with_ids = list(zip(groups, sids, strict=True))
        points = [(sid, t, start, value) for group, sid in with_ids
                  if group.series.kind in _NUMBER_KINDS for t, start, value in group.points]
        distributions = [(sid, d.time_ns, d.start_ns, d.count, d.sum, d.min, d.max, d.body)
                         for group, sid in with_ids if group.series.kind not in _NUMBER_KINDS
                         for d in group.points]
        for table, rows in (("points_staging", points), ("distribution_points", distributions),
                            ("spans", span_rows), ("logs", log_rows)):
            if rows:
                self._dialect.insert_rows(cursor, table, rows,
                                          ignore_duplicates=table == "distribution_points")
        latest = _newest_per_series(with_ids)
        if latest:
            cursor.executemany(self._sql["latest"], latest)
        if seen:
            cursor.executemany(
                self._sql["touch_resources"], [(ns, rid) for rid, ns in seen.items()]
            )

    def _series_of(self, conn: Connection, cursor, items: list[MetricSeries],
                   origin: _Origins, pending: _Pending) -> list[int]:
        """The id of each series; all unknown ones are created with one bulk INSERT."""
        sids = [item.id for item in items]
        if None not in sids:  # the steady state: decode found every series in the catalog
            return sids
        known = self._series_ids
        missing: dict[bytes, MetricSeries] = {}
        for item in items:
            if item.id is None and item.fingerprint not in known:
                missing.setdefault(item.fingerprint, item)
        if missing:
            self._create_series(conn, cursor, missing, origin, pending)
        return [item.id if item.id is not None else
                known.get(item.fingerprint) or pending.series[item.fingerprint]
                for item in items]

    def _create_series(self, conn: Connection, cursor, missing: dict[bytes, MetricSeries],
                       origin: _Origins, pending: _Pending) -> None:
        """One multi-row INSERT of the new series, then their ids by fingerprint."""
        rows = [_series_row(item, *origin.ids(item.resource, item.scope))
                for item in missing.values()]
        sql, positional = self._sql["new_series"]
        cursor.executemany(sql, rows if positional else
                           [dict(zip(SERIES_COLUMNS, row, strict=True)) for row in rows])
        found = _series_ids_by_fingerprint(conn, list(missing))
        pending.series.update(found)
        pending.created.extend((item, found[key]) for key, item in missing.items())

    def _resource_id(self, conn: Connection, resource: Resource, pending: _Pending) -> int:
        rid = self._resource_ids.get(resource.key) or pending.resources.get(resource.key)
        if rid is None:
            rid = pending.resources[resource.key] = _resource_row_id(
                conn, resource, self._clock.now_ns())
        return rid

    def _scope_id(self, conn: Connection, scope: Scope, pending: _Pending) -> int:
        scid = self._scope_ids.get(scope.key) or pending.scopes.get(scope.key)
        if scid is None:
            scid = pending.scopes[scope.key] = _scope_row_id(conn, scope)
        return scid


class _Origins:
    """Resource and scope ids of one transaction, noting when each resource was last seen."""

    __slots__ = ("_conn", "_ids", "_now", "_pending", "_seen", "_writer")

    def __init__(self, writer: BatchWriter, conn: Connection, pending: _Pending,
                 seen: dict[int, int]) -> None:
        self._writer, self._conn, self._pending, self._seen = writer, conn, pending, seen
        self._now = writer._clock.now_ns()
        self._ids: dict[tuple[bytes, bytes], tuple[int, int]] = {}

    def ids(self, resource: Resource, scope: Scope) -> tuple[int, int]:
        found = self._ids.get((resource.key, scope.key))
        if found is None:
            rid = self._writer._resource_id(self._conn, resource, self._pending)
            self._seen[rid] = self._now
            found = self._ids[resource.key, scope.key] = (
                rid, self._writer._scope_id(self._conn, scope, self._pending))
        return found


class _Pending:
    """Ids created inside the open transaction."""

    __slots__ = ("created", "resources", "scopes", "series")

    def __init__(self) -> None:
        self.resources: dict[bytes, int] = {}
        self.scopes: dict[bytes, int] = {}
        self.series: dict[bytes, int] = {}
        self.created: list[tuple[MetricSeries, int]] = []


def _resource_row_id(conn: Connection, resource: Resource, now_ns: int) -> int:
    return _row_id(conn, resources, resource.key, service_name=resource.service_name,
                   attributes=attributes_json(resource.attributes), first_seen_ns=now_ns,
                   last_seen_ns=now_ns)


def _scope_row_id(conn: Connection, scope: Scope) -> int:
    return _row_id(conn, scopes, scope.key, name=scope.name, version=scope.version,
                   attributes=attributes_json(scope.attributes))


def _row_id(conn: Connection, table: Table, key: bytes, **values: object) -> int:
    """The id of the row with fingerprint `key`, inserted with `values` when there is none."""
    found = conn.execute(select(table.c.id).where(table.c.fingerprint == key)).scalar()
    if found is not None:
        return found
    return conn.execute(table.insert().values(fingerprint=key, **values)
                        ).inserted_primary_key[0]


def _compiled_insert(engine: Engine, statement, columns: tuple[str, ...]) -> tuple[str, bool]:
    """A Core INSERT as driver SQL for the cursor's executemany (the fast batch path), and
    whether it takes positional parameters in `columns` order (else named ones)."""
    compiled = statement.compile(dialect=engine.dialect, column_keys=list(columns),
                                  for_executemany=True)
    if compiled.positional and tuple(compiled.positiontup) != columns:
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    return str(compiled), compiled.positional


def _series_row(item: MetricSeries, rid: int, scid: int) -> tuple:
    return (item.fingerprint, item.name, item.resource.service_name, rid, scid,
            item.kind.value, int(item.temporality), int(item.monotonic), item.unit,
            item.description, item.attributes_json)


def _series_ids_by_fingerprint(conn: Connection, keys: list[bytes]) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    for start in range(0, len(keys), SELECT_CHUNK):
        chunk = keys[start:start + SELECT_CHUNK]
        rows = conn.execute(select(series.c.fingerprint, series.c.id)
                            .where(series.c.fingerprint.in_(chunk)))
        found.update({key: sid for key, sid in rows})
    return found


def _newest_per_series(with_ids: list[tuple]) -> list[tuple]:
    """Rows of `latest_values` (INSERT_COLUMNS order): the newest point of each series in the
    batch; a group usually holds one point, so this is one step per group, not per point."""
    newest: dict[int, tuple] = {}
    for group, sid in with_ids:
        if not group.points:
            continue
        if group.series.kind in _NUMBER_KINDS:
            t, start, value = max(group.points, key=_time_of_number)
            row = (sid, t, start, value, None, None, None, None, 0)
        else:
            d = max(group.points, key=_time_of_distribution)
            row = (sid, d.time_ns, d.start_ns, None, d.count, d.sum, d.min, d.max, 0)
        if sid not in newest or row[1] >= newest[sid][1]:
            newest[sid] = row
    return list(newest.values())


def _time_of_number(point: tuple) -> int:
    return point[0]


def _time_of_distribution(point) -> int:
    return point.time_ns
