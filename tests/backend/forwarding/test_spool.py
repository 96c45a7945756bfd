"""The disk queue of one destination: FIFO, bounded (oldest dropped and counted), and
surviving a restart, a torn last record and a second process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tradepulse_backend.forwarding.spool import CURSOR_EVERY, HEADER, Spool, SpoolLocked

PROTOBUF = "application/x-protobuf"


def _append(spool: Spool, body: bytes, signal: str = "traces", enqueued_ns: int = 1) -> bool:
    return spool.append(body, signal=signal, content_type=PROTOBUF, encoding="identity",
                        enqueued_ns=enqueued_ns)


def _drain(spool: Spool) -> list[bytes]:
    bodies = []
    while (item := spool.peek()) is not None:
        bodies.append(item.body)
        spool.complete(item.entry)
    return bodies


def test_items_come_out_in_the_order_they_went_in(tmp_path):
    spool = Spool(tmp_path / "q", max_bytes=1 << 20)
    for i in range(5):
        _append(spool, f"body-{i}".encode(), enqueued_ns=i)
    first = spool.peek()
    assert (first.body, first.entry.enqueued_ns, first.entry.signal) == (b"body-0", 0, "traces")
    assert spool.peek().body == b"body-0", "peek does not remove"
    assert _drain(spool) == [f"body-{i}".encode() for i in range(5)]
    assert (spool.depth, spool.bytes, spool.appended) == (0, 0, 5)
    spool.close()


def test_a_reopened_spool_holds_exactly_what_was_not_completed(tmp_path):
    spool = Spool(tmp_path / "q", max_bytes=1 << 20, segment_bytes=64)
    for i in range(10):
        spool.append(f"request {i}".encode() * 3, signal="logs", content_type="application/json",
                     encoding="gzip", enqueued_ns=100 + i)
    for _ in range(4):
        spool.complete(spool.peek().entry)
    spool.close()

    again = Spool(tmp_path / "q", max_bytes=1 << 20, segment_bytes=64)
    item = again.peek()
    assert (item.entry.signal, item.entry.content_type, item.entry.encoding,
            item.entry.enqueued_ns) == ("logs", "application/json", "gzip", 104)
    assert _drain(again) == [f"request {i}".encode() * 3 for i in range(4, 10)]
    again.close()
    assert Spool(tmp_path / "q", max_bytes=1 << 20).peek() is None


def test_consumed_segments_are_deleted(tmp_path):
    spool = Spool(tmp_path / "q", max_bytes=1 << 20, segment_bytes=100)
    for i in range(20):
        _append(spool, bytes(60) + bytes([i]))
    assert len(list((tmp_path / "q").glob("*.seg"))) > 5
    _drain(spool)
    assert len(list((tmp_path / "q").glob("*.seg"))) == 1
    spool.close()


def test_a_full_spool_drops_the_oldest_and_counts_them(tmp_path):
    size = HEADER.size + 100
    spool = Spool(tmp_path / "q", max_bytes=3 * size)
    for i in range(5):
        assert _append(spool, bytes([i]) * 100)
    assert (spool.depth, spool.bytes, spool.dropped, spool.dropped_bytes) == (3, 3 * size, 2, 200)
    assert [body[0] for body in _drain(spool)] == [2, 3, 4]
    spool.close()
    assert Spool(tmp_path / "q", max_bytes=3 * size).peek() is None, "the drop was persisted"


def test_a_body_larger_than_the_whole_queue_is_dropped_and_counted(tmp_path):
    spool = Spool(tmp_path / "q", max_bytes=1024)
    _append(spool, b"small")
    assert not _append(spool, bytes(2048))
    assert (spool.depth, spool.dropped) == (1, 1)
    spool.close()


def test_an_item_dropped_while_being_sent_is_not_completed_twice(tmp_path):
    size = HEADER.size + 10
    spool = Spool(tmp_path / "q", max_bytes=2 * size)
    _append(spool, b"a" * 10)
    _append(spool, b"b" * 10)
    in_flight = spool.peek()
    _append(spool, b"c" * 10)
    spool.complete(in_flight.entry)
    assert _drain(spool) == [b"b" * 10, b"c" * 10]
    spool.close()


def test_a_torn_last_record_is_cut_off_on_open(tmp_path):
    spool = Spool(tmp_path / "q", max_bytes=1 << 20)
    _append(spool, b"whole")
    _append(spool, b"torn-in-half")
    spool.close()
    segment = max((tmp_path / "q").glob("*.seg"))
    segment.write_bytes(segment.read_bytes()[:-5])

    again = Spool(tmp_path / "q", max_bytes=1 << 20)
    assert _drain(again) == [b"whole"]
    _append(again, b"after")
    assert _drain(again) == [b"after"]
    again.close()


def test_a_second_process_cannot_open_the_same_queue(tmp_path):
    spool = Spool(tmp_path / "q", max_bytes=1 << 20)
    with pytest.raises(SpoolLocked, match="another tradepulse process"):
        Spool(tmp_path / "q", max_bytes=1 << 20)
    spool.close()
    Spool(tmp_path / "q", max_bytes=1 << 20).close()


def test_a_crash_loses_nothing_and_resends_at_most_the_unsaved_completions(tmp_path):
    script = (
        "import os, sys\n"
        "from tradepulse_backend.forwarding.spool import Spool\n"
        "spool = Spool(__import__('pathlib').Path(sys.argv[1]), max_bytes=1 << 20)\n"
        "for i in range(40):\n"
        "    spool.append(b'r%d' % i, signal='traces', content_type='application/x-protobuf',\n"
        "                 encoding='identity', enqueued_ns=i)\n"
        "for _ in range(36):\n"
        "    spool.complete(spool.peek().entry)\n"
        "os._exit(0)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "q")], check=True, env=env,
                   timeout=60)

    bodies = _drain(Spool(tmp_path / "q", max_bytes=1 << 20))
    assert bodies[-4:] == [b"r36", b"r37", b"r38", b"r39"], "nothing unsent is lost"
    assert len(bodies) <= 4 + CURSOR_EVERY and bodies[0] == b"r%d" % (40 - len(bodies))
