"""The OTLP/HTTP receiver called in-process with hostile bodies: every body that cannot be
decoded is a 400 with a message, never a 500 and never an exception escaping the app."""

from __future__ import annotations

import atexit
import gzip
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from werkzeug.test import Client

from tests.integration.otlp_samples import (
    T0,
    cumulative_counter,
    json_logs,
    json_metrics,
    json_trace,
    metrics_request,
    span,
    spans_request,
)
from tradepulse_backend.ingest.auth import ApiKeys
from tradepulse_backend.ingest.otlp_json import parse_json
from tradepulse_backend.ingest.pipeline import WriteFailed
from tradepulse_backend.ingest.receiver import OtlpReceiver, ReceiverSettings
from tradepulse_backend.store import Store

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
ALLOWED = {200, 400, 413, 415}
MAX_BODY = 256 * 1024
JSON_SAMPLES = {"/v1/traces": json_trace(), "/v1/metrics": json_metrics(),
                "/v1/logs": json_logs()}
PROTOBUF_SAMPLES = {
    "/v1/traces": spans_request("fuzz", [span(b"\x01" * 16, b"\x02" * 8, "a")]),
    "/v1/metrics": metrics_request("fuzz", [cumulative_counter("c", [(T0, T0 + 1, 1.0)])]),
    "/v1/logs": parse_json(json_logs(), ExportLogsServiceRequest).SerializeToString(),
}
FUZZ = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])


class RecordingPipeline:
    """Stands in for the write pipeline: writes each batch through the real writer of one
    shared SQLite store (so a decoded value the database cannot hold fails the test as a 503
    would) and records it."""

    commit_timeout = 1.0
    _store: Store | None = None

    def __init__(self) -> None:
        self.batches: list = []
        if RecordingPipeline._store is None:
            folder = Path(tempfile.mkdtemp(prefix="tp-fuzz-"))
            RecordingPipeline._store = Store.open(f"sqlite:///{folder / 'fuzz.db'}", folder)
            atexit.register(_remove, RecordingPipeline._store, folder)
        self.series_ids = RecordingPipeline._store.writer.series_ids

    def store(self, batch, timeout: float | None = None) -> None:
        try:
            RecordingPipeline._store.writer.write([batch])
        except Exception as error:
            raise WriteFailed(f"writer refused a decoded batch: {error}") from error
        self.batches.append(batch)


def _remove(store: Store, folder: Path) -> None:
    store.close()
    shutil.rmtree(folder, ignore_errors=True)


def receiver() -> tuple[Client, RecordingPipeline]:
    pipeline = RecordingPipeline()
    app = OtlpReceiver(ReceiverSettings(keys=ApiKeys(()), max_body_bytes=MAX_BODY,
                                        retry_after_seconds=1), pipeline)
    return Client(app), pipeline


def send(path: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes]:
    client, _ = receiver()
    response = client.post(path, data=body, content_type=content_type, headers=headers)
    return response.status_code, response.get_data()


def message(body: bytes, content_type: str) -> str:
    if content_type == PROTOBUF:
        return status_pb2.Status.FromString(body).message
    return json.loads(body)["message"]


def _nested_attribute(depth: int) -> bytes:
    value = '{"stringValue": "x"}'
    for _ in range(depth):
        value = '{"arrayValue": {"values": [' + value + ']}}'
    return ('{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": '
            + value + '}]}}]}').encode()


def _span_field(field: str, raw: str) -> bytes:
    return ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "' + "ab" * 16
            + '", "spanId": "' + "cd" * 8 + '", "' + field + '": ' + raw + '}]}]}]}').encode()


