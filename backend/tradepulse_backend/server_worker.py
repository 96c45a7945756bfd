"""gunicorn's threaded worker with one thread pool per listener, so no port starves another.

gunicorn's gthread worker hands every accepted (or kept-alive, now readable) connection to one
ThreadPoolExecutor. Here `enqueue_req` picks the pool of the listener the connection arrived on:
the OTLP port gets `server.ingest_threads`, the dashboard port `server.api_threads` plus
`dashboard.max_websockets`. A WebSocket holds its thread for its whole life, so the dashboard
admits at most `max_websockets` of them (`Backend.websockets`): REST always keeps its own
`api_threads`, and neither ever takes an ingest thread. A flood of slow OTLP requests (each
waits for its commit) fills only the ingest pool; `/healthz` and the REST API still answer.

Signals: SIGTERM, SIGINT and SIGHUP all stop the server cleanly (queued writes are committed).
gunicorn's SIGHUP would reload: it starts a new worker, and a second `Backend` beside the old one
while it drains, with a config read from nowhere (ours is built in memory). A closed terminal
sends SIGHUP, and a closed terminal means "stop", so that is what it does; restart the process
to apply a new configuration.
"""

from __future__ import annotations

import signal
import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker


class ListenerPools:
    """One named ThreadPoolExecutor per listening address, looked up by the connection's
    address, counting the connections each has queued or in hand."""

    def __init__(self, pools: dict[Any, tuple[str, ThreadPoolExecutor]]) -> None:
        self.pools = pools
        self._pending = dict.fromkeys(pools, 0)
        self._lock = threading.Lock()

    def submit_for(self, address: Any, fn, *args) -> Future:
        with self._lock:
            self._pending[address] += 1
        future = self.pools[address][1].submit(fn, *args)
        future.add_done_callback(lambda _: self._finished(address))
        return future

    def _finished(self, address: Any) -> None:
        with self._lock:
            self._pending[address] -= 1

    def stats(self) -> dict[str, dict[str, int]]:
        """Per pool: its threads and the connections it has queued or is serving."""
        with self._lock:
            return {name: {"threads": pool._max_workers, "pending": self._pending[address]}
                    for address, (name, pool) in self.pools.items()}

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for _name, pool in self.pools.values():
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class ListenerTls:
    """gunicorn's config as one listener sees it: with its own certificate and key (so TLS
    on the dashboard port leaves the OTLP port as configured); one SSL context, made once."""

    def __init__(self, cfg: Any, cert_file: str, key_file: str) -> None:
        self._cfg = cfg
        self.certfile = cert_file
        self.keyfile = key_file
        self.is_ssl = True
        self._context: ssl.SSLContext | None = None

    def ssl_context(self, _conf: Any, default_factory) -> ssl.SSLContext:
        if self._context is None:
            self._context = default_factory()
        return self._context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cfg, name)


class PooledThreadWorker(ThreadWorker):
    """gthread worker whose listeners (bound [ingest, dashboard]) each have their own pool,
    and optionally their own TLS certificate (`app.listener_tls()`)."""

    pool_names = ("ingest", "api")

    def get_thread_pool(self) -> ListenerPools:
        sizes = self.app.pool_sizes()
        self.closer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tradepulse-close")
        self.listener_tls = {
            listener.getsockname(): ListenerTls(self.cfg, *files)
            for listener, files in zip(self.sockets, self.app.listener_tls(), strict=True)
            if files is not None}
        pools = {listener.getsockname(): (name, ThreadPoolExecutor(
                     max_workers=size, thread_name_prefix=f"tradepulse-{name}"))
                 for listener, size, name in zip(self.sockets, sizes, self.pool_names,
                                                 strict=True)}
        return ListenerPools(pools)

    def handle(self, conn):
        """Serve a connection, giving a new one on a TLS listener that listener's config
        (gunicorn wraps the socket in `conn.init()` when its config says TLS)."""
        if not conn.initialized and conn.server in self.listener_tls:
            conn.cfg = self.listener_tls[conn.server]
        return super().handle(conn)

    def finish_request(self, conn, fs) -> None:
        """Like gunicorn's, but a connection that ends is closed on a helper thread.

        gunicorn closes it gracefully (half-close, then reading from the client for up to 2 s
        until it closes too) on the main thread, which accepts and dispatches every
        connection of both ports: a client that keeps its socket open after a
        `Connection: close` answer stalled the whole server for 2 s.
        """
        if not fs.cancelled() and fs.exception() is None and not fs.result():
            self.nr_conns -= 1
            self.closer.submit(conn.close, graceful=True)
            return
        super().finish_request(conn, fs)

    def enqueue_req(self, conn) -> None:
        future = self.tpool.submit_for(conn.server, self.handle, conn)
        future.add_done_callback(
            lambda done: self.method_queue.defer(self.finish_request, conn, done))

    def handle_exit(self, sig, frame) -> None:
        """Stop as gunicorn does, and first tell long-lived connections (WebSockets) to end,
        so the graceful stop does not wait its whole timeout for them."""
        super().handle_exit(sig, frame)
        self.app.stopping()

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGHUP, self.handle_exit)
        signal.siginterrupt(signal.SIGHUP, False)


class StopOnHupArbiter(Arbiter):
    """gunicorn's master, with SIGHUP stopping gracefully like SIGTERM instead of reloading."""

    def handle_hup(self) -> None:
        self.handle_term()
