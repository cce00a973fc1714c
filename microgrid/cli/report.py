"""`microgrid report`: an environmental report (CSV, XLSX, PDF, HTML) for a month, quarter or
UN budget year, read from the historian."""

from __future__ import annotations

import argparse
from pathlib import Path

from microgrid.cli.outputs import out_file, writing
from microgrid.cli.stores import open_reader
from microgrid.config import load_site
from microgrid.errors import ReportError
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
--mission: one row per camp (its own report's figures, in its timezone) and the mission's totals
(sums over the camps with data; a camp without data is flagged, never counted as zero), convoys
avoided (litres avoided / each camp's [logistics] tanker_size_l) and progress against the
mission's renewable target, with a chart.
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
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--site", metavar="SITE", help="site file (TOML): the camp's report")
    who.add_argument("--mission", metavar="MISSION",
                     help="mission file (TOML): one row per camp, the mission's totals and its progress "
                     "against its target (camps are read from one store by their site names)")
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
    if args.mission:
        return run_mission(args, fmt, out)
    site = load_site(args.site)
    period = parse_period(args.period, site.location.timezone)
    historian = open_reader(args.store)
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


def run_mission(args: argparse.Namespace, fmt: str, out: Path) -> int:
    """``--mission``: every camp's report for the period and the mission's totals."""
    from microgrid.mission import load_mission
    from microgrid.reports.mission import summarize_mission
    from microgrid.reports.mission_export import write_mission_report
    from microgrid.reports.mission_tables import progress_sentence
    from microgrid.reports.source import read_mission_frames

    mission = load_mission(args.mission)
    parse_period(args.period, mission.camps[0].location.timezone)  # a bad period before the store
    historian = open_reader(args.store)
    try:
        frames = read_mission_frames(historian, mission, args.period)
    finally:
        historian.close()
    m = summarize_mission(mission, args.period, frames)
    with writing(out):
        path = write_mission_report(m, fmt, out)
    flags = "; ".join(f"{c.site.name}: {c.flag}" for c in m.flagged)
    print(f"wrote {path} ({fmt}): mission {mission.name} {m.label}, {len(m.camps)} camps; {progress_sentence(m)} "
          f"Diesel {display(m.fuel_l, 'L')} L, {display(m.co2_t, 't')} tCO2; data completeness "
          f"{display(m.completeness_pct, '%')} %" + (f"; flagged: {flags}" if flags else ""))
    return 0
