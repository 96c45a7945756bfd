"""The WebSocket stream at `/ws` (flask-sock, on the dashboard port): the page's live feed.

Protocol (the page codes against exactly this):

Connect: `GET /ws?service=S[&service=S2][&layout=NAME]`. Without `service` the client follows
every service; `layout` (default `dashboard.layout`) picks which ingested metrics it gets
`metric` messages for (those its `source: metric` panels chart). Refused before the upgrade
with a JSON body: 401 without credentials when `dashboard.auth` is on, 403 when `Origin` is
not this server's host, 400 for an unknown layout or a plain HTTP request, 503 when
`dashboard.max_websockets` are open.

Client messages: `{"type": "subscribe", "services": [...] | null, "metrics": [...] | null}`
replaces the subscription (null services: all; null metrics: the layout's) and is answered
by a fresh `snapshot`. A message that cannot be used gets an `error` message
(`data: {"error": "..."}`) and changes nothing.

Server messages are JSON objects `{"type", "service", "data", "seq"}`; `seq` starts at 1 and
grows by 1 per message on each connection. `service` is the bot a message is about, or null.
Each `data` is exactly what the matching REST endpoint returns (`dashboard/views.py` builds
both):
- `snapshot`: `{"services": [...] (GET /api/v1/services' list), "performance": {service:
  GET /api/v1/performance?service=S}, "positions": {service: GET /api/v1/positions?service=S},
  "execution": {service: GET /api/v1/execution?service=S}, "health": GET /api/v1/health or
  null when the health package is absent, "alerts": GET /api/v1/alerts or null when absent,
  "layout": GET /api/v1/layouts/NAME}`. Always the first message, and again after `resync`
  or `subscribe`.
- `performance`, `positions`, `execution`: the service's REST body, whenever its figures change.
- `health`: a component's `GET /api/v1/health/components/<name>` body when its status changes,
  or `{"metrics": ...}` (GET /api/v1/health's `metrics`) when the host is sampled.
- `alert`: one alert as `GET /api/v1/alerts` lists it, whenever its state changes.
- `span`: `{"spans": [...]}` as `GET /api/v1/spans?service=S` (newest first): newly stored spans.
- `metric`: `{"name", "series": [...]}` as `GET /api/v1/metrics?name=N&service=S` (fn=value):
  the points just stored, for subscribed metric names only.
- `heartbeat`: `{"time_unix_ms", "interval_s"}` every `dashboard.websocket.heartbeat_interval`
  seconds (15 by default); a client that hears nothing for two intervals should reconnect.
- `resync`: `{"reason"}`: this client missed messages (its queue of
  `dashboard.websocket.client_queue` messages overflowed, or the dashboard itself fell behind
  the bus); a new `snapshot` follows at once. Drops are counted in `/api/v1/status` under
  `websockets`.
State messages (performance, positions, execution, health, alert) keep only the newest per
service or key while a client is behind; spans and metric points each count.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import struct
import threading
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from wsproto.events import TextMessage

from tradepulse_backend.dashboard import security
from tradepulse_backend.dashboard.client import Client, Message
from tradepulse_backend.dashboard.manager import SubscribeError

if TYPE_CHECKING:
    from tradepulse_backend.dashboard.server import DashboardServer

logger = logging.getLogger(__name__)
MAX_CLIENT_MESSAGE_BYTES = 64 * 1024
PATH = "/ws"


def register(app: Flask, server: DashboardServer) -> None:
    """Add the `/ws` route (and its pre-upgrade checks) to the app."""
    blueprint = Blueprint("ws", __name__)
    sock = Sock()
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_CLIENT_MESSAGE_BYTES,
                                                  "thread_class": _ReaderThread})

    @blueprint.before_request
    def admit():
        refusal = security.origin_refusal(request)
        if refusal is not None:
            return refusal
        layout = request.args.get("layout") or server.manager.default_layout
        if layout not in server.manager.layouts:
            return jsonify(error=f"layout: no layout named {layout!r}; known: "
                                 f"{', '.join(server.manager.layouts.names())}"), 400
        if not server.admission.try_enter():
            return jsonify(error=f"too many WebSockets open (dashboard.max_websockets = "
                                 f"{server.admission.limit})"), 503
        g.ws_admitted = True
        return None

    @blueprint.teardown_request
    def release(_error):
        if g.pop("ws_admitted", False):
            server.admission.leave()

    @sock.route(PATH, bp=blueprint)
    def stream(ws) -> None:
        services = request.args.getlist("service") or None
        layout = request.args.get("layout") or server.manager.default_layout
        client = Client(server.manager.subscription(services, layout),
                        server.settings.client_queue, ws.event, layout=layout,
                        address=request.remote_addr or "")
        server.add(client)
        try:
            Connection(ws, client, server, current_app._get_current_object()).run()
        finally:
            server.remove(client)
            _hang_up(ws)

    app.register_blueprint(blueprint)


class Connection:
    """One open WebSocket: numbers and sends messages, answers the client, beats."""

    def __init__(self, ws, client: Client, server: DashboardServer, app: Flask) -> None:
        self.ws = ws
        self.client = client
        self.server = server
        self.app = app
        self.seq = 0
        self.lock = threading.Lock()
        self.pending = b""
        _set_send_timeout(ws.sock, server.settings.send_timeout)
        if not isinstance(ws.sock, ssl.SSLSocket):
            client.direct = self.try_send

    def run(self) -> None:
        """Snapshot, then deltas as they come, heartbeats between, until either side ends."""
        clock = self.server.clock
        interval = self.server.settings.heartbeat_interval
        self.send_snapshot()
        next_beat = clock.monotonic() + interval
        while not self.server.closing.is_set():
            remaining = next_beat - clock.monotonic()
            if remaining <= 0:
                self.send(Message("heartbeat", None, {"time_unix_ms": clock.now_ns() / 1e6,
                                                      "interval_s": interval}))
                next_beat = clock.monotonic() + interval
                continue
            self.client.wake.wait(remaining)
            self.client.wake.clear()
            self._read_incoming()
            with self.lock:
                self._flush_pending()
                resync, messages = self.client.take()
                for message in messages:
                    self._send_locked(message)
            if resync:
                self.send(Message("resync", None, {"reason": self.client.resync_reason}))
                self.send_snapshot()

    def send_snapshot(self) -> None:
        self.client.restart()
        self.send(Message("snapshot", None, self.server.manager.snapshot(self.client, self.app)))
        self.client.go_live()

    def send(self, message: Message) -> None:
        """Number and send one message, after any bytes a direct send left."""
        with self.lock:
            self._flush_pending()
            self._send_locked(message)

    def try_send(self, message: Message) -> bool:
        """Send from the fan-out's thread without waiting: False (queue it instead) when this
        connection's thread is sending; bytes the socket did not take at once are left for
        that thread, which is woken to send them first."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            if self.pending or not self.ws.connected:
                return False
            frame = self._frame(message)
            try:
                taken = self.ws.sock.send(frame, socket.MSG_DONTWAIT)
            except OSError:
                taken = 0
            self.client.sent += 1
            if taken < len(frame):
                self.pending = frame[taken:]
                self.client.wake.set()
            return True
        finally:
            self.lock.release()

    def _frame(self, message: Message) -> bytes:
        self.seq += 1
        return self.ws.ws.send(TextMessage(data=f"{message.head}{self.seq}}}"))

    def _send_locked(self, message: Message) -> None:
        """Send one message (holding `lock`); a send that cannot finish in `send_timeout`
        ends the connection (the client stopped reading)."""
        if not self.ws.connected:
            raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
        self._sendall(self._frame(message))
        self.client.sent += 1

    def _flush_pending(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, b""
            self._sendall(pending)

    def _sendall(self, data: bytes) -> None:
        try:
            self.ws.sock.sendall(data)
        except OSError as error:
            self.ws.connected = False
            raise ConnectionClosed(1011, f"send failed: {error}") from None

    def _read_incoming(self) -> None:
        while (raw := self.ws.receive(timeout=0)) is not None:
            self._answer(raw)

    def _answer(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict) or message.get("type") != "subscribe":
                raise SubscribeError('expected {"type": "subscribe", "services": [...], '
                                     '"metrics": [...]}')
            subscription = self.server.manager.parse_subscribe(message, self.client.layout)
        except (ValueError, SubscribeError) as error:
            self.send(Message("error", None, {"error": str(error)[:300]}))
            return
        self.client.restart(subscription)
        self.send_snapshot()


class _ReaderThread(threading.Thread):
    """simple_websocket's per-connection reader, as a daemon: it never holds up an exit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, daemon=True, **kwargs)


def _hang_up(ws) -> None:
    """Send the close frame and shut the socket down, which also wakes the connection's
    reader thread (closing a socket another thread reads does not)."""
    with contextlib.suppress(Exception):
        ws.close()
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)


def _set_send_timeout(sock: Any, seconds: float) -> None:
    """Bound how long one send may block (SO_SNDTIMEO: sends only, reads stay blocking)."""
    whole = int(seconds)
    micro = int((seconds - whole) * 1e6)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", whole, micro))
    except OSError as error:
        logger.debug("cannot set a send timeout on the WebSocket: %s", error)
