"""`tradepulse demo`: the backend in a child process plus a simulated bot that uses the public SDK.

The server runs in its own session so Ctrl-C reaches only the demo, which then stops the bot,
flushes its telemetry and shuts the server down gracefully, in that order. SIGTERM and SIGHUP do
the same; a second signal while stopping kills the server at once; and on Linux the server gets
SIGTERM should the demo itself be killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import TextIO

from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.demo.alerts import AlertPrinter, install_rules
from tradepulse_backend.demo.bot import run_bot
from tradepulse_backend.health import summary_text
from tradepulse_backend.server import bind_error

READY_PATTERNS = {
    "otlp_http": re.compile(r"OTLP/HTTP receiver: (http://\S+)"),
    "otlp_grpc": re.compile(r"OTLP/gRPC receiver: (\S+)"),
    "dashboard": re.compile(r"Dashboard: (http://\S+)"),
}
SUMMARY_EVERY_S = 10.0


def run_demo(config: MonitoringConfig, *, config_path: Path | None, data_dir: Path | None,
             duration_s: float | None, out: TextIO = sys.stdout) -> int:
    """Run backend and bot until Ctrl-C, SIGTERM, SIGHUP or `duration_s`; returns the exit
    code. However it stops, the backend child stops too: no orphan keeps the ports."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="tradepulse-demo-"))
    previous = _on_stop_signals(_interrupt)
    server = None
    try:
        server = _start_server(config, config_path, data_dir)
        return _run(server, data_dir, duration_s, out)
    except KeyboardInterrupt:
        out.write("\nstopped before the backend was ready\n")
        return 0
    finally:
        if server is not None:
            _on_stop_signals(lambda *_: _kill(server))
            _stop_server(server)
        _restore_signals(previous)


def _run(server: subprocess.Popen, data_dir: Path, duration_s: float | None, out: TextIO
         ) -> int:
    try:
        urls = _wait_ready(server, timeout_s=60)
    except RuntimeError as error:
        out.write(f"demo: the backend did not start: {error}\n")
        return 1
    _print_banner(out, urls, data_dir)
    api = urls["dashboard"].rstrip("/") + "/api/v1"
    out.write(f"[alert] rule {install_rules(api)}: the broker's disconnects raise an alert "
              f"(curl {api}/alerts)\n")
    stop = threading.Event()
    bot = threading.Thread(target=_run_bot, args=(urls, duration_s, stop, out), daemon=True)
    bot.start()
    try:
        _watch(bot, urls, out, AlertPrinter(api, out))
    except KeyboardInterrupt:
        out.write("\nstopping: flushing the bot's telemetry, then the backend...\n")
    finally:
        _on_stop_signals(lambda *_: _kill(server))    # a second signal: stop at once
        stop.set()
        bot.join(timeout=15)
        _print_summary(urls, out)
    out.write(f"stopped. The data stays in {data_dir} "
              f"(tradepulse serve --data-dir {data_dir} to look again)\n")
    return 0


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