HOSTILE_JSON = {
    "deeply nested arrays": ("/v1/traces", b"[" * 100_000 + b"]" * 100_000),
    "deeply nested objects": ("/v1/traces", b'{"a":' * 20_000 + b"1" + b"}" * 20_000),
    "deeply nested attribute values": ("/v1/traces", _nested_attribute(2000)),
    "a 5000-digit integer": ("/v1/traces", _span_field("startTimeUnixNano", "9" * 5000)),
    "a 5000-digit integer string": ("/v1/traces",
                                    _span_field("startTimeUnixNano", '"' + "9" * 5000 + '"')),
    "1e400 as span kind": ("/v1/traces", _span_field("kind", "1e400")),
    "1e400 as severityNumber": ("/v1/logs", (
        b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": 1e400}]}]}]}')),
    "1e400 as aggregationTemporality": ("/v1/metrics", (
        b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "sum": '
        b'{"aggregationTemporality": 1e400, "dataPoints": [{"asDouble": 1}]}}]}]}]}')),
    "-Infinity as a time": ("/v1/metrics", (
        b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "gauge": '
        b'{"dataPoints": [{"asDouble": 1, "timeUnixNano": -Infinity}]}}]}]}]}')),
    "a number as a trace id": ("/v1/traces", _span_field("name", '"x", "traceId": 5')),
    "invalid UTF-8": ("/v1/logs", b'{"resourceLogs": "\xff\xfe"}'),
    "a top-level array": ("/v1/logs", b"[1, 2]"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_hostile_json_is_a_400_with_a_message(case):
    path, body = HOSTILE_JSON[case]
    status, reply = send(path, body, JSON)
    assert status == 400
    assert message(reply, JSON).startswith("cannot decode")


def test_deeply_nested_protobuf_is_a_400_with_a_status_body():
    value = AnyValue(string_value="x").SerializeToString()
    for _ in range(300):  # AnyValue.array_value (5) -> ArrayValue.values (1) -> AnyValue ...
        value = _field(5, _field(1, value))
    key_value = KeyValue(key="k").SerializeToString() + _field(2, value)
    body = _field(1, _field(1, _field(1, key_value)))  # request.resource_spans.resource.attrs
    status, reply = send("/v1/traces", body, PROTOBUF)
    assert status == 400
    assert message(reply, PROTOBUF).startswith("cannot decode")


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def test_valid_samples_are_stored():
    for path in JSON_SAMPLES:
        client, pipeline = receiver()
        assert client.post(path, data=JSON_SAMPLES[path], content_type=JSON).status_code == 200
        assert client.post(path, data=PROTOBUF_SAMPLES[path],
                           content_type=PROTOBUF).status_code == 200
        assert [b.accepted > 0 for b in pipeline.batches] == [True, True]


def _json_values() -> st.SearchStrategy:
    scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=20)
               | st.floats(allow_nan=True, allow_infinity=True)
               | st.sampled_from(["@@BIG@@", "@@E400@@", "@@DEEP@@", "ab" * 16, "cd" * 8]))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12) | st.sampled_from(_KEYS), inner,
                                          max_size=4), max_leaves=12)


_KEYS = ["resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "kind", "name",
         "resourceMetrics", "scopeMetrics", "metrics", "sum", "gauge", "histogram",
         "dataPoints", "asDouble", "asInt", "timeUnixNano", "aggregationTemporality",
         "resourceLogs", "scopeLogs", "logRecords", "severityNumber", "body", "attributes",
         "value", "arrayValue", "kvlistValue", "values", "intValue", "bytesValue"]
_TOKENS = {'"@@BIG@@"': "9" * 5000, '"@@E400@@"': "1e400", '"@@DEEP@@"': "[" * 5000 + "]" * 5000}


def _render(document: object) -> bytes:
    text = json.dumps(document)
    for token, raw in _TOKENS.items():
        text = text.replace(token, raw)
    return text.encode("utf-8", "surrogatepass")


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated_json(draw, sample: bytes) -> bytes:
    """A valid OTLP/JSON sample with one to three values replaced by arbitrary JSON."""
    document = {"root": json.loads(sample)}
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document["root"], ("root",))))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(_json_values())
    return _render(document["root"])


@st.composite
def mutated_bytes(draw, sample: bytes) -> bytes:
    """A valid sample with a few bytes replaced, inserted or cut."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "cut"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if action == "replace":
            data[at:at + len(chunk)] = chunk
        elif action == "insert":
            data[at:at] = chunk
        else:
            del data[at:at + len(chunk)]
    return bytes(data)


PATHS = st.sampled_from(sorted(JSON_SAMPLES))


@FUZZ
@given(PATHS, st.data())
def test_mutated_json_samples_never_get_a_500(path, data):
    body = data.draw(mutated_json(JSON_SAMPLES[path]) | mutated_bytes(JSON_SAMPLES[path]))
    assert send(path, body, JSON)[0] in ALLOWED


@FUZZ
@given(PATHS, _json_values())
def test_arbitrary_json_documents_never_get_a_500(path, document):
    assert send(path, _render(document), JSON)[0] in ALLOWED


@FUZZ
@given(PATHS, st.data())
def test_mutated_and_random_protobuf_never_gets_a_500(path, data):
    body = data.draw(mutated_bytes(PROTOBUF_SAMPLES[path]) | st.binary(max_size=200))
    assert send(path, body, PROTOBUF)[0] in ALLOWED


@settings(max_examples=40)
@given(PATHS, st.binary(max_size=64))
def test_mutated_gzip_never_gets_a_500(path, tail):
    body = gzip.compress(PROTOBUF_SAMPLES[path])[:-8] + tail
    assert send(path, body, PROTOBUF, **{"Content-Encoding": "gzip"})[0] in ALLOWED
