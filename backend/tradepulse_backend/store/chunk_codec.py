"""Column codec of series chunks: delta-of-delta integers and XOR or decimal-delta floats,
split into byte planes with numpy and compressed once with zstd (zlib where it is missing).

Decoding is exact: every int64 and every float64 bit pattern (NaN payloads, ±Inf, -0.0,
subnormals) comes back as stored, in the order given (out-of-order and duplicate times too).

Layout: one version byte, one compressor byte, then the compressed body: a little-endian
uint32 row count and uint8 column count, one 20-byte header per column (kind, mode, byte width,
decimal scale, two int64 bases), then each column's byte planes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

try:
    import zstandard
except ImportError:  # pragma: no cover - zlib is the fallback the format also reads
    zstandard = None

VERSION = 1
_COUNTS = struct.Struct("<IB")
_COLUMN = struct.Struct("<BBBBqq")
_MIN_COMPRESS = 24
MAX_DECIMALS = 8
_POW10 = [10.0 ** k for k in range(MAX_DECIMALS + 1)]


class Compressor(IntEnum):
    """The general-purpose codec after the byte planes."""

    NONE = 0
    ZLIB = 1
    ZSTD = 2


class Mode(IntEnum):
    """How a column's values became small integers."""

    INT_DOD = 0
    INT_DELTA = 1
    FLOAT_XOR = 2
    FLOAT_DECIMAL_DELTA = 3
    FLOAT_DECIMAL_DOD = 4


INT, FLOAT = 0, 1
_U64 = np.uint64
_ZSTD_LEVEL = 3


def encode(columns: Sequence[np.ndarray]) -> bytes:
    """Equal-length int64 or float64 arrays as one compressed blob."""
    arrays = [np.ascontiguousarray(c) for c in columns]
    n = arrays[0].size if arrays else 0
    headers, planes = [], []
    for array in arrays:
        if array.size != n:
            raise ValueError("chunk columns must have equal lengths")
        if array.dtype == np.float64:
            header, body = _encode_float(array)
        elif array.dtype.kind in "iu":
            header, body = _encode_int(array.astype(np.int64, copy=False), INT)
        else:
            raise TypeError(f"cannot encode a {array.dtype} column")
        headers.append(header)
        planes.append(body)
    raw = b"".join([_COUNTS.pack(n, len(arrays)), *headers, *planes])
    compressor, body = _compress(raw)
    return bytes((VERSION, compressor)) + body


def decode(blob: bytes) -> list[np.ndarray]:
    """The arrays `encode` was given, bit for bit."""
    if len(blob) < 2 or blob[0] != VERSION:
        raise ValueError("not a chunk of a known version")
    raw = _decompress(Compressor(blob[1]), memoryview(blob)[2:])
    n, count = _COUNTS.unpack_from(raw, 0)
    offset = _COUNTS.size
    headers = []
    for _ in range(count):
        headers.append(_COLUMN.unpack_from(raw, offset))
        offset += _COLUMN.size
    out = []
    for kind, mode, width, scale, base0, base1 in headers:
        size = width * max(n - _bases(Mode(mode)), 0)
        planes = np.frombuffer(raw, dtype=np.uint8, count=size, offset=offset)
        offset += size
        out.append(_decode_column(kind, Mode(mode), width, scale, base0, base1, n, planes))
    return out


def _bases(mode: Mode) -> int:
    """How many leading values a mode keeps in the column header rather than in planes."""
    return 2 if mode in (Mode.INT_DOD, Mode.FLOAT_DECIMAL_DOD) else 1


def _encode_int(values: np.ndarray, kind: int, mode: Mode | None = None,
                scale: int = 0) -> tuple[bytes, bytes]:
    u = values.view(_U64)
    delta = np.empty_like(u)
    delta[:1] = u[:1]
    np.subtract(u[1:], u[:-1], out=delta[1:])
    if mode is None:
        mode = _cheaper_int_mode(delta)
    float_mode = {Mode.INT_DOD: Mode.FLOAT_DECIMAL_DOD, Mode.INT_DELTA: Mode.FLOAT_DECIMAL_DELTA}
    if mode is Mode.INT_DOD:
        base0 = int(u[0].view(np.int64)) if u.size else 0
        base1 = int(delta[1:2].view(np.int64)[0]) if u.size > 1 else 0
        rest = delta[2:] - delta[1:-1] if u.size > 2 else delta[:0]
    else:
        base0, base1 = (int(u[0].view(np.int64)) if u.size else 0), 0
        rest = delta[1:]
    width, planes = _planes(_zigzag(rest))
    stored = float_mode[mode] if kind == FLOAT else mode
    return _COLUMN.pack(kind, stored, width, scale, base0, base1), planes


