"""A bounded, disk-backed FIFO of request bodies for one destination: append-only segment files
in the destination's own directory, never the main store, so a vendor outage never contends
with ingest's database.

Appending is one buffered write and a flush (no fsync) under a lock, so the ingest thread that
hands a committed request over never waits on the network or on the sender. The sender peeks at
the oldest entry, sends it, and then `complete`s it, which moves the persisted read cursor past
it; a restart re-reads every segment from the cursor, so nothing queued is lost (an entry sent
just before a crash, whose cursor move was not yet written, is sent again: at least once). When
the queue would grow past `max_bytes` the oldest entries are dropped, and counted.

Record layout: a fixed header (magic, enqueue time, body length, signal, content type,
encoding, CRC-32 of the body) then the body. A torn record at a segment's end (the process died
mid-write) is cut off when the spool is opened.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MAGIC = b"TPF1"
HEADER = struct.Struct("<4sqIBBBxI")
SIGNALS = ("traces", "metrics", "logs")
CONTENT_TYPES = ("application/x-protobuf", "application/json")
ENCODINGS = ("identity", "gzip")
CURSOR_FILE = "cursor.json"
LOCK_FILE = "lock"
SEGMENT_SUFFIX = ".seg"
CURSOR_EVERY = 32


class SpoolLocked(Exception):
    """Another process holds this destination's queue directory."""


@dataclass(frozen=True, slots=True)
class Entry:
    """Where one queued request lies on disk, and what it is."""

    segment: int
    offset: int
    length: int
    enqueued_ns: int
    signal: str
    content_type: str
    encoding: str

    @property
    def size(self) -> int:
        """Bytes it takes in the queue: header and body."""
        return HEADER.size + self.length


@dataclass(frozen=True, slots=True)
class Item:
    """A queued request read back for sending."""

    entry: Entry
    body: bytes


