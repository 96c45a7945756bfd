"""A throwaway PostgreSQL server in a temporary directory, for the tests and the benchmark.

Debian's `postgresql` package provides the binaries (/usr/lib/postgresql/<version>/bin). The
server runs as the `postgres` system user when we are root (PostgreSQL refuses root), listens on
127.0.0.1 at a free port with its socket in the temporary directory, and trusts local logins.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
"""Test settings: a crash loses the throwaway cluster anyway."""
LIKE_SQLITE = "-c synchronous_commit=off"
"""Benchmark settings: durable, but commits do not wait for the WAL flush (as SQLite's
synchronous=NORMAL in WAL mode)."""


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl, newest version first; None if not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl start in a temporary directory; `stop()` kills it and removes the files."""

    def __init__(self, bin_dir: Path, settings: str = FAST) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tp-postgres-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._databases = itertools.count(1)
        self._started = False
        try:
            self._start(settings)
        except BaseException:
            self.stop()
            raise

    def _start(self, settings: str) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "--encoding=UTF8", "--locale=C")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.sockets} {settings}")
        self._started = True
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-o", options)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self._as_user, str(self.bin_dir / program), *args],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            raise RuntimeError(f"{program} failed: {done.stderr.strip()}\n"
                               + (log.read_text() if log.exists() else ""))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "tp") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop at once (nothing here needs a clean shutdown) and delete the cluster."""
        try:
            if self._started:
                self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
                self._started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
