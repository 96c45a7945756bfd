"""DashboardManager and the client queue in-process: bus events become typed messages in the
REST shapes, state coalesces per key, events overflow into a resync, subscriptions filter."""

from __future__ import annotations

import threading

import pytest

from tradepulse_backend.bus import AlertChanged, EventBus, HealthChanged, HealthSampled
from tradepulse_backend.dashboard.client import Client, Message, Subscription
from tradepulse_backend.dashboard.layouts import BUILTIN_DIR, LayoutCatalog
from tradepulse_backend.dashboard.manager import DashboardManager, SubscribeError
from tradepulse_backend.performance import PerformanceMonitor


def _client(capacity: int = 3, services=None, metrics=()) -> Client:
    return Client(Subscription(services, frozenset(metrics)), capacity, threading.Event(),
                  layout="default")


def test_state_messages_keep_the_newest_per_key_without_overflowing():
    client = _client(capacity=2)
    for value in range(10):
        client.put_many([Message("performance", "a", {"v": value}, ("performance", "a"))])
    resync, messages = client.take()
    assert not resync and [m.data for m in messages] == [{"v": 9}]
    assert client.wake.is_set()


def test_events_beyond_the_queue_empty_it_and_ask_for_a_resync_counting_the_drops():
    client = _client(capacity=2)
    client.put_many([Message("span", "a", {"spans": [i]}) for i in range(3)])
    client.put_many([Message("span", "a", {"spans": [9]})])
    resync, messages = client.take()
    assert resync and messages == [] and client.dropped == 3 and client.resyncs == 1
    client.put_many([Message("span", "a", {"spans": [10]})])
    assert client.take() == (False, [Message("span", "a", {"spans": [10]})])


def test_subscription_filters_services_and_metric_names():
    client = _client(services=frozenset({"a"}), metrics={"m1"})
    client.put_many([
        Message("performance", "b", {}, ("performance", "b")),
        Message("metric", "a", {"name": "m2", "series": []}),
        Message("metric", "a", {"name": "m1", "series": []}),
        Message("alert", None, {"fingerprint": "x"}, ("alert", "x")),
    ])
    _resync, messages = client.take()
    assert [(m.type, m.service) for m in messages] == [("metric", "a"), ("alert", None)]


@pytest.fixture
def manager():
    bus = EventBus()
    built = DashboardManager(performance=PerformanceMonitor(bus=bus), store=None, bus=bus,
                             layouts=LayoutCatalog.load([BUILTIN_DIR]))
    sent: list[Message] = []
    built.start(sent.extend, lambda: None)
    yield built, bus, sent
    bus.close()


def test_alert_and_health_events_become_messages_carrying_the_rest_dicts(manager):
    built, bus, sent = manager
    alert = {"fingerprint": "f1", "state": "firing", "labels": {"service": "bot-a"}}
    component = {"name": "broker", "status": "unhealthy", "reason": "disconnected"}
    bus.publish(AlertChanged(alert))
    bus.publish(HealthChanged(component))
    bus.publish(HealthSampled({"cpu_usage": 12.5}))
    assert built.flush()
    by_type = {m.type + str(m.key): m for m in sent}
    assert by_type["alert('alert', 'f1')"].data == alert
    assert by_type["alert('alert', 'f1')"].service == "bot-a"
    assert by_type["health('health', 'broker')"].data == component
    assert by_type["health('health', 'metrics')"].data == {"metrics": {"cpu_usage": 12.5}}


def test_subscribe_message_is_validated_naming_the_key(manager):
    built, _bus, _sent = manager
    chosen = built.parse_subscribe({"type": "subscribe", "services": ["a"], "metrics": None},
                                   "default")
    assert chosen.services == frozenset({"a"}) and chosen.metrics == frozenset()
    assert built.parse_subscribe({"services": None}, "default").services is None
    with pytest.raises(SubscribeError, match=r"subscribe\.metrics"):
        built.parse_subscribe({"metrics": [1]}, "default")
