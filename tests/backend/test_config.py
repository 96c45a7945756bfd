"""Tests of the backend configuration: defaults, the seed file, interpolation and error reports."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import yaml

from tradepulse_backend.config import (
    MASK,
    ConfigError,
    MonitoringConfig,
    check_config_file,
    default_data_dir,
    load_config,
    redacted,
)

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed_config.yaml"
SECRET = "tp-SECRET-q7Zx93kLm2"
ENV = {"HOME": "/home/trader"}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_errors(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ=ENV if environ is None else environ)
    return excinfo.value.errors


def test_seed_config_loads_with_the_seed_values() -> None:
    config = load_config(SEED, environ=ENV)

    assert config.performance_monitor.update_interval == 60
    assert config.performance_monitor.metrics_retention_days == 90
    assert config.alerting_system.rate_limits["email"].max_per_hour == 10
    assert config.alerting_system.rate_limits["email"].max_per_day == 50
    assert config.alerting_system.rate_limits["slack"].max_per_hour == 20
    assert config.alerting_system.rate_limits["slack"].max_per_day == 100
    assert (config.dashboard.host, config.dashboard.port) == ("127.0.0.1", 8080)
    assert config.dashboard.auto_refresh_interval == 5000
    assert config.system_health.monitoring_interval == 30
    cpu = config.system_health.thresholds["cpu_usage"]
    memory = config.system_health.thresholds["memory_usage"]
    assert (cpu.warning, cpu.critical) == (70, 90)
    assert (memory.warning, memory.critical) == (80, 95)


def test_seed_config_gets_defaults_for_everything_it_omits() -> None:
    config = load_config(SEED, environ=ENV)

    assert config.performance_monitor.timezone == "UTC"
    assert config.performance_monitor.annualization == 252
    assert config.system_health.thresholds["disk_usage"].critical == 90
    assert config.ingest.port == 4318
    assert config.storage.data_dir == Path("/home/trader/.local/share/tradepulse")
    assert config.server.ingest_threads == 16
    defaults = MonitoringConfig(storage={"data_dir": config.storage.data_dir})
    assert redacted(config) == redacted(defaults)


def test_default_config_is_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")

    complete = MonitoringConfig.get_complete_monitoring_config()
    alerting = complete["monitoring"].pop("alerting_system")
    assert alerting["rate_limits"] == {
        "email": {"max_per_hour": 10, "max_per_day": 50, "critical_reserve": 0.2},
        "slack": {"max_per_hour": 20, "max_per_day": 100, "critical_reserve": 0.2},
    }
    assert alerting["group_wait"] == 2 and alerting["repeat_interval"] == 4 * 3600
    assert complete == {
        "monitoring": {
            "performance_monitor": {
                "update_interval": 60.0,
                "metrics_retention_days": 90,
                "timezone": "UTC",
                "annualization": 252,
                "risk_free_rate": 0.0,
                "execution_window": 3600.0,
                "queue_size": 1024,
                "reports": {"enabled": True, "schedule": "daily", "time": "17:00",
                            "weekday": "friday", "timezone": None, "channels": []},
            },
            "dashboard": {"host": "127.0.0.1", "port": 8080, "auto_refresh_interval": 5000,
                          "max_websockets": 16,
                          "websocket": {"heartbeat_interval": 15.0, "client_queue": 256,
                                        "send_timeout": 30.0},
                          "auth": {"token": None, "users": [], "session_hours": 12.0,
                                   "max_failed_logins": 5, "lockout_seconds": 300.0},
                          "tls": {"cert_file": None, "key_file": None},
                          "layout": "default", "layouts_dir": None},
            "system_health": {
                "monitoring_interval": 30.0,
                "thresholds": {
                    "cpu_usage": {"warning": 70.0, "critical": 90.0},
                    "memory_usage": {"warning": 80.0, "critical": 95.0},
                    "disk_usage": {"warning": 80.0, "critical": 90.0},
                    "swap_usage": {"warning": 50.0, "critical": 80.0},
                    "load_per_core": {"warning": 1.5, "critical": 3.0},
                    "error_rate": {"warning": 0.05, "critical": 0.2},
                    "latency_p99_ms": {"warning": 500.0, "critical": 2000.0},
                },
                "hysteresis": 0.05,
                "heartbeat": {"degraded_after": 3.0, "unhealthy_after": 6.0,
                              "default_interval": 10.0, "min_interval": 1.0,
                              "forget_after": 86400.0},
                "trends": {"window": 21600.0, "min_points": 10, "min_r2": 0.8,
                           "max_eta": 2592000.0, "eta_warning": 86400.0,
                           "eta_critical": 3600.0},
                "leak_detector": {"min_duration": 1800.0,
                                  "min_slope_bytes_per_h": 10485760.0, "min_r2": 0.8,
                                  "window": 14400.0},
                "checkers": {"interval": 30.0, "timeout": 5.0, "transitions_kept": 20,
                             "tick": 0.5},
                "errors": {"window": 300.0, "min_spans": 20,
                           "latency_exclude": ["trading.trade"]},
                "backend": {"queue_degraded": 0.5, "queue_unhealthy": 0.9,
                            "commit_latency_degraded_ms": 1000.0},
            },
            "ingest": {
                "host": "127.0.0.1",
                "port": 4318,
                "grpc_port": 4317,
                "api_keys": [],
                "max_body_bytes": 20 * 1024 * 1024,
                "queue_max_batches": 256,
                "retry_after_seconds": 1,
                "write_batch_max_records": 50000,
                "commit_timeout": 5.0,
                "max_new_series_per_request": 10_000,
            },
            "storage": {
                "data_dir": "/xdg/tradepulse",
                "retention_check_interval": 3600.0,
                "url": None,
                "retention": {"raw": 7.0, "1m": 90.0, "1h": 730.0},
                "chunks": {"window": 7200.0, "seal_delay": 600.0, "interval": 60.0,
                           "max_windows_per_run": 5000, "journal_size_limit": 2**20},
            },
            "server": {"ingest_threads": 16, "api_threads": 8, "shutdown_timeout": 10.0},
            "forwarding": [],
        }
    }


def test_no_path_empty_file_and_empty_monitoring_key_all_give_defaults(tmp_path: Path) -> None:
    defaults = redacted(load_config(environ=ENV))

    assert defaults == MonitoringConfig.get_complete_monitoring_config()["monitoring"] | {
        "storage": defaults["storage"]
    }
    for text in ["", "# nothing yet\n", "monitoring:\n", "monitoring:\n  dashboard:\n"]:
        assert redacted(load_config(write_config(tmp_path, text), environ=ENV)) == defaults


def test_complete_monitoring_config_round_trips_through_a_yaml_file(tmp_path: Path) -> None:
    complete = MonitoringConfig.get_complete_monitoring_config()
    path = write_config(tmp_path, yaml.safe_dump(complete))

    assert load_config(path) == MonitoringConfig()
    assert {"monitoring": redacted(load_config(path))} == complete


def test_data_dir_default_follows_xdg_data_home_then_home() -> None:
    assert default_data_dir({"XDG_DATA_HOME": "/xdg", "HOME": "/h"}) == Path("/xdg/tradepulse")
    assert default_data_dir({"XDG_DATA_HOME": "relative", "HOME": "/h"}) == Path(
        "/h/.local/share/tradepulse"
    )
    assert load_config(environ={"XDG_DATA_HOME": "/xdg"}).storage.data_dir == Path(
        "/xdg/tradepulse"
    )


def test_storage_url_defaults_to_sqlite_file_in_data_dir(tmp_path: Path) -> None:
    config = load_config(overrides={"storage": {"data_dir": str(tmp_path)}})

    assert config.storage.url is None
    assert config.storage.database_url == f"sqlite:///{tmp_path / 'tradepulse.db'}"


def test_env_vars_are_interpolated_with_defaults_and_escapes(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n"
        "  dashboard:\n"
        "    host: ${DASH_HOST}\n"
        "    port: ${DASH_PORT:-9001}\n"
        "  ingest:\n"
        "    port: ${INGEST_PORT:-4400}\n"
        "    api_keys: ['${API_KEY}', 'k-$${NOT_A_VAR}', '${EMPTY:-fallback}']\n"
        "  storage:\n"
        "    data_dir: ${DATA_ROOT}/tp\n",
    )
    environ = {
        "DASH_HOST": "0.0.0.0",
        "INGEST_PORT": "4500",
        "API_KEY": "${NESTED}",
        "EMPTY": "",
        "DATA_ROOT": str(tmp_path),
    }

    config = load_config(path, environ=environ)

    assert config.dashboard.host == "0.0.0.0"
    assert config.dashboard.port == 9001
    assert config.ingest.port == 4500
    keys = [key.get_secret_value() for key in config.ingest.api_keys]
    assert keys == ["${NESTED}", "k-${NOT_A_VAR}", "fallback"]
    assert config.storage.data_dir == tmp_path / "tp"


def test_missing_env_var_error_names_path_and_variable_but_no_value(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "monitoring:\n  storage:\n    url: postgresql://u:hunter2-pw@db/${DB_NAME}\n"
    )

    errors = load_errors(path)

    assert errors == ["monitoring.storage.url: environment variable DB_NAME is not set"]
    assert "hunter2-pw" not in str(ConfigError(errors))


def test_malformed_env_reference_is_an_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, "monitoring:\n  dashboard:\n    host: ${1BAD}\n")

    assert load_errors(path) == ["monitoring.dashboard.host: malformed ${...} reference"]


@pytest.mark.parametrize(
    "body",
    [
        "  ingest:\n    api_keys: ['${API_KEY}']\n  dashboard: {port: 70000}\n",
        "  dashboard:\n    port: ${API_KEY}\n",
        "  dashboard:\n    host: '${API_KEY}'\n    port: ${API_KEY}\n",
        "  ingest:\n    api_keys: ${API_KEY}\n",
        "  ingest:\n    api_keys: [{key: '${API_KEY}'}]\n",
        "  system_health:\n    thresholds: {cpu_usage: {warning: '${API_KEY}', critical: 1}}\n",
        "  performance_monitor:\n    timezone: ${API_KEY}\n",
        "  ${API_KEY}: 1\n",
    ],
)
def test_secret_values_never_appear_in_errors_or_tracebacks(tmp_path: Path, body: str) -> None:
    path = write_config(tmp_path, "monitoring:\n" + body)

    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={**ENV, "API_KEY": SECRET})

    assert excinfo.value.errors
    assert SECRET not in str(excinfo.value)
    assert SECRET not in "".join(traceback.format_exception(excinfo.value))


def test_yaml_error_does_not_echo_file_text(tmp_path: Path) -> None:
    path = write_config(tmp_path, f"monitoring:\n  ingest:\n    api_keys: ['{SECRET}'\n")

    errors = check_config_file(path)

    assert errors
    assert SECRET not in "".join(errors)


def test_secrets_are_masked_in_redacted_and_complete_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", SECRET)
    path = write_config(
        tmp_path,
        "monitoring:\n"
        "  ingest:\n    api_keys: ['${API_KEY}']\n"
        "  storage:\n    url: 'postgresql://trader:${API_KEY}@db:5432/tp'\n",
    )

    config = load_config(path)

    assert config.ingest.api_keys[0].get_secret_value() == SECRET
    assert config.storage.url == f"postgresql://trader:{SECRET}@db:5432/tp"
    shown = redacted(config)
    assert shown["ingest"]["api_keys"] == [MASK]
    assert shown["storage"]["url"] == f"postgresql://trader:{MASK}@db:5432/tp"
    assert SECRET not in repr(shown)
    assert SECRET not in repr(config)
    assert SECRET not in repr(MonitoringConfig.get_complete_monitoring_config())


def test_empty_api_key_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, "monitoring:\n  ingest:\n    api_keys: ['${API_KEY:-}']\n")

    assert load_errors(path) == ["monitoring.ingest.api_keys[0]: must not be empty"]


def test_unknown_key_error_names_dotted_path_and_suggests_the_right_key(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n"
        "  dashbaord: {port: 1}\n"
        "  system_health:\n    thresholds: {cpu_usage: {warning: 1, critcal: 2}}\n",
    )

    errors = load_errors(path)

    assert "monitoring.dashbaord: unknown key; did you mean 'dashboard'?" in errors
    assert (
        "monitoring.system_health.thresholds.cpu_usage.critcal: "
        "unknown key; did you mean 'critical'?"
    ) in errors


def test_wrong_types_and_out_of_range_values_name_their_paths(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n"
        "  dashboard: {port: 65536}\n"
        "  ingest: {api_keys: [good, [nested]], max_body_bytes: lots}\n",
    )

    assert sorted(load_errors(path)) == [
        "monitoring.dashboard.port: Input should be less than or equal to 65535",
        "monitoring.ingest.api_keys[1]: Input should be a valid string",
        "monitoring.ingest.max_body_bytes: Input should be a valid integer, "
        "unable to parse string as an integer",
    ]


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("performance_monitor", "update_interval", 0),
        ("performance_monitor", "metrics_retention_days", 0),
        ("performance_monitor", "annualization", 0),
        ("performance_monitor", "risk_free_rate", ".nan"),
        ("dashboard", "port", -1),
        ("dashboard", "auto_refresh_interval", 0),
        ("system_health", "monitoring_interval", 0),
        ("ingest", "port", 65536),
        ("ingest", "max_body_bytes", 0),
        ("ingest", "queue_max_batches", 0),
        ("ingest", "retry_after_seconds", 0),
        ("ingest", "write_batch_max_records", 0),
        ("ingest", "commit_timeout", 0),
        ("storage", "retention_check_interval", 0),
        ("server", "ingest_threads", 0),
        ("server", "api_threads", 257),
        ("dashboard", "max_websockets", -1),
        ("performance_monitor", "queue_size", 0),
        ("server", "shutdown_timeout", -1),
    ],
)
def test_each_numeric_bound_is_enforced(
    tmp_path: Path, section: str, field: str, value: object
) -> None:
    path = write_config(tmp_path, f"monitoring:\n  {section}:\n    {field}: {value}\n")

    errors = load_errors(path)

    assert len(errors) == 1
    assert errors[0].startswith(f"monitoring.{section}.{field}: ")


def test_rate_limit_values_must_be_positive_and_unset_means_unlimited(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "monitoring:\n  alerting_system:\n    rate_limits: {sms: {max_per_hour: 0}}\n"
    )

    assert sorted(load_errors(path)) == [
        "monitoring.alerting_system.rate_limits.sms.max_per_hour: Input should be greater than 0",
    ]


def test_unknown_timezone_is_rejected_and_iana_names_accepted(tmp_path: Path) -> None:
    bad = write_config(tmp_path, "monitoring:\n  performance_monitor: {timezone: Mars/Olympus}\n")
    assert load_errors(bad) == [
        "monitoring.performance_monitor.timezone: unknown timezone; use an IANA name such as 'UTC'"
    ]

    good = write_config(
        tmp_path, "monitoring:\n  performance_monitor: {timezone: America/New_York}\n"
    )
    assert load_config(good).performance_monitor.timezone == "America/New_York"


def test_threshold_with_warning_above_critical_is_rejected(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n  system_health:\n    thresholds: {cpu_usage: {warning: 95, critical: 90}}\n",
    )

    assert load_errors(path) == [
        "monitoring.system_health.thresholds.cpu_usage: "
        "warning must be less than or equal to critical"
    ]


def test_named_thresholds_and_rate_limits_merge_over_defaults_and_null_removes(
    tmp_path: Path,
) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n"
        "  alerting_system:\n    rate_limits: {discord: {max_per_hour: 5, max_per_day: 9}}\n"
        "  system_health:\n"
        "    thresholds: {cpu_usage: {warning: 50, critical: 60}, disk_usage: null}\n",
    )

    config = load_config(path, environ=ENV)

    assert set(config.alerting_system.rate_limits) == {"email", "slack", "discord"}
    thresholds = config.system_health.thresholds
    assert set(thresholds) == {"cpu_usage", "memory_usage", "swap_usage", "load_per_core",
                               "error_rate", "latency_p99_ms"}
    assert (thresholds["cpu_usage"].warning, thresholds["memory_usage"].warning) == (50, 80)


def test_ingest_and_dashboard_on_the_same_address_is_rejected(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "monitoring:\n  dashboard: {port: 9000}\n  ingest: {port: 9000}\n"
    )

    assert load_errors(path) == [
        "monitoring.ingest.port: same host and port as monitoring.dashboard.port; "
        "give each listener its own port"
    ]


@pytest.mark.parametrize(
    ("dashboard", "ingest"),
    [("127.0.0.1", "0.0.0.0"), ("::", "127.0.0.1")],
)
def test_wildcard_host_clashes_with_any_host_on_the_same_port(
    tmp_path: Path, dashboard: str, ingest: str
) -> None:
    path = write_config(
        tmp_path,
        f"monitoring:\n  dashboard: {{host: '{dashboard}', port: 9000}}\n"
        f"  ingest: {{host: '{ingest}', port: 9000}}\n",
    )

    assert len(load_errors(path)) == 1


def test_same_port_is_allowed_on_different_hosts_or_when_zero(tmp_path: Path) -> None:
    different_hosts = write_config(
        tmp_path,
        "monitoring:\n  dashboard: {host: 127.0.0.2, port: 9000}\n  ingest: {port: 9000}\n",
    )
    assert load_config(different_hosts).ingest.port == 9000

    both_free = load_config(overrides={"dashboard": {"port": 0}, "ingest": {"port": 0}})
    assert (both_free.dashboard.port, both_free.ingest.port) == (0, 0)


def test_yaml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "monitoring:\n  dashboard:\n    port: 1\n   ingest: 2\n")

    errors = load_errors(path)

    assert len(errors) == 1
    assert errors[0].startswith(f"{path}: line 4, column 4: ")


def test_duplicate_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "monitoring:\n  dashboard: {port: 1}\n  dashboard: {port: 2}\n")

    assert load_errors(path) == [f"{path}: line 3, column 3: duplicate key 'dashboard'"]


def test_file_without_monitoring_top_key_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, "dashboard:\n  port: 8080\n")

    assert load_errors(path) == [
        "monitoring: missing top-level key 'monitoring:'",
        "dashboard: unknown top-level key; settings go under 'monitoring:'",
    ]


def test_unknown_top_level_key_beside_monitoring_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, "monitoring:\n  dashboard: {port: 1}\nextra: true\n")

    assert load_errors(path) == ["extra: unknown top-level key; settings go under 'monitoring:'"]


@pytest.mark.parametrize("text", ["- monitoring\n", "just text\n", "monitoring: [1, 2]\n"])
def test_non_mapping_document_is_rejected(tmp_path: Path, text: str) -> None:
    assert len(load_errors(write_config(tmp_path, text))) == 1


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    assert check_config_file(missing) == [f"{missing}: cannot read file: No such file or directory"]


def test_overrides_merge_into_nested_sections(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n  dashboard: {host: 0.0.0.0, port: 9000}\n  storage: {url: sqlite:///x}\n",
    )

    config = load_config(
        path, environ=ENV, overrides={"dashboard": {"port": 0}, "storage": {"data_dir": "/x"}}
    )

    assert (config.dashboard.host, config.dashboard.port) == ("0.0.0.0", 0)
    assert config.storage.data_dir == Path("/x")
    assert config.storage.url == "sqlite:///x"


def test_invalid_override_is_reported_with_its_path() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(overrides={"server": {"ingest_threads": 0}})

    assert excinfo.value.errors == [
        "monitoring.server.ingest_threads: Input should be greater than or equal to 1"
    ]


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "monitoring:\n"
        "  dashboard: {port: 65536}\n"
        "  ingest: {api_keys: ['${UNSET_KEY}'], queue_max_batches: 0}\n"
        "  server: {ingest_threads: 1000, workers: 2}\n",
    )

    errors = check_config_file(path)

    assert sorted(errors) == [
        "monitoring.dashboard.port: Input should be less than or equal to 65535",
        "monitoring.ingest.api_keys[0]: environment variable UNSET_KEY is not set",
        "monitoring.ingest.queue_max_batches: Input should be greater than 0",
        "monitoring.server.ingest_threads: Input should be less than or equal to 256",
        "monitoring.server.workers: unknown key; expected one of: ingest_threads, api_threads, "
        "shutdown_timeout",
    ]
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == "\n".join(errors)


def test_valid_file_has_no_errors() -> None:
    assert check_config_file(SEED) == []


def test_a_grpc_port_clashing_with_another_listener_names_both_keys(tmp_path: Path) -> None:
    path = tmp_path / "clash.yaml"
    path.write_text("monitoring:\n  ingest:\n    grpc_port: 8080\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors == [
        "monitoring.ingest.grpc_port: same host and port as monitoring.dashboard.port; "
        "give each listener its own port"
    ]


def test_grpc_can_be_turned_off_with_null(tmp_path: Path) -> None:
    path = tmp_path / "off.yaml"
    path.write_text("monitoring:\n  ingest:\n    grpc_port: null\n")
    assert load_config(path).ingest.grpc_port is None