def _interrupt(signum: int, _frame) -> None:
    """SIGTERM and SIGHUP (a `timeout`, a closed terminal, `docker stop`) stop like Ctrl-C."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _on_stop_signals(handler) -> dict[int, object]:
    """Install `handler` for every stop signal (main thread only); returns the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def _restore_signals(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _start_server(config: MonitoringConfig, config_path: Path | None, data_dir: Path
                  ) -> subprocess.Popen:
    command = [sys.executable, "-m", "tradepulse_backend.cli", "serve", "--data-dir", str(data_dir),
               "--log-level", "WARNING",
               "--ingest-port", str(_free_or_any(config.ingest.host, config.ingest.port)),
               "--grpc-port", str(_free_or_any(config.ingest.host, config.ingest.grpc_port or 0)),
               "--dashboard-port", str(_free_or_any(config.dashboard.host, config.dashboard.port))]
    if config_path:
        command += ["--config", str(config_path)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when the demo dies without cleaning up (SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def _free_or_any(host: str, port: int) -> int:
    """The configured port when it is free, else 0 so the demo still starts."""
    return port if port and bind_error(host, port) is None else 0


def _wait_ready(server: subprocess.Popen, timeout_s: float) -> dict[str, str]:
    urls: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while "dashboard" not in urls:
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited with code {server.wait()}")
        if time.monotonic() > deadline:
            raise RuntimeError("no ready line within the timeout")
        for key, pattern in READY_PATTERNS.items():
            match = pattern.search(line)
            if match:
                urls[key] = match.group(1)
    threading.Thread(target=server.stdout.read, daemon=True).start()
    return urls


def _print_banner(out: TextIO, urls: dict[str, str], data_dir: Path) -> None:
    api = urls["dashboard"].rstrip("/") + "/api/v1"
    lines = [
        "tradepulse demo: backend + simulated bot 'demo-bot' (public SDK only)",
        f"  Dashboard:  {urls['dashboard']}",
        f"  OTLP/HTTP:  {urls['otlp_http']}",
        *([f"  OTLP/gRPC:  {urls['otlp_grpc']}"] if "otlp_grpc" in urls else []),
        f"  Data dir:   {data_dir}",
        "  Try:",
        f"    curl {api}/status",
        f"    curl {api}/metrics",
        f"    curl '{api}/metrics?name=trading.portfolio.value&since=5m'",
        f"    curl {api}/traces",
        f"    curl '{api}/performance?service=demo-bot'",
        f"    curl '{api}/reports?service=demo-bot&format=html' > report.html",
        f"    curl {api}/health",
        "Press Ctrl-C to stop.",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _run_bot(urls: dict[str, str], duration_s: float | None, stop: threading.Event,
             out: TextIO) -> None:
    def on_event(message: str) -> None:
        out.write(f"[bot] {message}\n")
        out.flush()

    run_bot(duration_s=duration_s, stop_event=stop, endpoint=urls["otlp_http"],
            on_event=on_event)


def _watch(bot: threading.Thread, urls: dict[str, str], out: TextIO,
           alerts: AlertPrinter) -> None:
    next_summary = time.monotonic() + SUMMARY_EVERY_S
    while bot.is_alive():
        bot.join(timeout=0.5)
        alerts.poll()
        if time.monotonic() >= next_summary:
            _print_summary(urls, out)
            next_summary += SUMMARY_EVERY_S


def _print_summary(urls: dict[str, str], out: TextIO) -> None:
    try:
        status = _get_json(urls["dashboard"] + "api/v1/status")
    except OSError as error:
        out.write(f"[backend] status unavailable: {error}\n")
        return
    accepted = status["ingest"]["accepted"]
    storage = status["storage"]
    out.write(f"[backend] stored {accepted['traces']:,} spans, {accepted['metrics']:,} points "
              f"in {storage['series']:,} series, {accepted['logs']:,} logs "
              f"from {storage['services']} service(s)\n")
    _print_performance(urls, out)
    _print_health(urls, out)
    out.flush()


def _print_performance(urls: dict[str, str], out: TextIO) -> None:
    """One line of the demo bot's live figures, read from the performance API."""
    try:
        found = _get_json(urls["dashboard"] + "api/v1/performance?service=demo-bot")
    except OSError:
        return
    for snap in found["performance"]:
        out.write(f"[performance] value {_money(snap['portfolio_value'])} "
                  f"{snap['currency'] or ''}, return {_pct(snap['total_return'])}, "
                  f"max drawdown {_pct(snap['max_drawdown'])}, "
                  f"win rate {_pct(snap['win_rate'], signed=False)} over {snap['trades']} "
                  f"trades, {snap['orders']} orders in the last hour "
                  f"({_pct(snap['rejection_rate'], signed=False)} rejected), "
                  f"p99 latency {_number(snap['latency_p99_ms'])} ms\n")


def _print_health(urls: dict[str, str], out: TextIO) -> None:
    """One line of system health: overall status, counts per status, the worst reason."""
    try:
        found = _get_json(urls["dashboard"] + "api/v1/health")
    except OSError:
        return
    out.write(f"[health] {summary_text(found)}\n")


def _pct(value: float | None, *, signed: bool = True) -> str:
    return "n/a" if value is None else (f"{value:+.2%}" if signed else f"{value:.0%}")


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _stop_server(server: subprocess.Popen) -> None:
    """SIGTERM (commit what is queued, then exit); after 30 s, kill its whole process group."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill(server)
    server.wait()


def _kill(server: subprocess.Popen) -> None:
    """SIGKILL the server and its worker: they run in a session of their own."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, signal.SIGKILL)
