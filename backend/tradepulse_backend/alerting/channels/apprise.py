"""Apprise channel: Telegram, Pushover, Teams, ntfy and ~100 more through the Apprise library
(the optional extra ``tradepulse[apprise]``)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.channels.render import heading, plain_text
from tradepulse_backend.alerting.severity import AlertSeverity
from tradepulse_backend.clock import Clock
from tradepulse_backend.config.channels import AppriseChannelConfig

try:
    import apprise as apprise_lib
except ImportError:  # the optional extra is not installed
    apprise_lib = None

logger = logging.getLogger(__name__)

EXTRA_HINT = "the apprise channel needs the optional extra: pip install 'tradepulse[apprise]'"
_REMEMBERED_KEYS = 1024


class ChannelUnavailableError(RuntimeError):
    """A configured channel cannot work here (a missing optional dependency)."""


_NOTIFY_TYPES = {
    AlertSeverity.INFO: "info",
    AlertSeverity.WARNING: "warning",
    AlertSeverity.CRITICAL: "failure",
}


class AppriseChannel(AlertChannel):
    """Sends to each Apprise URL; a retry of the same key skips URLs that already got it."""

    def __init__(self, name: str, config: AppriseChannelConfig, *, user_agent: str = "",
                 clock: Clock | None = None) -> None:
        if apprise_lib is None:
            raise ChannelUnavailableError(f"channel '{name}': {EXTRA_HINT}")
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = None
        self._timeout = config.timeout
        asset = apprise_lib.AppriseAsset(app_id=user_agent or "tradepulse", app_desc="tradepulse")
        self._services = []
        for index, url in enumerate(config.urls):
            service = apprise_lib.Apprise.instantiate(url.get_secret_value(), asset=asset)
            if service is None:
                raise ValueError(f"channel '{name}': urls[{index}] is not a valid Apprise URL")
            self._services.append(service)
        self._delivered: OrderedDict[str, set[int]] = OrderedDict()

    def send(self, notification: Notification) -> DeliveryResult:
        """Notify every URL not yet reached for this key, within the timeout overall."""
        done = self._delivered.get(notification.key, set())
        notify_type = ("success" if notification.status == "resolved"
                       else _NOTIFY_TYPES[notification.severity])
        deadline = time.monotonic() + self._timeout
        failed = []
        for index, service in enumerate(self._services):
            if index in done:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._notify(service, notification, notify_type, remaining):
                failed.append(index)
            else:
                done.add(index)
        self._remember(notification.key, done)
        if not failed:
            return DeliveryResult(DeliveryStatus.OK)
        names = ", ".join(f"urls[{index}]" for index in failed)
        detail = f"{len(failed)} of {len(self._services)} Apprise URLs failed: {names}"
        return DeliveryResult(DeliveryStatus.RETRY, detail)

    def _notify(self, service: object, notification: Notification, notify_type: str,
                timeout: float) -> bool:
        sender = apprise_lib.Apprise()
        sender.add(service)
        try:
            return bool(sender.notify(body=plain_text(notification) or notification.title,
                                      title=heading(notification), notify_type=notify_type,
                                      timeout=timeout))
        except Exception as error:  # a plugin bug must not take the sender worker down
            logger.warning("channel %s: Apprise raised %s", self.name, type(error).__name__)
            return False

    def _remember(self, key: str, done: set[int]) -> None:
        self._delivered[key] = done
        self._delivered.move_to_end(key)
        while len(self._delivered) > _REMEMBERED_KEYS:
            self._delivered.popitem(last=False)
