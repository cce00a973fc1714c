"""`microgrid alarms --site SITE [--store SPEC] [--since 24h] [--until T] [--json]`: the alarms
raised and cleared at a camp, read from its store (docs/architecture.md §12)."""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime, timedelta, timezone

from microgrid.cli.stores import open_reader
from microgrid.config import load_site
from microgrid.errors import InputError
from telemetry.alarms.engine import SEVERITY_NAMES
from telemetry.alarms.history import AlarmHistory, alarm_history

#: Where `microgrid alarms` reads by default: the embedded store, relative to the cwd.
DEFAULT_STORE = "sqlite:///microgrid.sqlite"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")

EPILOG = """\
--since and --until take a duration back from now (30m, 24h, 7d) or a UTC time
(2026-11-01T06:00Z). Each line is one event: an alarm raised or cleared; the last line says which
alarms are still active at the end of the range.
exit status: 0 listed (also when nothing happened); 2 bad input (site file, store, time)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alarms", help="alarms raised and cleared at a camp, from its store",
                       description="List the alarms raised and cleared at a camp over a range, from\n"
                       "the embedded store or InfluxDB: device-reported alarms, the derived rules\n"
                       "(offline, wet stacking, SOC floor, fuel autonomy, unexplained fuel loss,\n"
                       "optimizer fallback, plan expired, spool backlog, frequency/voltage band).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="SPEC",
                   help=f"store to read: sqlite:///PATH, influx1://HOST:PORT/DB or influx2://... "
                        f"(default {DEFAULT_STORE})")
    p.add_argument("--since", default="24h", metavar="T", help="start: a duration back or a UTC time (default 24h)")
    p.add_argument("--until", default=None, metavar="T", help="end: a duration back or a UTC time (default now)")
    p.add_argument("--json", action="store_true", help="the events as JSON")
    p.set_defaults(func=run)


def parse_when(text: str, now: datetime, option: str) -> datetime:
    """A duration back from ``now`` (``24h``) or an ISO 8601 time (UTC when no offset is given)."""
    m = _DURATION.match(text.strip())
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return now - timedelta(**{unit: float(m.group(1))})
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is neither a duration (30m, 24h, 7d) nor a time (2026-11-01T06:00Z)",
                         path=option) from None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    now = datetime.now(timezone.utc)
    start = parse_when(args.since, now, "--since")
    end = parse_when(args.until, now, "--until") if args.until else now
    if not start < end:
        raise InputError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})",
                         path="--since")
    store = open_reader(args.store)
    try:
        history = alarm_history(store, site.name, start, end)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"site": site.name, "from": _iso(start), "to": _iso(end),
                          "events": [t.to_json() for t in history.transitions],
                          "active_at_end": [{"device": d, "code": c} for d, c in history.active_at_end]},
                         indent=1))
    else:
        print(table(site.name, start, end, history))
    return 0


def table(site: str, start: datetime, end: datetime, history: AlarmHistory) -> str:
    """The events as aligned text, one per line, and a closing count."""
    lines = [f"alarms at {site} from {_iso(start)} to {_iso(end)}",
             f"{'time (UTC)':20s} {'event':8s} {'severity':9s} {'device':12s} {'code':32s} value"]
    for t in history.transitions:
        severity = "" if t.severity is None else SEVERITY_NAMES.get(t.severity, str(t.severity))
        value = "" if t.value is None else f"{t.value:.6g}"
        lines.append(f"{t.time.strftime('%Y-%m-%d %H:%M:%S'):20s} {'raised' if t.raised else 'cleared':8s} "
                     f"{severity:9s} {t.device:12s} {t.code:32s} {value}")
    raised = sum(t.raised for t in history.transitions)
    still = ", ".join(f"{d} {c}" for d, c in history.active_at_end) or "none"
    lines.append(f"{raised} raised, {len(history.transitions) - raised} cleared; active at the end: {still}")
    return "\n".join(lines)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