class Spool:
    """The queue of one destination; thread-safe (appenders and one reader)."""

    def __init__(self, directory: Path, *, max_bytes: int, segment_bytes: int | None = None
                 ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(64 * 1024, min(8 * 1024 * 1024, max_bytes // 8))
        self.appended = 0
        self._unsaved = 0
        self.dropped = 0
        self.dropped_bytes = 0
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque()
        self._bytes = 0
        self._closed = False
        self.ready = threading.Event()
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_handle = _exclusive_lock(directory / LOCK_FILE)
        self._segments = self._recover()
        self._write_id = (self._segments[-1] + 1) if self._segments else 1
        self._segments.append(self._write_id)
        self._writer = open(self._segment_path(self._write_id), "ab", buffering=0)  # noqa: SIM115
        self._write_offset = 0
        self._readers: dict[int, object] = {}
        self._advance_cursor()
        if self._entries:
            self.ready.set()

    # --- appending (ingest threads) -------------------------------------------------------

    def append(self, body: bytes, *, signal: str, content_type: str, encoding: str,
               enqueued_ns: int) -> bool:
        """Queue one body; returns False when it could not be queued (closed, or larger than
        the whole queue: counted as dropped)."""
        size = HEADER.size + len(body)
        with self._lock:
            if self._closed or size > self.max_bytes:
                self.dropped += 1
                self.dropped_bytes += len(body)
                logger.warning("forwarding queue %s: dropped a %d-byte %s request (%s)",
                               self.directory.name, len(body), signal,
                               "queue closed" if self._closed else "larger than max_queue_bytes")
                return False
            self._drop_oldest_for(size)
            if self._write_offset >= self.segment_bytes:
                self._roll()
            header = HEADER.pack(MAGIC, enqueued_ns, len(body), SIGNALS.index(signal),
                                 CONTENT_TYPES.index(content_type), ENCODINGS.index(encoding),
                                 zlib.crc32(body))
            try:
                self._write_record(header + body)
            except OSError as error:
                self.dropped += 1
                self.dropped_bytes += len(body)
                logger.error("forwarding queue %s: dropped a %s request, cannot write it: %s",
                             self.directory.name, signal, error)
                return False
            self._entries.append(Entry(self._write_id, self._write_offset, len(body),
                                       enqueued_ns, signal, content_type, encoding))
            self._write_offset += size
            self._bytes += size
            self.appended += 1
        self.ready.set()
        return True

    def _write_record(self, record: bytes) -> None:
        """Write all of `record` at the end of the segment; on failure (disk full) cut the
        segment back so no partial record is left for the next append to follow."""
        view = memoryview(record)
        try:
            while view:
                view = view[self._writer.write(view):]
        except OSError:
            self._writer.truncate(self._write_offset)
            raise

    def _drop_oldest_for(self, size: int) -> None:
        """Make room for `size` bytes by dropping the oldest entries (caller holds the lock)."""
        dropped = 0
        while self._entries and self._bytes + size > self.max_bytes:
            entry = self._entries.popleft()
            self._bytes -= entry.size
            self.dropped += 1
            self.dropped_bytes += entry.length
            dropped += 1
        if dropped:
            logger.warning("forwarding queue %s is full: dropped the %d oldest request(s)",
                           self.directory.name, dropped)
            self._advance_cursor()

    def _roll(self) -> None:
        self._writer.close()
        self._write_id += 1
        self._segments.append(self._write_id)
        self._writer = open(self._segment_path(self._write_id), "ab", buffering=0)  # noqa: SIM115
        self._write_offset = 0

    # --- reading (the destination's sender) -----------------------------------------------

    def peek(self) -> Item | None:
        """The oldest queued request with its body, or None when the queue is empty."""
        with self._lock:
            if self._closed or not self._entries:
                self.ready.clear()
                return None
            entry = self._entries[0]
            data = os.pread(self._reader(entry.segment).fileno(), entry.size, entry.offset)
        return Item(entry, data[HEADER.size:])

    def complete(self, entry: Entry) -> None:
        """Remove `entry` (sent, or given up on) if it is still the oldest: an entry dropped
        for room while it was being sent is already gone.

        The cursor is written every CURSOR_EVERY completions, when the queue empties, when a
        segment is left behind, and on close: fewer file writes on the sender's path, at the
        price of resending at most that many requests after a crash (never after a stop)."""
        with self._lock:
            if self._entries and self._entries[0] is entry:
                self._entries.popleft()
                self._bytes -= entry.size
                self._unsaved += 1
                if (self._unsaved >= CURSOR_EVERY or not self._entries
                        or self._entries[0].segment != entry.segment):
                    self._advance_cursor()

    def _reader(self, segment: int):
        handle = self._readers.get(segment)
        if handle is None:
            handle = self._readers[segment] = open(self._segment_path(segment), "rb")  # noqa: SIM115
        return handle

    def _advance_cursor(self) -> None:
        """Persist the position of the oldest entry and delete segments wholly behind it
        (caller holds the lock)."""
        if self._entries:
            segment, offset = self._entries[0].segment, self._entries[0].offset
        else:
            segment, offset = self._write_id, self._write_offset
        self._save_cursor(segment, offset)
        self._unsaved = 0
        while self._segments and self._segments[0] < segment:
            old = self._segments.pop(0)
            handle = self._readers.pop(old, None)
            if handle is not None:
                handle.close()
            self._segment_path(old).unlink(missing_ok=True)

    # --- figures and life -----------------------------------------------------------------

    @property
    def depth(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def oldest_enqueued_ns(self) -> int | None:
        with self._lock:
            return self._entries[0].enqueued_ns if self._entries else None

    def close(self) -> None:
        """Flush and close the files; what is queued stays on disk for the next start."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._unsaved:
                self._advance_cursor()
            self._writer.close()
            for handle in self._readers.values():
                handle.close()
            self._readers.clear()
            self._lock_handle.close()
        self.ready.set()

    # --- opening --------------------------------------------------------------------------

    def _segment_path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}{SEGMENT_SUFFIX}"

    def _save_cursor(self, segment: int, offset: int) -> None:
        path = self.directory / CURSOR_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"segment": segment, "offset": offset}))
        os.replace(temporary, path)

    def _load_cursor(self) -> tuple[int, int]:
        try:
            data = json.loads((self.directory / CURSOR_FILE).read_text())
            return int(data["segment"]), int(data["offset"])
        except FileNotFoundError:
            return 0, 0
        except (ValueError, KeyError, TypeError):
            logger.error("forwarding queue %s: unreadable cursor; resending from the oldest "
                         "segment", self.directory.name)
            return 0, 0

    def _recover(self) -> list[int]:
        """Index every entry at or after the cursor; returns the segment ids kept."""
        cursor_segment, cursor_offset = self._load_cursor()
        segments = sorted(int(p.stem) for p in self.directory.glob(f"*{SEGMENT_SUFFIX}")
                          if p.stem.isdigit())
        kept = []
        for segment in segments:
            if segment < cursor_segment:
                self._segment_path(segment).unlink(missing_ok=True)
                continue
            start = cursor_offset if segment == cursor_segment else 0
            self._scan(segment, start)
            kept.append(segment)
        if self._entries:
            logger.info("forwarding queue %s: %d request(s) (%d bytes) left from the last run",
                        self.directory.name, len(self._entries), self._bytes)
        return kept

    def _scan(self, segment: int, offset: int) -> None:
        path = self._segment_path(segment)
        data = path.read_bytes()
        while offset + HEADER.size <= len(data):
            magic, enqueued_ns, length, signal, content_type, encoding, crc = \
                HEADER.unpack_from(data, offset)
            end = offset + HEADER.size + length
            if (magic != MAGIC or end > len(data) or signal >= len(SIGNALS)
                    or content_type >= len(CONTENT_TYPES) or encoding >= len(ENCODINGS)
                    or zlib.crc32(data[offset + HEADER.size:end]) != crc):
                break
            entry = Entry(segment, offset, length, enqueued_ns, SIGNALS[signal],
                          CONTENT_TYPES[content_type], ENCODINGS[encoding])
            self._entries.append(entry)
            self._bytes += entry.size
            offset = end
        if offset < len(data):
            logger.warning("forwarding queue %s: cut a torn record at the end of segment %d "
                           "(%d bytes)", self.directory.name, segment, len(data) - offset)
            with open(path, "r+b") as handle:
                handle.truncate(offset)
        while self._bytes > self.max_bytes and self._entries:
            entry = self._entries.popleft()
            self._bytes -= entry.size
            self.dropped += 1
            self.dropped_bytes += entry.length


def _exclusive_lock(path: Path):
    """Hold an exclusive lock on the directory for this process's life."""
    handle = open(path, "a")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SpoolLocked(f"{path.parent} is used by another tradepulse process") from None
    return handle
