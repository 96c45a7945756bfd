"""Series fingerprints from content: the resource's and scope's fingerprints, not their row ids.

Series written before this revision are keyed by `fingerprint(resource_id, scope_id, ...)`;
decode now keys a series by content (`MetricSeries.create`), so without this revision every
existing series would get a second row on the next export. Both formulas are frozen here: a
migration must keep its meaning whatever the application code becomes. A row the new code
already created for an old series (the app ran on this database before the upgrade) is merged
into the old row, which keeps its id and history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHUNK = 500
POINT_TABLES = {
    "points": ("points", "points_staging"),
    "points_staging": ("points", "points_staging"),
    "distribution_points": ("distribution_points",),
}
"""Each table of points by series, and where a point at the same series and time may be."""

_series = sa.table(
    "series", sa.column("id"), sa.column("fingerprint"), sa.column("resource_id"),
    sa.column("scope_id"), sa.column("name"), sa.column("kind"), sa.column("temporality"),
    sa.column("monotonic"), sa.column("unit"), sa.column("attributes"))
_resources = sa.table("resources", sa.column("id"), sa.column("fingerprint"))
_scopes = sa.table("scopes", sa.column("id"), sa.column("fingerprint"))


def content_fingerprint(resource_fingerprint: bytes, scope_fingerprint: bytes, name: str,
                        kind: str, temporality: int, monotonic: int, unit: str,
                        attributes: str) -> bytes:
    """The series identity from 0005 on, from stored columns (`attributes` is the stored text)."""
    identity = json.dumps([bytes(resource_fingerprint).hex(), bytes(scope_fingerprint).hex(),
                           name, kind, int(temporality), bool(monotonic), unit])
    return hashlib.sha256(f"{identity}\n{attributes}".encode()).digest()


def id_fingerprint(resource_id: int, scope_id: int, name: str, kind: str, temporality: int,
                   monotonic: int, unit: str, attributes: str) -> bytes:
    """The series identity before 0005: row ids of resource and scope, attributes as a dict."""
    parts = (resource_id, scope_id, name, kind, int(temporality), bool(monotonic), unit,
             json.loads(attributes))
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()


def upgrade() -> None:
    conn = op.get_bind()
    for rows in _chunks(conn):
        wanted = {row.id: content_fingerprint(
            row.resource_fingerprint, row.scope_fingerprint, row.name, row.kind,
            row.temporality, row.monotonic, row.unit, row.attributes) for row in rows}
        stored = {row.id: bytes(row.fingerprint) for row in rows}
        merged = _merge_duplicates(conn, wanted)
        _set_fingerprints(conn, [(sid, fp) for sid, fp in wanted.items()
                                 if sid not in merged and fp != stored[sid]])


def downgrade() -> None:
    conn = op.get_bind()
    for rows in _chunks(conn):
        _set_fingerprints(conn, [(row.id, id_fingerprint(
            row.resource_id, row.scope_id, row.name, row.kind, row.temporality, row.monotonic,
            row.unit, row.attributes)) for row in rows])


def _chunks(conn: sa.Connection):
    """Series rows with their resource's and scope's fingerprints, CHUNK at a time by id."""
    query = (sa.select(*_series.c, _resources.c.fingerprint.label("resource_fingerprint"),
                       _scopes.c.fingerprint.label("scope_fingerprint"))
             .join(_resources, _resources.c.id == _series.c.resource_id)
             .join(_scopes, _scopes.c.id == _series.c.scope_id)
             .order_by(_series.c.id).limit(CHUNK))
    last = None
    while True:
        rows = conn.execute(query if last is None else query.where(_series.c.id > last)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _merge_duplicates(conn: sa.Connection, wanted: dict[int, bytes]) -> set[int]:
    """Fold every row wanting or already holding a fingerprint into the oldest of them; the
    ids folded away."""
    groups: dict[bytes, set[int]] = {}
    for sid, fp in wanted.items():
        groups.setdefault(fp, set()).add(sid)
    holders = conn.execute(sa.select(_series.c.id, _series.c.fingerprint)
                           .where(_series.c.fingerprint.in_(list(groups)))).all()
    for sid, fp in holders:
        groups[bytes(fp)].add(sid)
    merged: set[int] = set()
    for ids in groups.values():
        keeper, *others = sorted(ids)
        for duplicate in others:
            _move_points(conn, duplicate, keeper)
            conn.execute(_series.delete().where(_series.c.id == duplicate))
        merged.update(others)
    return merged


def _move_points(conn: sa.Connection, source: int, target: int) -> None:
    """Points of `source` become `target`'s; where both have a time, `target`'s point stays."""
    ids = {"source": source, "target": target}
    for table, holders in POINT_TABLES.items():
        times = " UNION ".join(f"SELECT time_ns FROM {t} WHERE series_id = :target"
                               for t in holders)
        conn.execute(sa.text(
            f"DELETE FROM {table} WHERE series_id = :source AND time_ns IN ({times})"), ids)
        conn.execute(sa.text(
            f"UPDATE {table} SET series_id = :target WHERE series_id = :source"), ids)


def _set_fingerprints(conn: sa.Connection, changes: list[tuple[int, bytes]]) -> None:
    if changes:
        conn.execute(_series.update().where(_series.c.id == sa.bindparam("sid"))
                     .values(fingerprint=sa.bindparam("fp")),
                     [{"sid": sid, "fp": fp} for sid, fp in changes])
