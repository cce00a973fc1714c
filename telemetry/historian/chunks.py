"""Lossless columnar chunks: one series' points over a time window packed into one blob (pure).

The embedded store keeps recent points as rows and packs each complete window of a series
(an hour of raw readings, a few hours of roll-ups) into one chunk (docs/architecture.md §5).
A chunk is a sorted time column and one value column per field, compressed together:

- times [ns]: the first time, then second differences (a steady poll interval gives zeros);
- a field: a presence bitmap when some points lack it (missing stays missing), then its
  present values, either as integers at a decimal scale (a register value ``1234 × 0.1`` is
  stored as ``1234`` with scale 1, first differences) when that reproduces every value to the
  bit, or else as float64 bit patterns XOR-ed with their predecessor and byte-shuffled;
- every section at the narrowest integer width that holds it, the whole body compressed with
  zlib.

Decoding gives back exactly the values encoded (bit for bit, ``-0.0`` included): the contract
tests compare query results exactly.
"""

from __future__ import annotations

import json
import zlib
from typing import Collection, Mapping

import numpy as np

_MAGIC = b"MGC1"
_MAX_SCALE = 6  #: decimal places tried for the integer encoding of a field
_EXACT_INT = float(2**53)
_WIDTHS = (np.int8, np.int16, np.int32, np.int64)


class ChunkError(ValueError):
    """A blob is not a chunk this code wrote (wrong magic, truncated, unknown encoding)."""


def _narrow(values: np.ndarray) -> tuple[str, bytes]:
    """Signed integers at the narrowest width that holds them: (dtype name, bytes)."""
    if values.size == 0:
        return "int8", b""
    lo, hi = int(values.min()), int(values.max())
    for dt in _WIDTHS:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt).name, values.astype(dt).tobytes()
    raise ChunkError("integer out of int64 range")  # unreachable for int64 input


def _widen(name: str, raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.dtype(name)).astype(np.int64)


def _encode_times(times_ns: np.ndarray) -> tuple[dict, bytes]:
    t = np.asarray(times_ns, dtype=np.int64)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise ChunkError("chunk times must be strictly increasing")
    d = np.diff(t)
    dd = np.diff(d) if d.size else d
    first_d = int(d[0]) if d.size else 0
    width, raw = _narrow(dd)
    return {"t0": int(t[0]) if t.size else 0, "d0": first_d, "w": width, "nb": len(raw)}, raw


def _decode_times(meta: dict, raw: bytes, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=np.int64)
    dd = _widen(meta["w"], raw)
    d = np.concatenate([[meta["d0"]], meta["d0"] + np.cumsum(dd)]) if n > 1 else np.empty(0, np.int64)
    return np.concatenate([[meta["t0"]], meta["t0"] + np.cumsum(d[: n - 1])]).astype(np.int64)


def _decimal(values: np.ndarray) -> tuple[int, str, np.ndarray] | None:
    """(scale k, how, integers) such that the integers / 10**k (or × 10**-k) give back every
    value to the bit; None when no k <= _MAX_SCALE does."""
    bits = values.view(np.uint64)
    for k in range(_MAX_SCALE + 1):
        scaled = values * (10.0 ** k)
        if not np.all(np.abs(scaled) < _EXACT_INT):
            return None
        qi = np.rint(scaled).astype(np.int64)
        q = qi.astype(np.float64)  # what the decoder starts from (no -0.0 in an integer)
        if np.array_equal((q / 10.0 ** k).view(np.uint64), bits):
            return k, "div", qi
        if np.array_equal((q * 10.0 ** -k).view(np.uint64), bits):
            return k, "mul", qi
    return None


def _encode_column(values: np.ndarray) -> tuple[dict, bytes] | None:
    v = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(v)
    if not present.any():
        return None
    meta: dict = {}
    out = b""
    if not present.all():
        mask = np.packbits(present).tobytes()
        meta["mask"] = len(mask)
        out += mask
    p = np.ascontiguousarray(v[present])
    dec = _decimal(p)
    if dec is not None:
        k, how, q = dec
        width, raw = _narrow(np.diff(q))
        meta.update(enc="int", k=k, how=how, q0=int(q[0]), w=width, nb=len(raw))
        return meta, out + raw
    bits = p.view(np.uint64)
    xored = np.concatenate([bits[:1], bits[1:] ^ bits[:-1]])
    shuffled = xored.view(np.uint8).reshape(-1, 8).T.tobytes()
    meta.update(enc="xor", nb=len(shuffled))
    return meta, out + shuffled


