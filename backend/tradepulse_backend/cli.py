"""The `tradepulse` command: serve, demo, report, check-config, init, --version."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tradepulse_backend import __version__
from tradepulse_backend.config import (
    ConfigError,
    MonitoringConfig,
    check_config_file,
    load_config,
)
from tradepulse_backend.config.starter import starter_config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradepulse", description="OpenTelemetry-native monitoring for algorithmic trading.")
    parser.add_argument("--version", action="version", version=f"tradepulse {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the backend (OTLP receiver + dashboard)")
    _add_common(serve)
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser("demo", help="run the backend with a simulated instrumented bot")
    _add_common(demo)
    demo.add_argument("--duration", type=float, default=None, metavar="S",
                      help="stop after S seconds (default: run until Ctrl-C)")
    demo.set_defaults(handler=_demo)

    report = commands.add_parser("report", help="print a bot's performance report")
    report.add_argument("--config", type=Path, default=None, metavar="FILE")
    report.add_argument("--data-dir", type=Path, default=None, metavar="DIR")
    report.add_argument("--service", required=True, help="the bot's service.name")
    report.add_argument("--portfolio", default=None,
                        help="trading.portfolio attribute (default: the bot's only or unnamed)")
    report.add_argument("--period", choices=["day", "week"], default="day")
    report.add_argument("--format", choices=["html", "csv", "json"], default="html",
                        dest="fmt")
    report.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="write here instead of standard output")
    report.set_defaults(handler=_report)

    test_alert = commands.add_parser("test-alert",
                                     help="send a test notification on the alert channels")
    test_alert.add_argument("--config", type=Path, default=None, metavar="FILE")
    test_alert.add_argument("--channel", default=None, metavar="NAME",
                            help="only this channel (default: every configured channel)")
    test_alert.set_defaults(handler=_test_alert)

    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_check_config)

    init = commands.add_parser("init", help="write a commented starter configuration file")
    init.add_argument("--path", type=Path, default=Path("tradepulse.yaml"), metavar="FILE",
                      help="where to write it (default: ./tradepulse.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="YAML file with a top-level 'monitoring:' key")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="where the database lives (overrides storage.data_dir)")
    parser.add_argument("--ingest-port", type=int, default=None, metavar="PORT",
                        help="OTLP/HTTP port (overrides ingest.port; 0 picks a free port)")
    parser.add_argument("--grpc-port", type=int, default=None, metavar="PORT",
                        help="OTLP/gRPC port (overrides ingest.grpc_port; 0 picks a free port)")
    parser.add_argument("--dashboard-port", type=int, default=None, metavar="PORT",
                        help="dashboard port (overrides dashboard.port; 0 picks a free port)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def _load(args: argparse.Namespace) -> MonitoringConfig | None:
    overrides: dict = {}
    if args.data_dir:
        overrides["storage"] = {"data_dir": str(args.data_dir)}
    ingest = {key: value for key, value in
              (("port", getattr(args, "ingest_port", None)),
               ("grpc_port", getattr(args, "grpc_port", None))) if value is not None}
    if ingest:
        overrides["ingest"] = ingest
    if getattr(args, "dashboard_port", None) is not None:
        overrides["dashboard"] = {"port": args.dashboard_port}
    try:
        return load_config(args.config, overrides=overrides)
    except ConfigError as error:
        for line in error.errors:
            print(f"config error: {line}", file=sys.stderr)
        return None


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _serve(args: argparse.Namespace) -> int:
    from tradepulse_backend.alerting.pipeline import check_rules
    from tradepulse_backend.clock import SystemClock
    from tradepulse_backend.health import HEALTH_FIGURES
    from tradepulse_backend.server import StartupError, serve

    config = _load(args)
    if config is None:
        return 2
    if rule_errors := check_rules(config.alerting_system, SystemClock(),
                                  health_names=HEALTH_FIGURES):
        for line in rule_errors:
            print(f"config error: {line}", file=sys.stderr)
        return 2
    _logging(args.log_level)
    try:
        serve(config, on_ready=_print_ready)
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _print_ready(urls: dict[str, str]) -> None:
    print(f"tradepulse {__version__} ready", flush=True)
    print(f"  OTLP/HTTP receiver: {urls['otlp_http']}  (POST /v1/traces, /v1/metrics, /v1/logs)",
          flush=True)
    if "otlp_grpc" in urls:
        print(f"  OTLP/gRPC receiver: {urls['otlp_grpc']}", flush=True)
    print(f"  Dashboard: {urls['dashboard']}  (REST API under /api/v1/)", flush=True)


def _demo(args: argparse.Namespace) -> int:
    from tradepulse_backend.demo import run_demo

    config = _load(args)
    if config is None:
        return 2
    _logging("WARNING" if args.log_level == "INFO" else args.log_level)
    return run_demo(config, config_path=args.config, data_dir=args.data_dir,
                    duration_s=args.duration)


def _report(args: argparse.Namespace) -> int:
    import json

    from tradepulse_backend.performance import PerformanceMonitor
    from tradepulse_backend.performance.reports import build_report, render
    from tradepulse_backend.store import Store, StoreUnavailable, queries

    config = _load(args)
    if config is None:
        return 2
    try:
        store = Store.open(config.storage.database_url, create=False)
    except StoreUnavailable as error:
        print(f"error: {error} (monitoring.storage)", file=sys.stderr)
        return 2
    try:
        if args.service not in {s["name"] for s in queries.services(store)}:
            print(f"error: no telemetry from service {args.service!r} in {store.location}",
                  file=sys.stderr)
            return 2
        monitor = PerformanceMonitor(config.performance_monitor, store=store)
        report = build_report(monitor, args.service, args.period, portfolio=args.portfolio)
    finally:
        store.release()
    if args.fmt == "json":
        body = json.dumps(report.to_dict(), indent=2)
    else:
        body = render(report, args.fmt)[0]
    if args.output:
        args.output.write_text(body, encoding="utf-8")
    else:
        sys.stdout.write(body if body.endswith("\n") else body + "\n")
    return 0


def _test_alert(args: argparse.Namespace) -> int:
    """Send one test notification per channel and say per channel whether it arrived."""
    import time

    from tradepulse_backend.alerting.channels import build_channels
    from tradepulse_backend.alerting.testalert import send_test_alerts

    args.data_dir = None
    config = _load(args)
    if config is None:
        return 2
    _logging("INFO")
    alerting = config.alerting_system
    try:
        channels = build_channels(alerting.channels, user_agent=f"tradepulse/{__version__}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.channel and args.channel not in channels:
        print(f"error: channel {args.channel!r} is not configured (configured: "
              f"{', '.join(channels)})", file=sys.stderr)
        return 2
    try:
        results = send_test_alerts(channels, [args.channel] if args.channel else None,
                                   time.time_ns(), alerting.external_url)
    finally:
        for channel in channels.values():
            channel.close()
    for name, result in results.items():
        if result["ok"]:
            print(f"{name}: delivered")
        else:
            print(f"{name}: FAILED ({result['status']}): {result['detail']}")
    return 0 if all(r["ok"] for r in results.values()) else 1


def _check_config(args: argparse.Namespace) -> int:
    from tradepulse_backend.alerting.pipeline import check_rules
    from tradepulse_backend.clock import SystemClock
    from tradepulse_backend.dashboard.layouts import check_layouts
    from tradepulse_backend.health import HEALTH_FIGURES

    errors = check_config_file(args.file)
    if not errors:
        config = load_config(args.file)
        errors = [*check_rules(config.alerting_system, SystemClock(),
                               health_names=HEALTH_FIGURES),
                  *check_layouts(config.dashboard)]
    for line in errors:
        print(line)
    if errors:
        return 1
    print(f"{args.file}: OK")
    return 0


def _init(args: argparse.Namespace) -> int:
    if args.path.exists() and not args.force:
        print(f"error: {args.path} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    try:
        args.path.write_text(starter_config(), encoding="utf-8")
    except OSError as error:
        print(f"error: cannot write {args.path}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {args.path}; check it with: tradepulse check-config {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
