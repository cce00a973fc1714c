"""`microgrid dashboards export|publish`: Grafana dashboards as code."""

from __future__ import annotations

import argparse
from pathlib import Path

from microgrid.config import load_site


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboards", help="export or publish the Grafana dashboards",
                       description="Grafana dashboards (InfluxQL) and provisioning, generated "
                       "from code.")
    cmds = p.add_subparsers(dest="dashboards_command", required=True, metavar="ACTION")
    ex = cmds.add_parser("export", help="write dashboards JSON and provisioning YAML to a directory")
    ex.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    ex.add_argument("--dashboards-path", metavar="PATH",
                    help="dashboards directory as Grafana sees it (default: DIR/dashboards)")
    pub = cmds.add_parser("publish", help="create/update folder, datasource and dashboards on a "
                          "Grafana (token from MICROGRID_GRAFANA_TOKEN)")
    pub.add_argument("--url", required=True, help="Grafana base URL, e.g. http://localhost:3000")
    for c in (ex, pub):
        c.add_argument("--site", metavar="SITE", help="site file (TOML): pre-selects $site and "
                       "bakes headcount and CO2 factor")
        c.add_argument("--mission", metavar="MISSION", help="mission file (TOML): pre-selects its camps in the "
                       "mission dashboard and bakes its target")
        c.add_argument("--influx-version", type=int, choices=(1, 2), default=1,
                       help="InfluxDB generation of the datasource (2 = InfluxQL via DBRP)")
        c.add_argument("--influx-url", default="http://localhost:8086",
                       help="InfluxDB URL as seen from Grafana")
        c.add_argument("--database", default="microgrid",
                       help="InfluxQL database (2.x: the DBRP database mapped to the bucket)")
        c.add_argument("--bucket", default="microgrid", help="2.x bucket (for the DBRP mapping)")
    ex.set_defaults(func=run_export)
    pub.set_defaults(func=run_publish)


def _influx(args: argparse.Namespace):
    from dashboards.provisioning import InfluxSettings
    return InfluxSettings(version=args.influx_version, url=args.influx_url,
                          database=args.database, bucket=args.bucket)


def _mission(args: argparse.Namespace):
    from microgrid.mission import load_mission
    return load_mission(args.mission) if args.mission else None


def run_export(args: argparse.Namespace) -> int:
    from dashboards.export import export
    site = load_site(args.site) if args.site else None
    result = export(args.out, site, _influx(args), args.dashboards_path, _mission(args))
    for path in result.all:
        print(path)
    return 0


def run_publish(args: argparse.Namespace) -> int:
    from dashboards.publish import publish
    site = load_site(args.site) if args.site else None
    result = publish(args.url, site, _influx(args), mission=_mission(args))
    print(f"folder {result.folder}, datasource {result.datasource}, "
          f"dashboards: {', '.join(result.dashboards)}")
    return 0