def _decode_column(meta: dict, raw: bytes, n: int) -> np.ndarray:
    pos = 0
    present = None
    if "mask" in meta:
        present = np.unpackbits(np.frombuffer(raw[: meta["mask"]], dtype=np.uint8), count=n).astype(bool)
        pos = meta["mask"]
    m = n if present is None else int(present.sum())
    body = raw[pos: pos + meta["nb"]]
    if meta["enc"] == "int":
        q = np.concatenate([[meta["q0"]], meta["q0"] + np.cumsum(_widen(meta["w"], body))]) if m else \
            np.empty(0, np.int64)
        q = q.astype(np.float64)
        vals = q / 10.0 ** meta["k"] if meta["how"] == "div" else q * 10.0 ** -meta["k"]
    elif meta["enc"] == "xor":
        xored = np.frombuffer(body, dtype=np.uint8).reshape(8, m).T.copy().view(np.uint64).ravel()
        vals = np.bitwise_xor.accumulate(xored).view(np.float64)
    else:
        raise ChunkError(f"unknown column encoding {meta['enc']!r}")
    if present is None:
        return np.asarray(vals, dtype=np.float64)
    out = np.full(n, np.nan)
    out[present] = vals
    return out


def encode_chunk(times_ns: np.ndarray, columns: Mapping[str, np.ndarray], level: int = 6) -> bytes:
    """Pack one series' points into a chunk.

    Parameters
    ----------
    times_ns : array of int64
        Strictly increasing times. [ns]
    columns : mapping of str to array of float64
        One array per field, aligned with ``times_ns``; NaN = the point has no such field.
        A column with no value at all is left out.
    level : int
        zlib level (1 fast .. 9 small).
    """
    n = len(times_ns)
    tmeta, traw = _encode_times(np.asarray(times_ns))
    cols, parts = [], [traw]
    for name, values in columns.items():
        if len(values) != n:
            raise ChunkError(f"column {name!r} has {len(values)} values for {n} times")
        enc = _encode_column(np.asarray(values, dtype=np.float64))
        if enc is not None:
            meta, raw = enc
            meta["f"] = name
            meta["len"] = len(raw)
            cols.append(meta)
            parts.append(raw)
    header = json.dumps({"n": n, "t": tmeta, "c": cols}, separators=(",", ":")).encode()
    body = len(header).to_bytes(4, "little") + header + b"".join(parts)
    return _MAGIC + zlib.compress(body, level)


def decode_chunk(blob: bytes, fields: Collection[str] | None = None
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Unpack a chunk: ``(times_ns, {field: values})``; only ``fields`` when given (fields the
    chunk lacks are absent from the dict).

    Raises
    ------
    ChunkError
        Not a chunk, or a damaged one.
    """
    if not blob.startswith(_MAGIC):
        raise ChunkError("not a chunk (bad magic)")
    try:
        body = zlib.decompress(blob[len(_MAGIC):])
        hlen = int.from_bytes(body[:4], "little")
        header = json.loads(body[4: 4 + hlen])
    except (zlib.error, ValueError) as exc:
        raise ChunkError(f"damaged chunk: {exc}") from exc
    n = header["n"]
    pos = 4 + hlen
    tmeta = header["t"]
    times = _decode_times(tmeta, body[pos: pos + tmeta["nb"]], n)
    pos += tmeta["nb"]
    want = None if fields is None else set(fields)
    out: dict[str, np.ndarray] = {}
    for meta in header["c"]:
        if want is None or meta["f"] in want:
            out[meta["f"]] = _decode_column(meta, body[pos: pos + meta["len"]], n)
        pos += meta["len"]
    return times, out
