"""Migration 0005: a database written before the content fingerprints keeps one row per series,
on SQLite and on PostgreSQL, and its frozen formula stays equal to `MetricSeries.create`."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList
from sqlalchemy import select

from tests.integration.otlp_samples import SECOND, T0, cumulative_counter, metrics_request
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.store import Store, queries
from tradepulse_backend.store.migrate import MIGRATIONS, upgrade
from tradepulse_backend.store.schema import (
    latest_values,
    points,
    points_staging,
    resources,
    scopes,
    series,
)
from tradepulse_backend.telemetry.records import (
    MetricKind,
    MetricSeries,
    Resource,
    Scope,
    Temporality,
    attributes_json,
)

_spec = importlib.util.spec_from_file_location(
    "migration_0005", MIGRATIONS / "versions" / "0005_series_fingerprints.py")
migration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(migration)

SERVICE = "old-bot"
# As decode turns the point attributes below into a dict: a kvlist nests, text stays unicode.
ATTRIBUTES = {"symbol": "BTC/€", "venue": {"name": "Börse", "tier": 1}}
POINT_ATTRIBUTES = [
    KeyValue(key="venue", value=AnyValue(kvlist_value=KeyValueList(values=[
        KeyValue(key="tier", value=AnyValue(int_value=1)),
        KeyValue(key="name", value=AnyValue(string_value="Börse"))]))),
    KeyValue(key="symbol", value=AnyValue(string_value="BTC/€")),
]


@pytest.fixture
def url(storage_url, tmp_path) -> str:
    return storage_url or f"sqlite:///{tmp_path / 'tp.db'}"


def _old_fingerprint(*parts: object) -> bytes:
    """`fingerprint` as the writer before 0005 (commit c50f69f) computed it."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()


def _export(time_ns: int, value: float):
    """The bot's counter `trading.orders` (one series without attributes, one with), decoded."""
    counter = cumulative_counter("trading.orders", [(T0, time_ns, value)])
    point = counter.sum.data_points.add()
    point.CopyFrom(counter.sum.data_points[0])
    point.attributes.extend(POINT_ATTRIBUTES)
    request = ExportMetricsServiceRequest.FromString(metrics_request(SERVICE, [counter]))
    return decode_request("metrics", request)


def _write_like_the_old_writer(conn, attributes: dict, time_ns: int, value: float) -> int:
    """Resource, scope and series rows as the writer before 0005 made them, plus one point."""
    resource_attributes = {"service.name": SERVICE}
    rid = conn.execute(select(resources.c.id).where(resources.c.service_name == SERVICE)).scalar()
    if rid is None:
        rid = conn.execute(resources.insert().values(
            fingerprint=_old_fingerprint(resource_attributes), service_name=SERVICE,
            attributes=json.dumps(resource_attributes, sort_keys=True), first_seen_ns=T0,
            last_seen_ns=T0)).inserted_primary_key[0]
        conn.execute(scopes.insert().values(
            fingerprint=_old_fingerprint("tests", "", {}), name="tests", version="",
            attributes="{}"))
    scid = conn.execute(select(scopes.c.id)).scalar_one()
    sid = conn.execute(series.insert().values(
        fingerprint=_old_fingerprint(rid, scid, "trading.orders", "sum", 2, True, "{order}",
                                     attributes),
        name="trading.orders", service_name=SERVICE, resource_id=rid, scope_id=scid,
        kind="sum", temporality=2, monotonic=1, unit="{order}", description="",
        attributes=json.dumps(attributes, sort_keys=True))).inserted_primary_key[0]
    conn.execute(points.insert().values(series_id=sid, time_ns=time_ns, start_ns=T0,
                                        value=value))
    return sid


def _points_by_series(conn) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}
    for table in (points, points_staging):
        for sid, time_ns, value in conn.execute(
                select(table.c.series_id, table.c.time_ns, table.c.value)):
            found.setdefault(sid, []).append((time_ns, value))
    return {sid: [v for _, v in sorted(pairs)] for sid, pairs in found.items()}


def _run(conn, step) -> None:
    """A migration function of this module (so its CHUNK can be patched) on `conn`."""
    with Operations.context(MigrationContext.configure(conn)):
        step()


