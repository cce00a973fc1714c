"""InfluxDB line protocol: readings -> bytes (fast) and bytes -> points (for the SQLite store).

Pure: no I/O. The encoder is the hot path of ingest (the spool stores its output as each
batch's payload), so it avoids per-point overhead: series keys (measurement + escaped, sorted
tags) and escaped field keys are cached, the timestamp of consecutive readings that share a
time is computed once, and every field is written as a float (``1.0``, never the integer
``1i``) so a field's type never conflicts between writes.

Escaping (InfluxDB 1.x and 2.x rules): measurement ``,`` and space; tag keys, tag values and
field keys ``,``, ``=`` and space. Newlines and backslashes in names are rejected (InfluxDB
versions unescape backslashes differently; a device name never needs one); empty tag
values are dropped (line protocol has no empty tag value); NaN, None and infinite field values
are dropped (missing stays missing); a reading left with no field is skipped.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Iterable, Iterator, Mapping

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MEAS = str.maketrans({",": r"\,", " ": r"\ "})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_SPLIT_SPACE = re.compile(r"(?<!\\) ")
_SPLIT_COMMA = re.compile(r"(?<!\\),")
_SPLIT_EQ = re.compile(r"(?<!\\)=")
_UNESCAPE = re.compile(r"\\([,= ])")


class LineProtocolError(ValueError):
    """A name or line cannot be expressed in / parsed from line protocol."""


def _check(kind: str, s: str) -> str:
    if "\n" in s or "\r" in s:
        raise LineProtocolError(f"{kind} {s!r} contains a newline; line protocol cannot carry it")
    if "\\" in s:
        raise LineProtocolError(f"{kind} {s!r} contains a backslash; InfluxDB 1.x and 2.x read "
                                f"it differently, so it is refused")
    if not s:
        raise LineProtocolError(f"{kind} is empty")
    return s


def escape_measurement(name: str) -> str:
    """``name`` escaped for the measurement position (a leading ``#`` would make a comment)."""
    if name.startswith("#"):
        raise LineProtocolError(f"measurement {name!r} starts with '#' (a line-protocol comment)")
    return _check("measurement", name).translate(_MEAS)


def escape_key(s: str, kind: str = "key") -> str:
    """A tag key, tag value or field key escaped for line protocol."""
    return _check(kind, s).translate(_KEY)


def time_to_ns(t: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (a pandas Timestamp keeps its ns). [ns]"""
    value = getattr(t, "value", None)  # pandas.Timestamp: exact ns
    if isinstance(value, int) and t.tzinfo is not None:
        return value
    d = t - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000


class LineEncoder:
    """Encodes readings to line protocol, caching series keys and field keys.

    One encoder per writer (not thread-safe: the caches are plain dicts). The caches are
    bounded by the number of distinct series / field names of a site, i.e. small.
    """

    def __init__(self) -> None:
        self._series: dict[tuple, str] = {}
        self._fkeys: dict[str, str] = {}
        self._prefixes: dict[tuple[str, ...], list[str]] = {}

    def series_key(self, measurement: str, tags: Mapping[str, str]) -> str:
        """``measurement,tag=value,...`` with tags sorted by key and empty values dropped."""
        key = (measurement, tuple(tags.items()))
        s = self._series.get(key)
        if s is None:
            parts = [escape_measurement(measurement)]
            for k, v in sorted(tags.items()):
                if v is None or v == "":
                    continue
                parts.append(f"{escape_key(k, 'tag key')}={escape_key(str(v), 'tag value')}")
            s = self._series[key] = ",".join(parts)
        return s

    def _fields(self, fields: Mapping[str, float]) -> str:
        # Fast path: all values finite floats (the common case). One cached list of escaped
        # "key=" prefixes per field-name tuple, float.__repr__ mapped over the values; sum()
        # is NaN/inf when any value is, and None/int/bool values raise TypeError.
        names = tuple(fields)
        prefixes = self._prefixes.get(names)
        if prefixes is not None:
            values = fields.values()
            try:
                total = sum(values)
                if total - total == 0.0:
                    return ",".join(map(str.__add__, prefixes, map(float.__repr__, values)))
            except TypeError:
                pass
        elif names:
            try:
                self._prefixes[names] = [escape_key(k, "field key") + "=" for k in names]
            except LineProtocolError:
                pass  # the slow path raises with the field's name
        fk = self._fkeys
        out = []
        for k, v in fields.items():
            if v is None:
                continue
            if type(v) is not float:
                v = float(v)
            if v - v != 0.0:  # NaN or +-inf: missing
                continue
            e = fk.get(k)
            if e is None:
                e = fk[k] = escape_key(k, "field key")
            out.append(f"{e}={v!r}")
        return ",".join(out)

    def lines(self, readings: Iterable) -> Iterator[str]:
        """One line (without newline) per reading that has at least one present field."""
        last_t, last_ns = None, ""
        for r in readings:
            f = self._fields(r.fields)
            if not f:
                continue
            t = r.time
            if t is not last_t:
                last_t, last_ns = t, str(time_to_ns(t))
            yield f"{self.series_key(r.measurement, r.tags)} {f} {last_ns}"

    def encode(self, readings: Iterable) -> tuple[bytes, int]:
        """All readings as one payload. Returns (payload, number of points)."""
        lines = list(self.lines(readings))
        return ("\n".join(lines) + "\n").encode() if lines else b"", len(lines)

    def batches(self, readings: Iterable, batch_points: int = 5000) -> Iterator[tuple[bytes, int]]:
        """Payloads of at most ``batch_points`` points each (the last one may be smaller)."""
        buf: list[str] = []
        for line in self.lines(readings):
            buf.append(line)
            if len(buf) >= batch_points:
                yield ("\n".join(buf) + "\n").encode(), len(buf)
                buf = []
        if buf:
            yield ("\n".join(buf) + "\n").encode(), len(buf)


def encode_readings(readings: Iterable) -> bytes:
    """Readings as one line-protocol payload (convenience around :class:`LineEncoder`)."""
    return LineEncoder().encode(readings)[0]


def _unescape(s: str) -> str:
    return _UNESCAPE.sub(r"\1", s) if "\\" in s else s


def _field_value(raw: str, line: str) -> float:
    if raw.startswith('"'):
        raise LineProtocolError(f"string fields are not supported: {line[:200]!r}")
    if raw.endswith(("i", "u")) and raw[:-1].lstrip("-").isdigit():
        return float(int(raw[:-1]))
    if raw in ("t", "T", "true", "True", "TRUE"):
        return 1.0
    if raw in ("f", "F", "false", "False", "FALSE"):
        return 0.0
    try:
        return float(raw)
    except ValueError:
        raise LineProtocolError(f"field value {raw!r} is not numeric in line {line[:200]!r}") \
            from None


def parse_line(line: str) -> tuple[str, tuple[tuple[str, str], ...], dict[str, float], int]:
    """One line -> (measurement, sorted tag items, fields, time [ns]).

    Only numeric fields (floats, ``i``/``u`` integers, booleans as 1.0/0.0) are accepted and a
    timestamp is required: the historian's own lines always carry both.
    """
    parts = _SPLIT_SPACE.split(line)
    if len(parts) != 3:
        raise LineProtocolError(f"expected 'series fields timestamp', got {line[:200]!r}")
    head, fields_s, ts = parts
    series = _SPLIT_COMMA.split(head)
    measurement = _unescape(series[0])
    tags = []
    for item in series[1:]:
        kv = _SPLIT_EQ.split(item)
        if len(kv) != 2:
            raise LineProtocolError(f"bad tag {item!r} in line {line[:200]!r}")
        tags.append((_unescape(kv[0]), _unescape(kv[1])))
    fields = {}
    for item in _SPLIT_COMMA.split(fields_s):
        kv = _SPLIT_EQ.split(item)
        if len(kv) != 2:
            raise LineProtocolError(f"bad field {item!r} in line {line[:200]!r}")
        fields[_unescape(kv[0])] = _field_value(kv[1], line)
    try:
        t = int(ts)
    except ValueError:
        raise LineProtocolError(f"bad timestamp {ts!r} in line {line[:200]!r}") from None
    return measurement, tuple(sorted(tags)), fields, t


def parse_lines(payload: bytes | str) -> Iterator[tuple[str, tuple, dict[str, float], int]]:
    """Every non-empty, non-comment line of a payload through :func:`parse_line`."""
    text = payload.decode() if isinstance(payload, (bytes, bytearray, memoryview)) else payload
    for line in text.split("\n"):
        line = line.strip("\r")
        if line and not line.startswith("#"):
            yield parse_line(line)
