"""The write pipeline's commit wait: a batch whose request gave up is withdrawn, never written;
a batch the writer already took is answered with its real outcome."""

from __future__ import annotations

import threading

import pytest

from tests.support import wait_until
from tradepulse_backend.bus import EventBus
from tradepulse_backend.ingest.pipeline import CommitTimedOut, WriteFailed, WritePipeline
from tradepulse_backend.telemetry.records import DecodedBatch


class GatedWriter:
    """A writer that takes each group, then waits for the test to open the gate."""

    series_ids: dict = {}

    def __init__(self, fail: bool = False) -> None:
        self.gate = threading.Event()
        self.taken: list[list[str]] = []
        self.fail = fail

    def write(self, batches) -> None:
        self.taken.append([b.signal for b in batches])
        self.gate.wait(10)
        if self.fail:
            raise OSError("disk full")


def pipeline(writer: GatedWriter) -> WritePipeline:
    running = WritePipeline(writer, EventBus(), max_batches=8, group_max_records=100,
                            commit_timeout=0.05)
    running.start()
    return running


def batch(signal: str) -> DecodedBatch:
    found = DecodedBatch(signal)
    found.accepted = 1
    return found


def store_in_thread(running: WritePipeline, signal: str, outcome: list) -> threading.Thread:
    def store() -> None:
        try:
            running.store(batch(signal))
            outcome.append("stored")
        except WriteFailed as error:
            outcome.append(type(error).__name__)

    thread = threading.Thread(target=store)
    thread.start()
    return thread


def test_a_batch_whose_wait_timed_out_is_never_written():
    writer = GatedWriter()
    running = pipeline(writer)
    first: list = []
    thread = store_in_thread(running, "traces", first)
    wait_until(lambda: writer.taken, what="writer busy")
    with pytest.raises(CommitTimedOut):
        running.store(batch("logs"))
    writer.gate.set()
    thread.join()
    running.close()

    assert first == ["stored"]
    assert writer.taken == [["traces"]]
    assert running.stats.commit_timeouts == 1
    assert running.stats.accepted["logs"] == 0


def test_a_batch_the_writer_took_gets_its_real_outcome_after_the_timeout():
    for fail, expected in ((False, ["stored"]), (True, ["WriteFailed"])):
        writer = GatedWriter(fail=fail)
        running = pipeline(writer)
        outcome: list = []
        thread = store_in_thread(running, "metrics", outcome)
        wait_until(lambda w=writer: w.taken, what="writer took the batch")
        writer.gate.set()
        thread.join()
        running.close()
        assert outcome == expected
        assert running.stats.commit_timeouts == 0
