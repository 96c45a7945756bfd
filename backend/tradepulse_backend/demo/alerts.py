"""The demo's alert: the simulated broker's disconnects fire a rule that the console channel
prints and `/api/v1/alerts` shows; the demo also prints each alert change it sees."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, TextIO

BROKER_RULE_NAME = "demo_broker_disconnected"
BROKER_RULE: dict[str, Any] = {
    "conditions": ["trading.broker.connected lt 1"],
    "severity": "warning",
    "title": "Broker {trading_broker} disconnected",
    "message": "{service} lost its broker connection; orders are being rejected",
    "channels": ["console"],
}


def install_rules(api: str) -> str:
    """Add the demo's rule through REST (`api` ends in /api/v1); a word on what happened."""
    body = json.dumps({"name": BROKER_RULE_NAME, **BROKER_RULE}).encode()
    request = urllib.request.Request(f"{api}/rules", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5):
            return "added"
    except urllib.error.HTTPError as error:
        if error.code == 400 and b"exists" in error.read():
            return "kept"
        raise


class AlertPrinter:
    """Prints `[alert] STATE severity: title` whenever an alert changes state."""

    def __init__(self, api: str, out: TextIO) -> None:
        self.api = api
        self.out = out
        self._seen: dict[str, str] = {}

    def poll(self) -> None:
        try:
            with urllib.request.urlopen(f"{self.api}/alerts", timeout=5) as response:
                alerts = json.load(response)["alerts"]
        except OSError:
            return
        for alert in alerts:
            if self._seen.get(alert["fingerprint"]) != alert["state"]:
                self._seen[alert["fingerprint"]] = alert["state"]
                self.out.write(f"[alert] {alert['state'].upper()} {alert['severity']}: "
                               f"{alert['title']}\n")
                self.out.flush()
