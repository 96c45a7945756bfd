"""`make bench`: every benchmark in one run, each printing ratios against its in-run baseline."""

from __future__ import annotations

from bench import (
    bench_alerting,
    bench_dashboard,
    bench_forwarding,
    bench_health,
    bench_ingest,
    bench_performance_incremental,
    bench_performance_stats,
    bench_storage,
    bench_traced,
)


def main() -> None:
    print(bench_traced.format_result(bench_traced.run()), flush=True)
    print(bench_performance_stats.format_result(bench_performance_stats.run()), flush=True)
    print(bench_performance_incremental.format_result(bench_performance_incremental.run()),
          flush=True)
    for line in bench_ingest.report(bench_ingest.run()):
        print(line, flush=True)
    for line in bench_storage.report(bench_storage.run()):
        print(line, flush=True)
    for line in bench_forwarding.report(bench_forwarding.run()):
        print(line, flush=True)
    for line in bench_health.report(bench_health.run()):
        print(line, flush=True)
    print(bench_alerting.format_result(bench_alerting.run()), flush=True)
    for line in bench_dashboard.report(bench_dashboard.run()):
        print(line, flush=True)


if __name__ == "__main__":
    main()
