"""Host sampling with psutil: CPU, load, memory, swap, disks, disk and network I/O rates, open
descriptors, and the backend's own process. Counter rates are per second of the clock's
monotonic time since the previous sample."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psutil

from tradepulse_backend.clock import Clock
from tradepulse_backend.health.models import DiskUsage, ProcessFigures, SystemMetrics

logger = logging.getLogger(__name__)

_DISK_COUNTERS = {"read_bytes": "read_bytes_per_s", "write_bytes": "write_bytes_per_s",
                  "read_count": "read_ops_per_s", "write_count": "write_ops_per_s"}
_NET_COUNTERS = {"bytes_recv": "receive_bytes_per_s", "bytes_sent": "transmit_bytes_per_s",
                 "errin": "receive_errors_per_s", "errout": "transmit_errors_per_s",
                 "dropin": "receive_drops_per_s", "dropout": "transmit_drops_per_s"}
_SKIPPED_FSTYPES = frozenset({"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs"})
_FILE_NR = Path("/proc/sys/fs/file-nr")


class HostSampler:
    """Takes `SystemMetrics` samples; keeps the previous counters to turn them into rates."""

    def __init__(self, clock: Clock, pid: int | None = None) -> None:
        self.clock = clock
        self._process = psutil.Process(pid or os.getpid())
        self._previous: tuple[float, dict[str, int], dict[str, int]] | None = None
        self.counters: dict[str, dict[str, int]] = {}
        """The raw cumulative disk and network counters of the latest sample."""
        psutil.cpu_percent(percpu=True)
        self._process.cpu_percent()

    def sample(self) -> SystemMetrics:
        """One sample of the whole host and this process."""
        per_core = tuple(float(p) for p in psutil.cpu_percent(percpu=True))
        memory = psutil.virtual_memory()
        swap = psutil.swap_memory()
        disk_io, network = self._rates()
        return SystemMetrics(
            timestamp_ns=self.clock.now_ns(),
            cpu_percent=sum(per_core) / len(per_core) if per_core else 0.0,
            cpu_per_core=per_core,
            load_avg=_load_average(),
            memory_percent=float(memory.percent),
            memory_used_bytes=int(memory.total - memory.available),
            memory_total_bytes=int(memory.total),
            swap_percent=float(swap.percent),
            swap_used_bytes=int(swap.used),
            swap_total_bytes=int(swap.total),
            disks=tuple(disks()),
            disk_io=disk_io,
            network=network,
            open_fds=host_open_files(),
            process=self._own_process(),
        )

    def _rates(self) -> tuple[dict[str, float | None], dict[str, float | None]]:
        now = self.clock.monotonic()
        disk_now = _counters(psutil.disk_io_counters(), _DISK_COUNTERS)
        net_now = _counters(psutil.net_io_counters(), _NET_COUNTERS)
        previous, self._previous = self._previous, (now, disk_now, net_now)
        self.counters = {"disk": disk_now, "network": net_now}
        if previous is None or now <= previous[0]:
            return dict.fromkeys(_DISK_COUNTERS.values()), dict.fromkeys(_NET_COUNTERS.values())
        elapsed = now - previous[0]
        return (_per_second(previous[1], disk_now, _DISK_COUNTERS, elapsed),
                _per_second(previous[2], net_now, _NET_COUNTERS, elapsed))

    def _own_process(self) -> ProcessFigures:
        with self._process.oneshot():
            return ProcessFigures(
                cpu_percent=float(self._process.cpu_percent()),
                rss_bytes=int(self._process.memory_info().rss),
                threads=int(self._process.num_threads()),
                open_fds=_process_fds(self._process))


def disks() -> list[DiskUsage]:
    """Usage of each real mounted filesystem, one entry per device."""
    found: list[DiskUsage] = []
    devices: set[str] = set()
    for partition in psutil.disk_partitions(all=False):
        if partition.fstype in _SKIPPED_FSTYPES or partition.device in devices:
            continue
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:
            continue
        if usage.total <= 0:
            continue
        devices.add(partition.device)
        found.append(DiskUsage(partition.mountpoint, float(usage.percent), int(usage.used),
                               int(usage.total)))
    if not found:
        usage = psutil.disk_usage("/")
        found.append(DiskUsage("/", float(usage.percent), int(usage.used), int(usage.total)))
    return found


def host_open_files() -> int | None:
    """Open file handles of the whole host (Linux), None where the system does not say."""
    try:
        return int(_FILE_NR.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _load_average() -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in psutil.getloadavg())
    except (AttributeError, OSError):
        return ()


def _process_fds(process: psutil.Process) -> int | None:
    try:
        return int(process.num_fds())
    except (AttributeError, psutil.Error):
        return None


def _counters(raw, names: dict[str, str]) -> dict[str, int]:
    if raw is None:
        return {}
    return {name: int(getattr(raw, name, 0)) for name in names}


def _per_second(before: dict[str, int], after: dict[str, int], names: dict[str, str],
                elapsed: float) -> dict[str, float | None]:
    """Rates of counters; a counter that went back (a reset) gives None, not a negative."""
    rates: dict[str, float | None] = {}
    for name, label in names.items():
        if name not in before or name not in after or after[name] < before[name]:
            rates[label] = None
        else:
            rates[label] = (after[name] - before[name]) / elapsed
    return rates
