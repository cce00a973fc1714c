"""Open a historian from a URL-like spec (the ``--store`` option, the site's historian setting).

=========================================================  ========================================
spec                                                       opens
=========================================================  ========================================
``sqlite:///data/historian.db``                            SQLite, path relative to the cwd
``sqlite:////var/lib/microgrid/historian.db``              SQLite, absolute path
``sqlite:///h.db?retention_days=400``                      ... with retention
``influx1://127.0.0.1:8086/microgrid?rp=autogen``          InfluxDB 1.x (``/write``, ``/query``)
``influx2://influxdb:8086?org=un&bucket=microgrid``        InfluxDB 2.x/3.x (influxdb-client)
=========================================================  ========================================

Roll-ups and raw retention (docs/architecture.md §5): ``raw_days=30`` keeps the measured
readings 30 days and their 1-min and 15-min roll-ups for good (``raw_days=none``: raw readings
too), ``tiers=1m,15m`` names the roll-ups. Either option (or ``tiered=True``) opens a
:class:`~telemetry.historian.tiered.TieredHistorian`: on SQLite in the same file, on InfluxDB 1.x
in the retention policies ``raw`` (``raw_days``) and ``rollup_1m``/``rollup_15m`` (INF), created
when missing; the records (energy, plan, setpoints...) stay in the database's default policy,
where the dashboards read them.

Common options (query string): ``tls=1`` (https, Influx only), ``timeout_s=10``,
``spool=/var/lib/microgrid/spool.db`` (put a durable spool in front; also ``spool_max_mb``
(default 1024), ``spool_max_points``, ``batch_points`` (default 5000)), ``influx1`` also ``gzip=1``;
``influx2`` also ``db=`` (DBRP database for InfluxQL, default the bucket).

Secrets never go in the spec: InfluxDB 1.x user/password come from ``MICROGRID_INFLUX_USER`` and
``MICROGRID_INFLUX_PASSWORD`` (or ``MICROGRID_INFLUX_PASSWORD_FILE``); the 2.x token from
``MICROGRID_INFLUX_TOKEN`` or the file named by ``MICROGRID_INFLUX_TOKEN_FILE`` (or the
``token_file=`` option). A spec that carries ``user:password@`` is refused.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Mapping
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from microgrid.errors import HistorianError
from telemetry.historian.base import Historian
from telemetry.historian.rollup import RetentionPolicy

if TYPE_CHECKING:
    from telemetry.historian.influx import InfluxV1Historian

_SPOOL = {"spool", "spool_max_mb", "spool_max_points", "batch_points"}
_COMMON = _SPOOL | {"timeout_s", "tls"}
_TIERED = {"raw_days", "tiers"}
_ALLOWED = {"sqlite": _SPOOL | _TIERED | {"retention_days"},
            "influx1": _COMMON | _TIERED | {"rp", "gzip"},
            "influx2": _COMMON | {"org", "bucket", "db", "rp", "token_file"}}


def _secret(env: Mapping[str, str], name: str, file_path: str | None = None) -> str | None:
    """``env[name]``, else the stripped content of ``file_path`` or of ``env[name + '_FILE']``."""
    if env.get(name):
        return env[name]
    path = file_path or env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise HistorianError(f"cannot read the secret file {path} ({name}): "
                                 f"{exc.strerror}") from None
    return None


def _options(spec: str, scheme: str, query: str) -> dict[str, str]:
    opts = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(opts) - _ALLOWED[scheme]
    if unknown:
        raise HistorianError(f"historian spec {_redact(spec)!r}: unknown option(s) "
                             f"{', '.join(sorted(unknown))}; known: "
                             f"{', '.join(sorted(_ALLOWED[scheme]))}")
    return opts


def _redact(spec: str) -> str:
    parts = urlsplit(spec)
    if parts.password or parts.username:
        return spec.replace(parts.netloc, parts.netloc.rsplit("@", 1)[-1])
    return spec


def _number(spec: str, opts: dict[str, str], key: str, default: float) -> float:
    value = _optional_number(spec, opts, key)
    return default if value is None else value


def _optional_number(spec: str, opts: dict[str, str], key: str) -> float | None:
    """The option as a number > 0 (every numeric option is a size, a time or a count)."""
    if key not in opts:
        return None
    try:
        value = float(opts[key])
    except ValueError:
        raise HistorianError(f"historian spec {_redact(spec)!r}: {key}={opts[key]!r} is not a "
                             f"number") from None
    if not value > 0 or value == float("inf"):
        raise HistorianError(f"historian spec {_redact(spec)!r}: {key}={opts[key]!r} must be a number > 0")
    return value


def _host_port(spec: str, parts: SplitResult) -> tuple[str, int]:
    """Host and port of an InfluxDB spec (port 8086 by default)."""
    if not parts.hostname:
        raise HistorianError(f"historian spec {_redact(spec)!r}: no host (influx1://HOST:PORT/DB)")
    try:
        port = parts.port
    except ValueError:
        raise HistorianError(f"historian spec {_redact(spec)!r}: the port must be a number in "
                             f"1..65535") from None
    if port == 0:
        raise HistorianError(f"historian spec {_redact(spec)!r}: the port must be a number in 1..65535")
    return parts.hostname, port or 8086


def check_resolvable(spec: str) -> None:
    """Fail now when an InfluxDB spec's host name does not resolve (a typo, or no DNS on the camp
    LAN); SQLite specs pass.

    Raises
    ------
    HistorianError
        Naming the host; the spool would otherwise wait for a server that can never answer.
    """
    parts = urlsplit(spec)
    if parts.scheme not in ("influx1", "influx2"):
        return
    host, port = _host_port(spec, parts)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise HistorianError(f"historian spec {_redact(spec)!r}: host {host!r} cannot be resolved "
                             f"({why})") from None


def open_historian(spec: str, *, env: Mapping[str, str] | None = None,
                   spool: str | Path | None = None, tiered: bool = False,
                   readonly: bool = False) -> Historian:
    """Open the historian a spec names (module docstring for the forms).

    Parameters
    ----------
    spec : str
        ``sqlite:///...``, ``influx1://...`` or ``influx2://...``.
    env : mapping, optional
        Where secrets are looked up (default ``os.environ``).
    spool : path, optional
        Put a :class:`~telemetry.historian.spool.SpooledHistorian` with this spool file in
        front (same as ``?spool=``).
    tiered : bool
        Raw retention and roll-ups even without ``raw_days``/``tiers`` in the spec (default
        30 days, ``1m,15m``).
    readonly : bool
        Only read (the camp page over a store): a SQLite file must exist and is never changed
        (not even migrated); no retention policy is created; writes raise. No spool.

    Raises
    ------
    HistorianError
        Unknown scheme or option, an option that is not a number > 0, a port outside 1..65535,
        missing host/database/org/bucket/token, credentials in the spec.
    """
    env = os.environ if env is None else env
    parts = urlsplit(spec)
    scheme = parts.scheme
    if scheme not in _ALLOWED:
        raise HistorianError(f"historian spec {_redact(spec)!r}: scheme must be one of "
                             f"sqlite://, influx1://, influx2://")
    if parts.username or parts.password:
        raise HistorianError(f"historian spec {_redact(spec)!r}: credentials do not go in the "
                             f"spec; use MICROGRID_INFLUX_USER/PASSWORD or MICROGRID_INFLUX_TOKEN")
    opts = _options(spec, scheme, parts.query)
    if tiered or _TIERED & set(opts):
        inner = _open_tiered(spec, scheme, parts, opts, env, readonly)
    elif scheme == "sqlite":
        inner = _open_sqlite(spec, parts, opts, readonly)
    else:
        inner = _open_influx(spec, scheme, parts, opts, env)
    spool_path = spool or opts.get("spool")
    if not spool_path or readonly:
        return inner
    from telemetry.historian.spool import Spool, SpooledHistorian
    max_mb = _number(spec, opts, "spool_max_mb", 1024.0)
    max_points = _optional_number(spec, opts, "spool_max_points")
    return SpooledHistorian(inner, Spool(spool_path, max_bytes=int(max_mb * 2**20),
                                         max_points=None if max_points is None else int(max_points)),
                            batch_points=int(_number(spec, opts, "batch_points", 5000)))


def _open_tiered(spec: str, scheme: str, parts: SplitResult, opts: dict[str, str],
                 env: Mapping[str, str], readonly: bool) -> Historian:
    from telemetry.historian.tiered_open import influx_tiered, sqlite_tiered
    if scheme == "influx2":
        raise HistorianError(f"historian spec {_redact(spec)!r}: roll-ups on InfluxDB 2.x are "
                             f"not built yet; give the bucket a retention period instead")
    if "retention_days" in opts:
        raise HistorianError(f"historian spec {_redact(spec)!r}: retention_days deletes every "
                             f"reading; with roll-ups use raw_days")
    policy = _policy(spec, opts)
    if scheme == "sqlite":
        return sqlite_tiered(_sqlite_path(spec, parts), policy, readonly=readonly)
    keep_rp = opts.get("rp") or None
    return influx_tiered(lambda rp: _influx1(spec, parts, {**opts, "rp": rp or ""}, env),
                         policy, keep_rp, readonly=readonly)


def _policy(spec: str, opts: dict[str, str]) -> RetentionPolicy:
    text = opts.get("raw_days", "30")
    raw_days = None if text.lower() in ("none", "inf", "") else _number(spec, {"raw_days": text}, "raw_days", 30.0)
    tiers = tuple(t.strip() for t in opts.get("tiers", "1m,15m").split(",") if t.strip())
    try:
        return RetentionPolicy(raw_days=raw_days, tiers=tiers)
    except (ValueError, HistorianError) as exc:
        raise HistorianError(f"historian spec {_redact(spec)!r}: {exc}") from None


def _sqlite_path(spec: str, parts: SplitResult) -> str:
    if parts.netloc:
        raise HistorianError(f"historian spec {spec!r}: write sqlite:///relative/path.db or "
                             f"sqlite:////absolute/path.db (three or four slashes)")
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path:
        raise HistorianError(f"historian spec {spec!r}: no database file")
    return path


def _open_sqlite(spec: str, parts: SplitResult, opts: dict[str, str], readonly: bool = False) -> Historian:
    from telemetry.historian.sqlite import SQLiteHistorian
    return SQLiteHistorian(_sqlite_path(spec, parts), readonly=readonly,
                           retention_days=_optional_number(spec, opts, "retention_days"))


def _influx_url(spec: str, parts: SplitResult, opts: dict[str, str]) -> tuple[str, float]:
    host, port = _host_port(spec, parts)
    proto = "https" if opts.get("tls") in ("1", "true", "yes") else "http"
    return f"{proto}://{host}:{port}", _number(spec, opts, "timeout_s", 10.0)


def _influx1(spec: str, parts: SplitResult, opts: dict[str, str], env: Mapping[str, str]) -> InfluxV1Historian:
    from telemetry.historian.influx import InfluxV1Historian
    url, timeout = _influx_url(spec, parts, opts)
    db = unquote(parts.path.strip("/"))
    if not db:
        raise HistorianError(f"historian spec {_redact(spec)!r}: no database "
                             f"(influx1://HOST:PORT/DATABASE)")
    return InfluxV1Historian(url, db, retention_policy=opts.get("rp") or None,
                             username=env.get("MICROGRID_INFLUX_USER") or None,
                             password=_secret(env, "MICROGRID_INFLUX_PASSWORD"),
                             timeout_s=timeout, gzip=opts.get("gzip") in ("1", "true"))


def _open_influx(spec: str, scheme: str, parts: SplitResult, opts: dict[str, str],
                 env: Mapping[str, str]) -> Historian:
    from telemetry.historian.influx import InfluxV2Historian
    if scheme == "influx1":
        return _influx1(spec, parts, opts, env)
    url, timeout = _influx_url(spec, parts, opts)
    missing = [k for k in ("org", "bucket") if not opts.get(k)]
    if missing:
        raise HistorianError(f"historian spec {_redact(spec)!r}: missing {' and '.join(missing)} "
                             f"(influx2://HOST:PORT?org=ORG&bucket=BUCKET)")
    token = _secret(env, "MICROGRID_INFLUX_TOKEN", opts.get("token_file"))
    if not token:
        raise HistorianError(f"historian spec {_redact(spec)!r}: no token; set "
                             f"MICROGRID_INFLUX_TOKEN or MICROGRID_INFLUX_TOKEN_FILE")
    return InfluxV2Historian(url, opts["org"], opts["bucket"], token, query_db=opts.get("db"),
                             query_rp=opts.get("rp") or None, timeout_s=timeout)
