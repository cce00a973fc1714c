"""`microgrid report`: an environmental report (CSV, XLSX, PDF, HTML) for a month, quarter or
UN budget year, read from the historian."""

from __future__ import annotations

import argparse
from pathlib import Path

from microgrid.cli.outputs import out_file, writing
from microgrid.config import load_site
from microgrid.errors import MicrogridError, ReportError
from microgrid.reports.export import FORMATS, format_from_path, write_report
from microgrid.reports.fuel_logistics import with_fuel_logistics
from microgrid.reports.period import PERIOD_HELP, parse_period
from microgrid.reports.source import read_report_frames
from microgrid.reports.summary import summarize
from microgrid.reports.tables import display

EPILOG = """\
periods are local to the site (site.location.timezone) and converted to UTC for the queries.
UN budget year: the peacekeeping budget year runs 1 July - 30 June and is named by its two years
("2025/26"); FY2026 is the one that ends in 2026 (1 July 2025 - 30 June 2026).
csv: one tidy table (section, item, metric, label, value, unit) with the summary, the days and
the gaps. xlsx: sheets Summary, Daily, Gensets, Gaps. pdf/html: a one-page summary, charts,
tables. Missing data is never filled: completeness and gaps are stated.
exit status: 0 written; 2 bad input (unknown period or format, no data in the period, missing
store, invalid site file)."""

#: Where `microgrid report` reads by default: the demo's SQLite store, relative to the cwd.
DEFAULT_STORE = "sqlite:///microgrid.sqlite"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="environmental report for a month, quarter or budget year",
                       description="Write an environmental report for a period from the historian:\n"
                       "kWh by source, renewable fraction, diesel litres (metered or estimated),\n"
                       "L/person/day, kWh/L, tCO2, genset hours/starts/low-load hours, fuel and\n"
                       "CO2 avoided vs a diesel-only camp, data completeness and gaps.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--period", required=True, metavar="P", help=PERIOD_HELP)
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (default: from the --out suffix)")
    p.add_argument("--out", required=True, metavar="PATH", help="output file")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="SPEC",
                   help=f"historian to read: sqlite:///PATH or influx1://HOST:PORT/DB "
                   f"(default {DEFAULT_STORE}, relative to the current folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fmt = args.format or format_from_path(args.out)
    if fmt is None:
        raise ReportError(f"cannot tell the format from {args.out!r}; give --format "
                          f"({', '.join(FORMATS)})")
    out = out_file(args.out)
    site = load_site(args.site)
    period = parse_period(args.period, site.location.timezone)
    historian = open_store(args.store)
    try:
        energy, gensets = read_report_frames(historian, site, period)
        s = with_fuel_logistics(historian, site, period, summarize(site, period, energy, gensets))
    finally:
        historian.close()
    with writing(out):
        path = write_report(s, fmt, out)
    print(f"wrote {path} ({fmt}): {s.site} {period.label} ({period.title}); renewable fraction "
          f"{display(s.renewable_fraction_pct, '%')} %, diesel {display(s.fuel_l, 'L')} L "
          f"({s.fuel_basis}), {display(s.co2_t, 't')} tCO2; data completeness "
          f"{display(s.completeness_pct, '%')} %, {len(s.gaps)} gap(s)")
    return 0


def open_store(spec: str):
    """Open the historian named by ``spec``; a SQLite file must already exist (never create an
    empty store for a report)."""
    if spec.startswith("sqlite:"):
        path = Path(spec.split("?")[0].removeprefix("sqlite:").removeprefix("///"))
        if not path.is_file():
            raise ReportError(f"store {spec!r} not found: no file {str(path)!r} (run the demo or "
                              f"the service first, or give --store)")
    from telemetry.historian import open_historian

    try:
        return open_historian(spec)
    except MicrogridError as exc:
        raise ReportError(f"cannot open store {spec!r}: {exc}") from exc
