"""The health transitions table, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tradepulse_backend.store import Store
from tradepulse_backend.store import health as stored


@pytest.fixture
def store(storage_url, tmp_path):
    opened = Store.open(storage_url or f"sqlite:///{tmp_path / 'tp.db'}", tmp_path)
    yield opened
    opened.close()


def _row(component: str, at_ns: int, before: str, after: str) -> dict:
    return {"component": component, "kind": "checker", "at_ns": at_ns, "from_status": before,
            "to_status": after, "message": f"{before}->{after}"}


def test_each_component_keeps_its_newest_transitions_oldest_first(store):
    stored.add_transitions(store, [
        _row("db", 1, "unknown", "healthy"), _row("db", 2, "healthy", "unhealthy"),
        _row("feed", 3, "unknown", "degraded"), _row("db", 4, "unhealthy", "healthy")])
    found = stored.recent_transitions(store, per_component=2)
    assert [(r["at_ns"], r["to_status"]) for r in found["db"]] == [(2, "unhealthy"),
                                                                    (4, "healthy")]
    assert found["feed"] == [{"kind": "checker", "at_ns": 3, "from_status": "unknown",
                              "to_status": "degraded", "message": "unknown->degraded"}]


def test_pruning_deletes_only_transitions_older_than_the_cutoff(store):
    big = 1_700_000_000 * 10**9
    stored.add_transitions(store, [_row("db", big, "unknown", "healthy"),
                                   _row("db", big + 10, "healthy", "degraded")])
    assert stored.prune_transitions(store, big + 5) == 1
    assert [r["at_ns"] for r in stored.recent_transitions(store, 10)["db"]] == [big + 10]