@pytest.mark.parametrize("kind, temporality, monotonic, attributes", [
    (MetricKind.SUM, Temporality.CUMULATIVE, True, {}),
    (MetricKind.SUM, Temporality.DELTA, False, {"side": "buy", "qty": 3, "ok": True}),
    (MetricKind.GAUGE, Temporality.UNSPECIFIED, False, {"symbol": "€/¥ ünïcode", "x": 0.5}),
    (MetricKind.HISTOGRAM, Temporality.DELTA, False,
     {"venue": {"name": "Börse", "tier": [1, 2, {"deep": None}]}, "b": "aGk="}),
    (MetricKind.EXP_HISTOGRAM, Temporality.CUMULATIVE, False, {"z": "last", "a": "first"}),
    (MetricKind.SUMMARY, Temporality.UNSPECIFIED, False, {"quantile_set": ["p50", "p99"]}),
])
def test_the_frozen_formula_equals_the_fingerprint_decode_gives_a_new_series(
        kind, temporality, monotonic, attributes):
    resource = Resource.of("bot-ü", {"service.name": "bot-ü", "host": {"id": 7}})
    scope = Scope.of("tradepulse.sdk", "1.2", {"lib": "ä"})
    created = MetricSeries.create(resource, scope, "trading.förders", kind, temporality,
                                  monotonic, "{order}", "ignored description", attributes)
    stored = (resource.key, scope.key, created.name, kind.value, int(temporality),
              int(monotonic), created.unit, attributes_json(attributes))
    assert migration.content_fingerprint(*stored) == created.fingerprint


def test_an_old_database_keeps_one_row_per_series_when_the_bot_exports_again(url, tmp_path):
    old = Store(url)
    upgrade(old.engine, "0004")
    with old.engine.begin() as conn:
        plain = _write_like_the_old_writer(conn, {}, T0 + SECOND, 1.0)
        tagged = _write_like_the_old_writer(conn, ATTRIBUTES, T0 + SECOND, 10.0)
    old.release()

    store = Store.open(url, tmp_path)
    try:
        store.writer.write([_export(T0 + 2 * SECOND, 2.0)])
        with store.engine.connect() as conn:
            assert sorted(conn.execute(select(series.c.id)).scalars()) == sorted([plain, tagged])
            assert _points_by_series(conn) == {plain: [1.0, 2.0], tagged: [10.0, 2.0]}
        found = queries.series_points(store, "trading.orders")
        assert sorted(len(item["points"]) for item in found) == [2, 2]
    finally:
        store.close()


def test_a_row_the_new_code_already_made_is_merged_into_the_old_one(url, monkeypatch):
    """Today's code ran on the database before 0005: its duplicate row folds into the old row,
    whose point wins where both have one at the same time."""
    monkeypatch.setattr(migration, "CHUNK", 1)
    store = Store(url)
    try:
        upgrade(store.engine, "0004")
        with store.engine.begin() as conn:
            old_id = _write_like_the_old_writer(conn, ATTRIBUTES, T0 + SECOND, 1.0)
            latest_values.create(conn)  # today's writer also keeps each series' newest point
        store.writer.write([_export(T0 + SECOND, 9.0)])
        store.writer.write([_export(T0 + 2 * SECOND, 2.0)])
        with store.engine.begin() as conn:
            assert len(conn.execute(select(series.c.id)).all()) == 3
            _run(conn, migration.upgrade)
            rows = conn.execute(select(series.c.id, series.c.attributes)).all()
            assert len(rows) == 2 and (old_id, attributes_json(ATTRIBUTES)) in rows
            plain = next(sid for sid, _ in rows if sid != old_id)
            assert _points_by_series(conn) == {old_id: [1.0, 2.0], plain: [9.0, 2.0]}
    finally:
        store.release()


def test_downgrade_restores_the_fingerprints_the_old_writer_looks_up(url, monkeypatch):
    monkeypatch.setattr(migration, "CHUNK", 1)
    store = Store(url)
    try:
        upgrade(store.engine, "0004")
        with store.engine.begin() as conn:
            for attributes in ({}, ATTRIBUTES, {"n": 1}):
                _write_like_the_old_writer(conn, attributes, T0, 1.0)
            before = conn.execute(select(series.c.id, series.c.fingerprint)).all()
            _run(conn, migration.upgrade)
            assert conn.execute(select(series.c.id, series.c.fingerprint)).all() != before
            _run(conn, migration.downgrade)
            after = conn.execute(select(series.c.id, series.c.fingerprint)).all()
        assert sorted(map(tuple, after)) == sorted(map(tuple, before))
    finally:
        store.release()


def test_head_can_step_back_to_0004_through_alembic(url):
    store = Store(url)
    try:
        upgrade(store.engine)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
                "0004")
    finally:
        store.release()