def _cheaper_int_mode(delta: np.ndarray) -> Mode:
    """Delta-of-delta for regular steps (timestamps, steady counters), delta for walks."""
    if delta.size <= 2:
        return Mode.INT_DELTA
    dod = delta[2:] - delta[1:-1]
    return Mode.INT_DOD if _cost(_zigzag(dod)) <= _cost(_zigzag(delta[2:])) else Mode.INT_DELTA


def _cost(zigzagged: np.ndarray) -> int:
    """Bytes a value needs (a rough size after compression: zero bytes are nearly free)."""
    return int(np.count_nonzero(zigzagged)) + int(np.count_nonzero(zigzagged >> _U64(8)))


def _encode_float(values: np.ndarray) -> tuple[bytes, bytes]:
    scale = decimal_scale(values)
    if scale is not None:
        ints = np.rint(values * _POW10[scale]).astype(np.int64)
        return _encode_int(ints, FLOAT, scale=scale)
    bits = values.view(_U64)
    xor = bits[1:] ^ bits[:-1]
    width, planes = _planes(xor)
    base = int(bits[:1].view(np.int64)[0]) if bits.size else 0
    return _COLUMN.pack(FLOAT, Mode.FLOAT_XOR, width, 0, base, 0), planes


def decimal_scale(values: np.ndarray) -> int | None:
    """The fewest decimals k with every value exactly int/10**k (bits compared), else None."""
    if values.size == 0:
        return None
    bits = values.view(_U64)
    with np.errstate(invalid="ignore", over="ignore"):
        for k in range(MAX_DECIMALS + 1):
            scaled = np.rint(values * _POW10[k])
            if not np.all(np.abs(scaled) < 2.0 ** 53):
                return None
            back = scaled.astype(np.int64).astype(np.float64) / _POW10[k]
            if np.array_equal(back.view(_U64), bits):
                return k
    return None


def _decode_column(kind: int, mode: Mode, width: int, scale: int, base0: int, base1: int,
                   n: int, planes: np.ndarray) -> np.ndarray:
    rest = _unplanes(planes, width, max(n - _bases(mode), 0))
    if mode is Mode.FLOAT_XOR:
        u = np.empty(n, dtype=_U64)
        if n:
            u[0] = np.int64(base0).view(_U64)
            u[1:] = rest
            np.bitwise_xor.accumulate(u, out=u)
        return u.view(np.float64)
    deltas = _unzigzag(rest)
    u = np.empty(n, dtype=_U64)
    if mode in (Mode.INT_DOD, Mode.FLOAT_DECIMAL_DOD):
        if n:
            u[0] = np.int64(base0).view(_U64)
        if n > 1:
            u[1] = np.int64(base1).view(_U64)
            u[2:] = deltas
            np.cumsum(u[1:], out=u[1:])
    else:
        if n:
            u[0] = np.int64(base0).view(_U64)
            u[1:] = deltas
    np.cumsum(u, out=u)
    ints = u.view(np.int64)
    if kind == FLOAT:
        return ints.astype(np.float64) / _POW10[scale]
    return ints


def _zigzag(u: np.ndarray) -> np.ndarray:
    signed = u.view(np.int64)
    return ((signed << 1) ^ (signed >> 63)).view(_U64)


def _unzigzag(u: np.ndarray) -> np.ndarray:
    return (u >> _U64(1)) ^ (_U64(0) - (u & _U64(1)))


def _planes(u: np.ndarray) -> tuple[int, bytes]:
    """The fewest low bytes holding every value, one plane per byte (similar bytes side by
    side compress far better than interleaved ones)."""
    if u.size == 0:
        return 0, b""
    width = (int(u.max()).bit_length() + 7) // 8
    as_bytes = u.astype("<u8", copy=False).view(np.uint8).reshape(u.size, 8)
    return width, np.ascontiguousarray(as_bytes[:, :width].T).tobytes()


def _unplanes(planes: np.ndarray, width: int, n: int) -> np.ndarray:
    out = np.zeros((n, 8), dtype=np.uint8)
    if width and n:
        out[:, :width] = planes.reshape(width, n).T
    return out.view("<u8").reshape(n).astype(_U64, copy=False)


def _compress(raw: bytes) -> tuple[Compressor, bytes]:
    if len(raw) < _MIN_COMPRESS:
        return Compressor.NONE, raw
    if zstandard is not None:
        return Compressor.ZSTD, zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(raw)
    return Compressor.ZLIB, zlib.compress(raw, 6)


def _decompress(compressor: Compressor, body: memoryview) -> bytes:
    if compressor is Compressor.NONE:
        return bytes(body)
    if compressor is Compressor.ZLIB:
        return zlib.decompress(body)
    if zstandard is None:
        raise RuntimeError("chunk compressed with zstd but the zstandard package is missing")
    return zstandard.ZstdDecompressor().decompress(bytes(body))
